// nsbackup list: the VolumeSnapshots per PVC with their retention labels, as tables or JSON.
import { defineCommand, runIfMain } from '../lib/command.js';
import { oneOf } from '../lib/config/index.js';
import { connectOrConfigError, kubeSettings } from '../lib/kube/index.js';
import { formatTables, snapshotRows } from '../lib/prune/list.js';
import { scopeAliases, scopeFrom, scopeSettings, timeZoneSetting } from '../lib/prune/settings.js';
import { listSnapshots } from '../lib/prune/snapshots.js';

const schema = {
  ...scopeSettings,
  output: oneOf(['table', 'json'] as const, {
    env: 'NSBACKUP_OUTPUT',
    flag: '--output',
    default: 'table',
    description: 'table: one table per PVC, for people; json: an array of snapshots, for scripts.',
  }),
  ...timeZoneSetting,
  ...kubeSettings,
};

/** `now` decides when a snapshot left in progress counts as interrupted (tests set it). */
export function createListCommand(deps: { now?: () => Date } = {}) {
  return defineCommand({
    name: 'list',
    summary: 'List VolumeSnapshots per PVC with their retention labels and how their backup run ended.',
    usage: 'nsbackup list [-n NAMESPACE | -A] [-o table|json]',
    schema,
    aliases: { ...scopeAliases, '-o': '--output' },
    quiet: true,
    async run({ config, log, env, out }) {
      const timeZone = config.timeZone;
      const kube = connectOrConfigError(config, env);
      const namespace = scopeFrom(config, kube.defaultNamespace);
      const rows = snapshotRows(await listSnapshots(kube, namespace, log), deps.now?.() ?? new Date());
      out(config.output === 'json' ? JSON.stringify(rows, null, 2) + '\n' : formatTables(rows, timeZone));
      return { summary: { namespace: namespace ?? '(all)', snapshots: rows.length } };
    },
  });
}

export const command = createListCommand();

runIfMain(command, import.meta.url);
