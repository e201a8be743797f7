// `nsbackup status`: the age of each namespace's newest good backup; exit 1 when one is older than --max-age or
// has none, so any monitoring (a CronJob, a cron line, a probe) can alert on backups that silently stopped.
import { defineCommand, runIfMain } from '../lib/command.js';
import { duration, oneOf } from '../lib/config/index.js';
import { ExitCode } from '../lib/exit.js';
import { connectOrConfigError, kubeSettings } from '../lib/kube/index.js';
import { formatFreshness, freshnessOf } from '../lib/prune/freshness.js';
import { scopeAliases, scopeFrom, scopeSettings } from '../lib/prune/settings.js';
import { listSnapshots } from '../lib/prune/snapshots.js';

const schema = {
  ...scopeSettings,
  maxAge: duration({
    env: 'NSBACKUP_MAX_AGE',
    flag: '--max-age',
    default: 26 * 3600_000,
    min: 60_000,
    description:
      'A namespace whose newest good backup is older than this (or that has none) fails the check.',
  }),
  output: oneOf(['table', 'json'] as const, {
    env: 'NSBACKUP_OUTPUT',
    flag: '--output',
    default: 'table',
    description: 'table: for people; json: for scripts.',
  }),
  ...kubeSettings,
};

export function createStatusCommand(deps: { now?: () => Date } = {}) {
  return defineCommand({
    name: 'status',
    summary: "Age of each namespace's newest good backup; exit 1 when one is too old or missing",
    usage: 'nsbackup status [-n NAMESPACE | -A] [--max-age 26h] [-o table|json]',
    schema,
    aliases: { ...scopeAliases, '-o': '--output' },
    quiet: true,
    async run({ config, log, env, out }) {
      const kube = connectOrConfigError(config, env);
      const namespace = scopeFrom(config, kube.defaultNamespace);
      const infos = await listSnapshots(kube, namespace, log);
      // A namespace asked for by name is reported even without a single snapshot: that is the alert.
      const rows = freshnessOf(
        infos,
        deps.now?.() ?? new Date(),
        config.maxAge,
        namespace ? [namespace] : [],
      );
      out(config.output === 'json' ? JSON.stringify(rows, null, 2) + '\n' : formatFreshness(rows));
      const stale = rows.filter((r) => !r.fresh).map((r) => r.namespace);
      return {
        exitCode: stale.length ? ExitCode.failed : ExitCode.ok,
        summary: {
          namespace: namespace ?? '(all)',
          namespaces: rows.length,
          stale: stale.length,
          ...(stale.length
            ? { error: `no good backup within ${config.maxAge / 3600_000} h: ${stale.join(', ')}` }
            : {}),
        },
      };
    },
  });
}

export const command = createStatusCommand();

runIfMain(command, import.meta.url);
