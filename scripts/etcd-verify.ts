// `nsbackup etcd-verify`: proves a stored etcd backup (latest, or an id) still restores: its files read back and
// checked, the snapshot restored into a scratch folder and compared with its manifest. The flow is
// lib/etcd/verify-stored.ts; the verdict is stored as verification.json beside the backup.

import { httpGetNotifier, notify } from '../lib/backup/notify.js';
import { defineCommand, runIfMain } from '../lib/command.js';
import { etcdVerifySettings } from '../lib/etcd/settings.js';
import { verifyStoredEtcdBackup } from '../lib/etcd/verify-stored.js';
import { ExitCode } from '../lib/exit.js';
import { etcdStoreAndKey } from '../lib/etcd/inputs.js';

export const command = defineCommand({
  name: 'etcd-verify',
  summary:
    'Read an etcd backup back from S3, restore it into a scratch folder and check it against its manifest',
  usage: 'nsbackup etcd-verify --cluster NAME [--backup ID|latest]',
  schema: etcdVerifySettings,
  async run({ config, log, env, signal, out }) {
    const { store, encryptionKey } = etcdStoreAndKey(config, env, log);
    const result = await verifyStoredEtcdBackup({
      store,
      cluster: config.clusterName,
      backup: config.backup,
      encryptionKey,
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
