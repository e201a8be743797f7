// `nsbackup etcd-verify`: proves a stored etcd backup (latest, or an id) still restores: its files read back and
// checked, the snapshot restored into a scratch folder and compared with its manifest. The flow is
// lib/etcd/verify-stored.ts; the verdict is stored as verification.json beside the backup.

import { httpGetNotifier, notify } from '../lib/backup/notify.js';
import { defineCommand, runIfMain } from '../lib/command.js';
import { ConfigError } from '../lib/config/index.js';
import { keyFrom } from '../lib/crypto/index.js';
import { etcdVerifySettings } from '../lib/etcd/settings.js';
import { verifyStoredEtcdBackup } from '../lib/etcd/verify-stored.js';
import { ExitCode } from '../lib/exit.js';
import { storeFrom } from '../lib/s3/index.js';
import { ETCD_KEY_NAMESPACE } from './etcd-backup.js';

export const command = defineCommand({
  name: 'etcd-verify',
  summary:
    'Read an etcd backup back from S3, restore it into a scratch folder and check it against its manifest',
  usage: 'nsbackup etcd-verify --cluster NAME [--backup ID|latest]',
  schema: etcdVerifySettings,
  async run({ config, log, env, signal, out }) {
    const store = storeFrom(config, env, log);
    const encryptionKey = keyFrom(config, ETCD_KEY_NAMESPACE, log);
    const problems: string[] = [];
    if (!store) problems.push('NSBACKUP_S3_BUCKET is required: etcd backups are read from S3');
    if (!encryptionKey)
      problems.push(
        'NSBACKUP_ENCRYPTION_KEY or NSBACKUP_ENCRYPTION_KEY_FILE is required: etcd backups are encrypted',
      );
    if (problems.length) throw new ConfigError(problems);
    const result = await verifyStoredEtcdBackup({
      store: store!,
      cluster: config.clusterName,
      backup: config.backup,
      encryptionKey: encryptionKey!,
      tools: { etcdctl: config.etcdctl, etcdutl: config.etcdutl, env, signal },
      workDir: config.workDir || undefined,
      log,
    });
    out(
      result.ok
        ? `verified etcd backup ${result.backupId}: restored at revision ${result.revision} with ${result.keys} keys, in ${result.seconds.toFixed(1)} s\n`
        : `etcd backup ${result.backupId} FAILED verification: ${result.problems.join('; ')}\n`,
    );
    if (!result.ok) await notify(httpGetNotifier(), config.notifyFailureUrl, 'failure', log);
    return {
      exitCode: result.ok ? ExitCode.ok : ExitCode.failed,
      summary: {
        cluster: config.clusterName,
        backupId: result.backupId,
        revision: result.revision,
        keys: result.keys,
        ...(result.ok ? {} : { error: result.problems.join('; ') }),
      },
    };
  },
});

runIfMain(command, import.meta.url);
