// nsbackup retain: per PVC, remove the period labels (daily/weekly/monthly/yearly) the policy no longer keeps.
import { defineCommand, runIfMain } from '../lib/command.js';
import { ExitCode } from '../lib/exit.js';
import { connectOrConfigError, kubeSettings } from '../lib/kube/index.js';
import { combinedSignal, type PruneDeps } from '../lib/prune/deps.js';
import { retain } from '../lib/prune/retain.js';
import {
  dryRunSetting,
  gfsKeepOf,
  keepSettings,
  scopeAliases,
  scopeFrom,
  scopeSettings,
} from '../lib/prune/settings.js';

const schema = { ...scopeSettings, ...keepSettings, ...dryRunSetting, ...kubeSettings };

export function createRetainCommand(deps: PruneDeps = {}) {
  return defineCommand({
    name: 'retain',
    recordsStatus: true,
    summary: 'Remove the daily/weekly/monthly labels retention no longer keeps (per PVC).',
    usage: 'nsbackup retain [-n NAMESPACE | -A] [--dry-run]',
    schema,
    aliases: scopeAliases,
    async run({ config, log, env, signal, out }) {
      const kube = connectOrConfigError(config, env);
      const namespace = scopeFrom(config, kube.defaultNamespace);
      const result = await retain(
        { kube, log, out, signal: combinedSignal(signal, deps.signal) },
        {
          namespace,
          dryRun: config.dryRun,
          keep: gfsKeepOf(config),
        },
      );
      return {
        exitCode: result.failed > 0 || result.stopped ? ExitCode.failed : ExitCode.ok,
        summary: { namespace: namespace ?? '(all)', dryRun: config.dryRun, ...result },
      };
    },
  });
}

export const command = createRetainCommand();

runIfMain(command, import.meta.url);
