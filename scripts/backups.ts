// `nsbackup backups`: the backups of a namespace stored in S3, with how each run ended, like `velero backup get`.
import { defineCommand, runIfMain } from '../lib/command.js';
import { ConfigError } from '../lib/config/index.js';
import { formatBackupTable, listBackups } from '../lib/catalog/backups.js';
import { backupsSettings } from '../lib/catalog/settings.js';
import { clusterNameOf, connectOrConfigError } from '../lib/kube/index.js';
import { storeFrom } from '../lib/s3/index.js';

export const command = defineCommand({
  name: 'backups',
  summary: 'List the backups of a namespace stored in S3: id, when, how the run ended, objects, dumps, size',
  usage: 'nsbackup backups [-n NAMESPACE] [-o table|json]',
  schema: backupsSettings,
  aliases: { '-n': '--namespace', '-o': '--output' },
  quiet: true,
  async run({ config, log, env, out }) {
    const kube = connectOrConfigError(config, env);
    const store = storeFrom(config, env, log);
    if (!store) throw new ConfigError(['NSBACKUP_S3_BUCKET is not set: backups are listed from S3']);
    const namespace = config.namespace || kube.defaultNamespace;
    const rows = await listBackups(store, clusterNameOf(config.clusterName, kube), namespace);
    out(config.output === 'json' ? JSON.stringify(rows, null, 2) + '\n' : formatBackupTable(rows));
    return { summary: { namespace, backups: rows.length } };
  },
});

runIfMain(command, import.meta.url);
