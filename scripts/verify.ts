// `nsbackup verify`: proves the latest (or a named) backup can be read back whole: every file against its manifest,
// decrypted and decompressed to the end; with --level restore also that its dumps load into a scratch server of the
// database's own image and the user's assertions hold there. The result is stored beside the backup (`nsbackup
// backups` shows it); a failure exits 1 and calls the failure URL, like a failed backup. With --level rehearsal the
// backup is restored into a scratch namespace where nothing runs, compared with the backup, and the namespace deleted.
import { defineCommand, runIfMain } from '../lib/command.js';
import { ConfigError, str, url } from '../lib/config/index.js';
import { keyFrom } from '../lib/crypto/index.js';
import { ExitCode, JobError } from '../lib/exit.js';
import { httpGetNotifier, notify } from '../lib/backup/notify.js';
import { backupsSettings } from '../lib/catalog/settings.js';
import { findLatestSucceededBackup } from '../lib/export/latest.js';
import { readManifest } from '../lib/export/s3-export.js';
import { encryptionSettings } from '../lib/crypto/index.js';
import { podExec } from '../lib/exec/index.js';
import { clusterNameOf, connectOrConfigError, corePath } from '../lib/kube/index.js';
import { assertionsFromConfigMap } from '../lib/verify/assertions.js';
import { verifyRestoreInScratchJob } from '../lib/verify/restore-level.js';
import { verifyLevelSettings } from '../lib/verify/settings.js';
import { rehearsalNamespaceName } from '../lib/verify/rehearsal-plan.js';
import {
  readBackupItems,
  rehearsalRestoreConfig,
  rehearse,
  REHEARSAL_DELETE_TIMEOUT_MS,
} from '../lib/verify/rehearsal.js';
import { formatVerification, verifyBackup } from '../lib/verify/verify-backup.js';
import { backupFolderKey } from '../lib/resources/index.js';
import { s3LocationFrom, storeFrom } from '../lib/s3/index.js';
import { dataSubsetOf, openVerifyRepository, verifyVolumes } from '../lib/verify/volumes.js';

const schema = {
  backupId: str({
    env: 'NSBACKUP_BACKUP_ID',
    flag: '--backup-id',
    default: 'latest',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ - (or latest)',
    description:
      'The backup to verify: an id, or latest (the newest whose run succeeded); also the first argument.',
  }),
  notifyFailureUrl: url({
    env: 'NSBACKUP_NOTIFY_FAILURE_URL',
    secret: true,
    description: 'GET when the verification fails. A failing request is logged only, with scheme and host.',
  }),
  ...verifyLevelSettings,
  ...encryptionSettings,
  ...backupsSettings,
};

export const command = defineCommand({
  name: 'verify',
  recordsStatus: true,
  summary:
    'Read a backup back from S3 and check every file (size, SHA-256, decryption, decompression); --level restore: load its dumps into a scratch database and run assertions; --level rehearsal: restore it into a scratch namespace, compare, delete it',
  usage:
    'nsbackup verify [<backup id>|latest] [-n NAMESPACE] [--level integrity|restore|rehearsal] [--rehearsal-namespace NAME] [--db postgres|mysql --db-target KIND/NAME] [--assertions-configmap NAME] [-o table|json]',
  schema,
  positional: ['backupId'],
  aliases: { '-n': '--namespace', '-o': '--output' },
  async run({ config, log, env, out, signal }) {
    const restoreLevel = config.level === 'restore';
    if (restoreLevel) {
      const problems = [
        ...(config.db === 'none'
          ? ['--level restore needs the database kind: NSBACKUP_DB=postgres or mysql']
          : []),
        ...(!config.dbTarget
          ? [
              "--level restore needs NSBACKUP_DB_TARGET (the database's workload, whose image the scratch Job runs)",
            ]
          : []),
      ];
      if (problems.length) throw new ConfigError(problems);
    }
    const subset = dataSubsetOf(config.dataSubset, new Date());
    if (!subset)
      throw new ConfigError([
        `NSBACKUP_VERIFY_DATA_SUBSET ${config.dataSubset}: slice N of M needs N between 1 and M`,
      ]);
    const kube = connectOrConfigError(config, env);
    const store = storeFrom(config, env, log);
    if (!store) throw new ConfigError(['NSBACKUP_S3_BUCKET is not set: backups are verified in S3']);
    const namespace = config.namespace || kube.defaultNamespace;
    const cluster = clusterNameOf(config.clusterName, kube);
    const backupId =
      config.backupId === 'latest'
        ? (await findLatestSucceededBackup(store, cluster, namespace)).backupId
        : config.backupId;
    const folder = backupFolderKey(store.location.prefix, cluster, namespace, backupId);
    const manifest = await readManifest(store, folder);
    const key = manifest.encryption ? keyFrom(config, namespace, log) : undefined;
    const started = Date.now();
    let assertions = assertionsFromConfigMap({});
    if (restoreLevel && config.assertionsConfigMap) {
      const cm = await kube.getIfExists(corePath('configmaps', namespace, config.assertionsConfigMap));
      if (!cm)
        throw new JobError(
          `the assertions ConfigMap ${namespace}/${config.assertionsConfigMap} does not exist`,
        );
      assertions = assertionsFromConfigMap(cm.data);
    }
    const kind = config.db === 'none' ? 'postgres' : config.db;
    const volumes = manifest.volumes?.length ? manifest.volumes : undefined;
    const verification = await verifyBackup({
      store,
      folder,
      manifest,
      key,
      signal,
      volumes: volumes
        ? async () =>
            verifyVolumes({
              ...(await openVerifyRepository({
                kube,
                log,
                location: s3LocationFrom(config)!,
                cluster,
                namespace,
                secret: config.resticSecret,
                env,
                signal,
              })),
              volumes,
              namespace,
              backupId,
              subset,
            })
        : undefined,
      rehearsal:
        config.level === 'rehearsal'
          ? async () => {
              const scratchNamespace = rehearsalNamespaceName(namespace, backupId, config.rehearsalNamespace);
              return rehearse({
                kube,
                log,
                store,
                restoreConfig: rehearsalRestoreConfig(config, {
                  sourceNamespace: namespace,
                  backupId,
                  scratchNamespace,
                }),
                sourceNamespace: namespace,
                backupId,
                scratchNamespace,
                backupObjects: await readBackupItems(store, folder, manifest, key),
                secretsLeftOut: manifest.notExported?.some((n) => n.what === 'secrets') ?? false,
                deleteTimeoutMs: REHEARSAL_DELETE_TIMEOUT_MS,
                signal,
              });
            }
          : undefined,
      restore: restoreLevel
        ? {
            kind,
            assertions,
            run: (dumps) =>
              verifyRestoreInScratchJob({
                kube,
                log,
                exec: podExec(kube, { log }),
                kind,
                database: { namespace, target: config.dbTarget, container: config.dbContainer || undefined },
                scratchNamespace: config.scratchNamespace || namespace,
                backupId,
                dumps,
                assertions,
                timeoutMs: config.verifyTimeout,
                startTimeoutMs: config.verifyStartTimeout,
                memoryMiB: config.verifyMemory,
                signal,
              }),
          }
        : undefined,
    });
    const seconds = (Date.now() - started) / 1000;
    for (const f of verification.files.filter((f) => !f.ok))
      log.error(`${f.name}: ${f.problem}`, { backupId });
    if (verification.volumes?.problem)
      log.error(`volume data: ${verification.volumes.problem}`, { backupId });
    for (const v of verification.volumes?.snapshots.filter((v) => !v.ok) ?? [])
      log.error(v.problem ?? `PVC ${v.pvc}: not found`, { backupId, pvc: v.pvc });
    if (verification.volumes?.check && !verification.volumes.check.ok)
      log.error(`restic check: ${verification.volumes.check.problem}`, { backupId });
    const rehearsal = verification.level === 'rehearsal' ? verification.rehearsal : undefined;
    if (rehearsal?.problem)
      log.error(`rehearsal: ${rehearsal.problem}`, { backupId, namespace: rehearsal.namespace });
    for (const f of rehearsal?.failed ?? [])
      log.error('not restored in the rehearsal', { backupId, path: f.path, error: f.error });
    for (const d of rehearsal?.differences ?? [])
      log.error(`differs after the rehearsal restore: ${d.status} ${d.path}`, { backupId, fields: d.fields });
    const restore = verification.level === 'restore' ? verification.restore : undefined;
    if (restore?.problem) log.error(`restore check: ${restore.problem}`, { backupId });
    for (const l of restore?.loads.filter((l) => !l.ok) ?? [])
      log.error(`the dump ${l.name} of backup ${backupId} did not load: ${l.problem}`, {
        backupId,
        file: l.name,
        stderr: l.stderrTail,
      });
    for (const a of restore?.assertions.filter((a) => !a.ok) ?? [])
      log.error(`assertion ${a.name} failed: ${a.problem}`, { backupId, assertion: a.name, value: a.value });
    if (config.output === 'json') out(JSON.stringify(verification, null, 2) + '\n');
    else out(formatVerification(verification, Date.now() - started));
    if (!verification.ok) await notify(httpGetNotifier(), config.notifyFailureUrl, 'failure', log);
    return {
      exitCode: verification.ok ? ExitCode.ok : ExitCode.failed,
      summary: {
        namespace,
        backupId,
        level: config.level,
        files: verification.files.length,
        failedFiles: verification.files.filter((f) => !f.ok).length,
        bytesReadBack: verification.files.reduce((n, f) => n + (f.contentBytes ?? 0), 0),
        ...(verification.volumes
          ? {
              volumes: verification.volumes.snapshots.length,
              missingVolumes: verification.volumes.snapshots.filter((v) => !v.ok).map((v) => v.pvc),
              ...(verification.volumes.check
                ? {
                    volumeCheck: verification.volumes.check.ok ? 'ok' : 'failed',
                    dataSubset: verification.volumes.check.subset,
                  }
                : {}),
            }
          : {}),
        ...(restore
          ? {
              dumpsLoaded: restore.loads.filter((l) => l.ok).length,
              failedLoads: restore.loads.filter((l) => !l.ok).length,
              assertions: restore.assertions.length,
              failedAssertions: restore.assertions.filter((a) => !a.ok).length,
              restoreSeconds: restore.durationMs / 1000,
            }
          : {}),
        ...(rehearsal
          ? {
              rehearsalNamespace: rehearsal.namespace,
              objectsRestored: rehearsal.objectsRestored,
              failedObjects: rehearsal.failed.length,
              differences: rehearsal.differences.length,
              namespaceDeleted: rehearsal.namespaceDeleted,
              rehearsalSeconds: rehearsal.durationMs / 1000,
            }
          : {}),
        seconds,
      },
    };
  },
});

runIfMain(command, import.meta.url);
