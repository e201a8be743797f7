// nsbackup mark-and-delete: mark snapshots nothing keeps any more, then delete those whose delete-after is over.
import { defineCommand, runIfMain } from '../lib/command.js';
import { ExitCode } from '../lib/exit.js';
import { clusterNameOf, connectOrConfigError, kubeSettings } from '../lib/kube/index.js';
import { combinedSignal, s3StoresFrom, type PruneDeps } from '../lib/prune/deps.js';
import { markAndDelete } from '../lib/prune/mark-and-delete.js';
import {
  dryRunSetting,
  gfsKeepOf,
  keepSettings,
  markAndDeleteSettings,
  scopeAliases,
  scopeFrom,
  scopeSettings,
  timeZoneSetting,
} from '../lib/prune/settings.js';
import { s3LocationFrom, s3Settings } from '../lib/s3/index.js';
import { ConfigError } from '../lib/config/index.js';
import { leaseApi, lockAcquirer } from '../lib/lock/index.js';
import { lockRequestOf, lockSettings } from '../lib/lock/settings.js';
import { openIfUsed } from '../lib/volumes/local-repo.js';
import { forgetDeletedAndPrune, VolumeForgetter } from '../lib/volumes/prune-step.js';
import { volumePruneSettings } from '../lib/volumes/settings.js';

const schema = {
  ...scopeSettings,
  ...volumePruneSettings,
  ...lockSettings,
  ...markAndDeleteSettings,
  // For S3-only backups: gfs periods are derived each run, and these say how many are kept, as in retain.
  ...keepSettings,
  ...timeZoneSetting,
  ...dryRunSetting,
  ...kubeSettings,
  ...s3Settings,
};

export function createMarkAndDeleteCommand(deps: PruneDeps = {}) {
  return defineCommand({
    name: 'mark-and-delete',
    recordsStatus: true,
    summary: 'Mark unkept snapshots with a delete-after date, then delete those whose date is over.',
    usage: 'nsbackup mark-and-delete [-n NAMESPACE | -A] [--dry-run] [--force]',
    schema,
    aliases: scopeAliases,
    async run({ config, log, env, signal, out }) {
      const timeZone = config.timeZone;
      const kube = connectOrConfigError(config, env);
      const { request: lockRequest, problems: lockProblems } = lockRequestOf(config, env.HOSTNAME ?? '');
      if (lockProblems.length) throw new ConfigError(lockProblems);
      // Lease slots default to the pod's own namespace: mark-and-delete may cover every namespace.
      const acquireLock = lockAcquirer(() => leaseApi(kube), kube.defaultNamespace);
      const namespace = scopeFrom(config, kube.defaultNamespace);
      // Same default as backup's, so the fallback layout names the folders backup wrote.
      const clusterName = clusterNameOf(config.clusterName, kube);
      const { layout, s3 } = s3StoresFrom({ ...config, clusterName }, env, log);
      // Volume data: what is deleted is forgotten in restic (an S3-only backup's copies before its folder goes),
      // then unlock and prune under the node lock.
      const location = s3LocationFrom(config);
      const volumes =
        config.resticSecret && location && !config.dryRun
          ? new VolumeForgetter({
              log,
              open: (ns) =>
                openIfUsed({
                  kube,
                  log,
                  location,
                  cluster: clusterName,
                  namespace: ns,
                  secret: config.resticSecret,
                  env,
                  memoryLimit: config.resticMemory || undefined,
                  signal,
                }),
              lock: lockRequest ? () => acquireLock({ ...lockRequest, log, signal }) : undefined,
            })
          : undefined;
      const store = layout && s3(layout.bucket);
      const result = await markAndDelete(
        {
          kube,
          log,
          out,
          signal: combinedSignal(signal, deps.signal),
          s3,
          layout,
          sleep: deps.sleep,
          s3Only: store && {
            store,
            cluster: clusterName,
            forget:
              volumes &&
              (async (ns, backupId, pvcs) =>
                void (await volumes.forget(
                  ns,
                  pvcs.map((pvc) => ({ namespace: ns, pvc, backupId })),
                  true,
                ))),
          },
        },
        {
          namespace,
          now: deps.now?.() ?? new Date(),
          timeZone,
          graceDays: config.deleteGrace,
          pauseMs: config.deletePause,
          maxDeleteShare: config.maxDeleteShare,
          maxDeleteCount: config.maxDeleteCount,
          force: config.force,
          dryRun: config.dryRun,
          keep: gfsKeepOf(config),
        },
      );
      const pruned = volumes && (await forgetDeletedAndPrune(volumes, result.deletedBackups));
      const failed =
        result.refused ||
        result.stopped ||
        result.failures.length > 0 ||
        result.markFailed > 0 ||
        Boolean(result.s3Only?.failures.length) ||
        Boolean(pruned?.failures.length);
      return {
        exitCode: failed ? ExitCode.failed : ExitCode.ok,
        summary: {
          namespace: namespace ?? '(all)',
          dryRun: config.dryRun,
          snapshots: result.snapshots,
          marked: result.marked,
          markSkipped: result.markSkipped,
          markFailed: result.markFailed,
          due: result.due,
          deleted: result.deleted,
          deleteSkipped: result.deleteSkipped,
          deleteFailed: result.failures.length,
          s3FoldersDeleted: result.s3FoldersDeleted,
          ...(result.s3Only
            ? {
                s3OnlyDeleted: result.s3Only.deleted,
                s3OnlyKept: result.s3Only.kept,
                s3OnlyRefused: result.s3Only.refused,
                s3OnlyLeftAlone: result.s3Only.leftAlone,
                ...(result.s3Only.failures.length ? { s3OnlyFailures: result.s3Only.failures } : {}),
              }
            : {}),
          refused: result.refused,
          refusals: result.refusals.map((r) => `${r.namespace}/${r.pvc}: ${r.reason}`),
          stopped: result.stopped,
          problems: result.problems,
          ...(result.failures.length ? { failures: result.failures } : {}),
          ...(pruned && (pruned.forgotten || pruned.failures.length)
            ? {
                resticForgotten: pruned.forgotten,
                resticPruned: pruned.prunedRepositories,
                resticPrunePeakRssMiB:
                  pruned.prunePeakRssBytes && Math.round(pruned.prunePeakRssBytes / 2 ** 20),
                ...(pruned.failures.length ? { volumeFailures: pruned.failures } : {}),
              }
            : {}),
        },
      };
    },
  });
}

export const command = createMarkAndDeleteCommand();

runIfMain(command, import.meta.url);
