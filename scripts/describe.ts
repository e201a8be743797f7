// `nsbackup describe <backup id>`: what one backup holds (objects by kind, files with sizes and checksums), how its
// run ended, its VolumeSnapshots in the cluster, and the commands that restore it, like `velero backup describe`.
import { defineCommand, runIfMain } from '../lib/command.js';
import { ConfigError, str } from '../lib/config/index.js';
import { JobError, ExitCode } from '../lib/exit.js';
import { backupRow, describeBackup, formatDescription } from '../lib/catalog/backups.js';
import { backupsSettings } from '../lib/catalog/settings.js';
import { listBackupCandidates } from '../lib/export/latest.js';
import { readManifest } from '../lib/export/s3-export.js';
import { readVerification } from '../lib/verify/integrity.js';
import { clusterNameOf, connectOrConfigError, volumeSnapshotPath } from '../lib/kube/index.js';
import { Labels } from '../lib/labels.js';
import { backupFolderKey } from '../lib/resources/index.js';
import { storeFrom } from '../lib/s3/index.js';

const schema = {
  backupId: str({
    env: 'NSBACKUP_BACKUP_ID',
    flag: '--backup-id',
    required: true,
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    description: 'The backup to describe (as `nsbackup backups` lists it); also the first argument.',
  }),
  ...backupsSettings,
};

export const command = defineCommand({
  name: 'describe',
  summary:
    'Describe one backup: its objects by kind, files and checksums, outcome, snapshots, how to restore it',
  usage: 'nsbackup describe <backup id> [-n NAMESPACE] [-o table|json]',
  schema,
  positional: ['backupId'],
  aliases: { '-n': '--namespace', '-o': '--output' },
  quiet: true,
  async run({ config, log, env, out }) {
    const kube = connectOrConfigError(config, env);
    const store = storeFrom(config, env, log);
    if (!store) throw new ConfigError(['NSBACKUP_S3_BUCKET is not set: backups are described from S3']);
    const namespace = config.namespace || kube.defaultNamespace;
    const cluster = clusterNameOf(config.clusterName, kube);
    const candidate = (await listBackupCandidates(store, cluster, namespace)).find(
      (c) => c.backupId === config.backupId,
    );
    if (!candidate) {
      throw new JobError(
        `no backup ${config.backupId} of namespace ${namespace} in ${store.url(store.key(cluster, namespace))}/ ` +
          '(nsbackup backups lists them)',
        ExitCode.failed,
      );
    }
    const folder = backupFolderKey(store.location.prefix, cluster, namespace, config.backupId);
    const manifest = candidate.hasManifest ? await readManifest(store, folder) : undefined;
    const verification = manifest ? await readVerification(store, folder) : undefined;
    const snapshots = (
      await kube.listAll(volumeSnapshotPath(namespace), {
        labelSelector: `${Labels.backup}=${config.backupId}`,
      })
    ).map((vs: any) => ({
      name: vs.metadata.name as string,
      pvc: (vs.metadata.labels?.[Labels.pvc] ?? '') as string,
      ready: vs.status?.readyToUse === true,
    }));
    const description = describeBackup(
      backupRow(namespace, cluster, candidate, manifest, verification),
      manifest,
      snapshots,
    );
    out(
      config.output === 'json' ? JSON.stringify(description, null, 2) + '\n' : formatDescription(description),
    );
    return { summary: { namespace, backupId: config.backupId, state: description.row.state } };
  },
});

runIfMain(command, import.meta.url);
