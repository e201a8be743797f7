// `nsbackup status`: the age of each namespace's newest good backup (and, from the status ConfigMaps, the last run
// and the last good verify); exit 1 when one is older than --max-age or has none (or, with --max-verify-age, was not
// verified recently), so any monitoring (a CronJob, a cron line, a probe) can alert on backups that silently stopped.
import { defineCommand, runIfMain } from '../lib/command.js';
import { duration, oneOf } from '../lib/config/index.js';
import { ExitCode } from '../lib/exit.js';
import { connectOrConfigError, kubeSettings } from '../lib/kube/index.js';
import { formatFreshness, freshnessOf } from '../lib/prune/freshness.js';
import { scopeAliases, scopeFrom, scopeSettings } from '../lib/prune/settings.js';
import { listSnapshots } from '../lib/snapshots/list.js';
import { readStatuses } from '../lib/metrics/status-configmap.js';

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
  maxVerifyAge: duration({
    env: 'NSBACKUP_MAX_VERIFY_AGE',
    flag: '--max-verify-age',
    default: 0,
    description:
      'A namespace whose last successful verify (from its status ConfigMap) is older than this, or missing, fails ' +
      'the check. 0: verifies are shown, not required.',
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
    usage: 'nsbackup status [-n NAMESPACE | -A] [--max-age 26h] [--max-verify-age 8d] [-o table|json]',
    schema,
    aliases: { ...scopeAliases, '-o': '--output' },
    quiet: true,
    async run({ config, log, env, out }) {
      const kube = connectOrConfigError(config, env);
      const namespace = scopeFrom(config, kube.defaultNamespace);
      const infos = await listSnapshots(kube, namespace, log);
      // Without read access to ConfigMaps the snapshots still answer the main question.
      const statuses = await readStatuses(kube, namespace).catch((e: Error) => {
        log.warn('could not read the status ConfigMaps: last runs and verifies are not shown', {
          error: e.message,
        });
        return new Map();
      });
      const now = deps.now?.() ?? new Date();
      // A namespace asked for by name is reported even without a single snapshot: that is the alert.
      const rows = freshnessOf(
        infos,
        now,
        { maxAgeMs: config.maxAge, maxVerifyAgeMs: config.maxVerifyAge },
        namespace ? [namespace] : [],
        statuses,
      );
      out(config.output === 'json' ? JSON.stringify(rows, null, 2) + '\n' : formatFreshness(rows, now));
      const stale = rows.filter((r) => !r.fresh).map((r) => `${r.namespace} (${r.problem})`);
      return {
        exitCode: stale.length ? ExitCode.failed : ExitCode.ok,
        summary: {
          namespace: namespace ?? '(all)',
          namespaces: rows.length,
          stale: stale.length,
          ...(stale.length ? { error: `not backed up (or verified) in time: ${stale.join(', ')}` } : {}),
        },
      };
    },
  });
}

export const command = createStatusCommand();

runIfMain(command, import.meta.url);
