// `nsbackup restore`: a namespace's objects from a backup in S3 (or an export folder) into any cluster and
// namespace. The work is lib/restore/restore.ts; this file wires settings and adapters to it.

import { defineCommand, runIfMain } from '../lib/command.js';
import { ExitCode } from '../lib/exit.js';
import { connectOrConfigError } from '../lib/kube/index.js';
import { runRestore } from '../lib/restore/restore.js';
import { restoreSettings } from '../lib/restore/settings.js';
import { summaryOf } from '../lib/restore/report.js';
import { s3LocationFrom, storeFrom } from '../lib/s3/index.js';
import { clusterNameOf } from '../lib/kube/index.js';
import { restoreMoverSettingsOf } from '../lib/volumes/backup-wiring.js';
import { volumeRestoreStep } from '../lib/volumes/restore-step.js';

export const command = defineCommand({
  name: 'restore',
  summary: 'Restore a namespace from a backup in S3 or an export folder, into any cluster and namespace',
  usage:
    'nsbackup restore --backup <id|latest> [-n <source namespace>] [--namespace-mapping old=new ...] ' +
    '[--preferences FILE] [--dry-run] [--report FILE]\n       nsbackup restore --from-dir DIR [...]',
  schema: restoreSettings,
  aliases: { '-n': '--namespace' },
  async run({ config, log, env, signal }) {
    const kube = connectOrConfigError(config, env);
    const store = storeFrom(config, env, log);
    const location = s3LocationFrom(config);
    const restoreVolumes =
      config.pvcsFromS3 && location && config.resticSecret
        ? volumeRestoreStep({
            kube,
            log,
            location,
            cluster: clusterNameOf(config.clusterName, kube),
            secret: config.resticSecret,
            env,
            signal,
            mover: restoreMoverSettingsOf(config),
          })
        : undefined;
    const report = await runRestore(config, { kube, log, store, signal, restoreVolumes });
    return {
      exitCode: report.failed.length ? ExitCode.failed : ExitCode.ok,
      summary: summaryOf(report),
    };
  },
});

runIfMain(command, import.meta.url);
