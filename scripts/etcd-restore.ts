// `nsbackup etcd-restore`: an etcd backup from S3 to a local folder (data directory, PKI files, snapshot) and the
// runbook that puts it into service. It never touches a running etcd. The flow is lib/etcd/restore.ts.

import { defineCommand, runIfMain } from '../lib/command.js';
import { ConfigError } from '../lib/config/index.js';
import { keyFrom } from '../lib/crypto/index.js';
import { runEtcdRestore } from '../lib/etcd/restore.js';
import { etcdRestoreSettings } from '../lib/etcd/settings.js';
import { storeFrom } from '../lib/s3/index.js';
import { ETCD_KEY_NAMESPACE } from './etcd-backup.js';

export const command = defineCommand({
  name: 'etcd-restore',
  summary:
    'Download an etcd backup, check and decrypt it into a data directory and the PKI files, print the runbook',
  usage: 'nsbackup etcd-restore --cluster NAME [--backup ID|latest] --dir DIR',
  schema: etcdRestoreSettings,
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
    const result = await runEtcdRestore({
      store: store!,
      cluster: config.clusterName,
      backup: config.backup,
      dir: config.dir,
      encryptionKey: encryptionKey!,
      tools: { etcdctl: config.etcdctl, etcdutl: config.etcdutl, env, signal },
      member: {
        name: config.memberName,
        initialCluster: config.initialCluster,
        initialAdvertisePeerUrls: config.initialAdvertisePeerUrls,
      },
      log,
    });
    out(result.runbook);
    return {
      summary: {
        cluster: config.clusterName,
        backupId: result.backupId,
        dir: config.dir,
        revision: result.manifest.etcd.revision,
        keys: result.manifest.etcd.totalKey,
      },
    };
  },
});

runIfMain(command, import.meta.url);
