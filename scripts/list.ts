// nsbackup list: the VolumeSnapshots per PVC with their retention labels, as tables or JSON; with --etcd, the
// cluster's etcd backups in S3 instead.
import { defineCommand, runIfMain } from '../lib/command.js';
import { bool, ConfigError, oneOf, str } from '../lib/config/index.js';
import { clusterNameOf, connectOrConfigError, kubeSettings } from '../lib/kube/index.js';
import { formatCalendars } from '../lib/prune/calendar-view.js';
import { formatTables, snapshotRows } from '../lib/prune/list.js';
import { scopeAliases, scopeFrom, scopeSettings, timeZoneSetting } from '../lib/prune/settings.js';
import { listSnapshots } from '../lib/snapshots/list.js';
import { s3Settings, storeFrom } from '../lib/s3/index.js';

const schema = {
  ...scopeSettings,
  output: oneOf(['table', 'json'] as const, {
    env: 'NSBACKUP_OUTPUT',
    flag: '--output',
    default: 'table',
    description: 'table: one table per PVC, for people; json: an array of snapshots, for scripts.',
  }),
  calendar: bool({
    env: 'NSBACKUP_LIST_CALENDAR',
    flag: '--calendar',
    default: false,
    description:
      'Per PVC, the last six weeks as a calendar of what each day holds (yearly, monthly, weekly, daily, pinned, ' +
      'marked), which snapshot holds each month and year, and what is marked and when it goes.',
  }),
  etcd: bool({
    env: 'NSBACKUP_LIST_ETCD',
    flag: '--etcd',
    default: false,
    description:
      "List the cluster's etcd backups in S3 (etcd-backup) instead of VolumeSnapshots; needs NSBACKUP_S3_BUCKET.",
  }),
  clusterName: str({
    env: 'NSBACKUP_CLUSTER_NAME',
    flag: '--cluster',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    defaultText: "the kubeconfig's cluster name",
    description: 'With --etcd: the cluster whose etcd backups are listed (<prefix>/<cluster>/_etcd/).',
  }),
  ...timeZoneSetting,
  ...s3Settings,
  ...kubeSettings,
};

/** `now` decides when a snapshot left in progress counts as interrupted (tests set it). */
export function createListCommand(deps: { now?: () => Date } = {}) {
  return defineCommand({
    name: 'list',
    summary:
      'List VolumeSnapshots per PVC with their retention labels and how their backup run ended, or (--etcd) the etcd backups in S3.',
    usage:
      'nsbackup list [-n NAMESPACE | -A] [-o table|json] | nsbackup list --etcd [--cluster NAME] [-o table|json]',
    schema,
    aliases: { ...scopeAliases, '-o': '--output' },
    quiet: true,
    async run({ config, log, env, out }) {
      const timeZone = config.timeZone;
      if (config.etcd) {
        const store = storeFrom(config, env, log);
        if (!store)
          throw new ConfigError(['NSBACKUP_S3_BUCKET is required with --etcd: etcd backups are in S3']);
        // Only without a name is the kubeconfig needed: the etcd backups are in S3, not in the cluster.
        const cluster = config.clusterName || clusterNameOf('', connectOrConfigError(config, env));
        // Imported here: the etcd code (manifests, archives, zlib) is most of what `list` would load otherwise.
        const { formatEtcdTable, listEtcdBackups } = await import('../lib/etcd/list.js');
        const rows = await listEtcdBackups(store, cluster);
        out(
          config.output === 'json'
            ? JSON.stringify(rows, null, 2) + '\n'
            : formatEtcdTable(cluster, rows, timeZone),
        );
        return { summary: { cluster, etcdBackups: rows.length } };
      }
      const kube = connectOrConfigError(config, env);
      const namespace = scopeFrom(config, kube.defaultNamespace);
      const now = deps.now?.() ?? new Date();
      const rows = snapshotRows(await listSnapshots(kube, namespace, log), now);
      out(
        config.calendar
          ? formatCalendars(rows, now, timeZone)
          : config.output === 'json'
            ? JSON.stringify(rows, null, 2) + '\n'
            : formatTables(rows, timeZone),
      );
      return { summary: { namespace: namespace ?? '(all)', snapshots: rows.length } };
    },
  });
}

export const command = createListCommand();

runIfMain(command, import.meta.url);
