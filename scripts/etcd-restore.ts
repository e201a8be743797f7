// `nsbackup etcd-restore`: an etcd backup from S3 to a local folder (data directory, PKI files, snapshot) and the
// runbook that puts it into service. It never touches a running etcd. The flow is lib/etcd/restore.ts.

import { defineCommand, runIfMain } from '../lib/command.js';
import { runEtcdRestore } from '../lib/etcd/restore.js';
import { etcdRestoreSettings } from '../lib/etcd/settings.js';
import { etcdStoreAndKey } from '../lib/etcd/inputs.js';

export const command = defineCommand({
  name: 'etcd-restore',
  summary:
    'Download an etcd backup, check and decrypt it into a data directory and the PKI files, print the runbook',
  usage: 'nsbackup etcd-restore --cluster NAME [--backup ID|latest] --dir DIR',
  schema: etcdRestoreSettings,
  async run({ config, log, env, signal, out }) {
    const { store, encryptionKey } = etcdStoreAndKey(config, env, log);
    const result = await runEtcdRestore({
      store,
      cluster: config.clusterName,
      backup: config.backup,
      dir: config.dir,
      encryptionKey,
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
