// `nsbackup verify`: proves the latest (or a named) backup can be read back whole: every file against its manifest,
// decrypted and decompressed to the end. The result is stored beside the backup (`nsbackup backups` shows it); a
// failure exits 1 and calls the failure URL, like a failed backup.
import { defineCommand, runIfMain } from '../lib/command.js';
import { ConfigError, str, url } from '../lib/config/index.js';
import { keyFrom } from '../lib/crypto/index.js';
import { ExitCode } from '../lib/exit.js';
import { httpGetNotifier, notify } from '../lib/backup/notify.js';
import { backupsSettings } from '../lib/export/backups-settings.js';
import { findLatestSucceededBackup } from '../lib/export/latest.js';
import { readManifest } from '../lib/export/s3-export.js';
import { encryptionSettings } from '../lib/export/settings.js';
import { verifyBackupFiles, writeVerification } from '../lib/export/verify.js';
import { clusterNameOf, connectOrConfigError } from '../lib/kube/index.js';
import { backupFolderKey } from '../lib/resources/index.js';
import { storeFrom } from '../lib/s3/index.js';

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
  ...encryptionSettings,
  ...backupsSettings,
};

export const command = defineCommand({
  name: 'verify',
  recordsStatus: true,
  summary: 'Read a backup back from S3 and check every file: size, SHA-256, decryption, decompression',
  usage: 'nsbackup verify [<backup id>|latest] [-n NAMESPACE] [-o table|json]',
  schema,
  positional: ['backupId'],
  aliases: { '-n': '--namespace', '-o': '--output' },
  async run({ config, log, env, out, signal }) {
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
    const verification = await verifyBackupFiles(store, folder, manifest, key, undefined, signal);
    await writeVerification(store, folder, verification);
    for (const f of verification.files.filter((f) => !f.ok))
      log.error(`${f.name}: ${f.problem}`, { backupId });
    if (config.output === 'json') out(JSON.stringify(verification, null, 2) + '\n');
    else
      out(
        verification.files
          .map(
            (f) =>
              `${f.ok ? 'ok    ' : 'FAILED'}  ${f.name}${f.ok ? ` (${f.contentBytes} bytes read back)` : `: ${f.problem}`}`,
          )
          .join('\n') + '\n',
      );
    if (!verification.ok) await notify(httpGetNotifier(), config.notifyFailureUrl, 'failure', log);
    return {
      exitCode: verification.ok ? ExitCode.ok : ExitCode.failed,
      summary: {
        namespace,
        backupId,
        files: verification.files.length,
        failedFiles: verification.files.filter((f) => !f.ok).length,
        bytesReadBack: verification.files.reduce((n, f) => n + (f.contentBytes ?? 0), 0),
        seconds: (Date.now() - started) / 1000,
      },
    };
  },
});

runIfMain(command, import.meta.url);
