// mark-and-delete: give unkept snapshots a delete-after date, then delete those whose date is over; then the
// S3-only backups (no VolumeSnapshot holds their folder) that their policy drops (s3-only.ts).
import { Labels } from '../labels.js';
import {
  DEFAULT_GFS_KEEP,
  localDate,
  planMark,
  planSweep,
  type Deletion,
  type GfsKeep,
  type Mark,
  type Refusal,
} from '../retention/index.js';
import { forEachLimited, sleep as realSleep } from '../concurrency.js';
import { idOf, logProblems, PATCH_CONCURRENCY, type PruneContext } from './context.js';
import { listSnapshots, type SnapshotInfo } from '../snapshots/list.js';
import { Sweeper, type SweepDeps, type SweepFailure } from './sweep.js';
import { patchLabels } from './writes.js';
import { planS3Only, readAndPlanS3Only, type S3OnlyDeletion, type S3OnlyPlan } from './s3-only.js';
import { sweepS3Only, type S3OnlySweepDeps } from './s3-only-sweep.js';
import { isMissingBucket, type S3Store } from '../s3/index.js';
import type { Logger } from '../log.js';

/** S3-only retention's reach: the configured bucket, this cluster's folders, and how restic copies are forgotten. */
export interface S3OnlyContext {
  store: S3Store;
  cluster: string;
  forget: S3OnlySweepDeps['forget'];
}

export interface MarkAndDeleteOptions {
  namespace?: string;
  now: Date;
  timeZone: string;
  graceDays: number;
  pauseMs: number;
  maxDeleteShare: number;
  maxDeleteCount: number;
  force: boolean;
  dryRun: boolean;
  /**
   * The gfs keep counts (NSBACKUP_KEEP_*, default 7/4/12/0) for S3-only backups (a snapshot's periods are taken
   * off by retain, which reads the same variables).
   */
  keep?: GfsKeep;
}

export interface S3OnlyCounts {
  deleted: number;
  kept: number;
  /** Would have gone, held back by a refusal (the valve, of S3-only backups or of snapshots). */
  refused: number;
  /** Folders without a usable outcome (in progress, killed, unreadable, older format, foreign ids). */
  leftAlone: number;
  failures: string[];
}

export interface MarkAndDeleteResult {
  snapshots: number;
  marked: number;
  markSkipped: number;
  markFailed: number;
  /** Deletions the plan asked for (0 when the valve refused). */
  due: number;
  deleted: number;
  deleteSkipped: number;
  s3FoldersDeleted: number;
  failures: SweepFailure[];
  /** Deleted snapshots by namespace, PVC and backup id (their volume data is forgotten in restic). */
  deletedBackups: { namespace: string; pvc: string; backupId: string }[];
  refusals: Refusal[];
  refused: boolean;
  stopped: boolean;
  problems: number;
  /** Undefined when S3 is not configured (there is no S3-only backup to find). */
  s3Only?: S3OnlyCounts;
}

export async function markAndDelete(
  ctx: PruneContext & Pick<SweepDeps, 's3' | 'layout' | 'sleep'> & { s3Only?: S3OnlyContext },
  options: MarkAndDeleteOptions,
): Promise<MarkAndDeleteResult> {
  const { kube, log } = ctx;
  // Planned before anything is deleted: a refusal of either set holds back both.
  const s3OnlyRead = ctx.s3Only && (await planS3OnlyOrFail(ctx.s3Only, options, log));
  const s3OnlyPlan = s3OnlyRead?.plan;
  const infos = await listSnapshots(kube, options.namespace, log);
  const live = infos.filter((info) => !info.terminating);
  const byId = new Map(live.map((info) => [idOf(info.record), info]));
  const today = localDate(options.now, options.timeZone);

  const markPlan = planMark(
    live.map((info) => info.record),
    { now: options.now, timeZone: options.timeZone, graceDays: options.graceDays },
  );
  logProblems(log, markPlan.problems);
  const marks = await applyMarks(ctx, markPlan.marks, byId, options.dryRun);

  const sweepPlan = planSweep(
    live.map((info) => info.record),
    {
      now: options.now,
      timeZone: options.timeZone,
      maxDeleteShare: options.maxDeleteShare,
      maxDeleteCount: options.maxDeleteCount,
      force: options.force,
    },
  );
  logProblems(log, sweepPlan.problems);
  if (s3OnlyPlan) logProblems(log, s3OnlyPlan.problems);
  for (const refusal of [...sweepPlan.refusals, ...(s3OnlyPlan?.refusals ?? [])]) {
    const fields = {
      namespace: refusal.namespace,
      pvc: refusal.pvc,
      wouldDelete: refusal.wouldDelete,
      of: refusal.of,
    };
    if (options.force) log.warn(`safety valve overridden by force: ${refusal.reason}`, fields);
    else
      log.error(
        `safety valve: ${refusal.reason}; nothing is deleted (set NSBACKUP_FORCE=true to delete anyway)`,
        fields,
      );
  }

  const result: MarkAndDeleteResult = {
    snapshots: live.length,
    marked: marks.marked,
    markSkipped: marks.skipped,
    markFailed: marks.failed,
    due: sweepPlan.deletions.length,
    deleted: 0,
    deleteSkipped: 0,
    s3FoldersDeleted: 0,
    failures: [],
    deletedBackups: [],
    refusals: [...sweepPlan.refusals, ...(s3OnlyPlan?.refusals ?? [])],
    refused: sweepPlan.refused || Boolean(s3OnlyPlan?.refused),
    stopped: false,
    problems: markPlan.problems.length + sweepPlan.problems.length + (s3OnlyPlan?.problems.length ?? 0),
    s3Only: s3OnlyRead && s3OnlyCounts(s3OnlyRead, sweepPlan.refused),
  };
  if (options.dryRun) {
    printSweepPlan(ctx.out, sweepPlan.deletions, today, sweepPlan.refused);
    if (s3OnlyPlan) printS3OnlyPlan(ctx.out, s3OnlyPlan, ctx.s3Only!.store);
    return result;
  }
  // A refused run deletes nothing at all, not even the S3 folders an earlier run left to finish: the operator
  // looks at a run that wanted too much, and "nothing was deleted" must stay true while they do.
  if (result.refused) return result;
  const sweeper = new Sweeper({ ...ctx, signal: ctx.signal }, infos);
  await sweeper.finishPending(infos);
  await sweeper.deleteAll(sweepPlan.deletions, byId, options.pauseMs);
  const swept = sweeper.result;
  let s3Only = result.s3Only;
  let s3OnlyStopped = false;
  if (s3OnlyPlan?.deletions.length) {
    if (!ctx.signal.aborted && sweepPlan.deletions.length)
      await (ctx.sleep ?? realSleep)(options.pauseMs, ctx.signal);
    const gone = await sweepS3Only(
      { store: ctx.s3Only!.store, log, signal: ctx.signal, sleep: ctx.sleep, forget: ctx.s3Only!.forget },
      s3OnlyPlan.deletions,
      options.pauseMs,
    );
    s3OnlyStopped = gone.stopped;
    s3Only = {
      ...s3Only!,
      deleted: gone.deleted,
      // Those not deleted (a failure, or stopped before their turn) are still there.
      kept: s3OnlyPlan.kept + s3OnlyPlan.deletions.length - gone.deleted,
      failures: [...s3Only!.failures, ...gone.failures],
    };
  }
  return {
    ...result,
    deleted: swept.deleted,
    deleteSkipped: swept.skipped,
    s3FoldersDeleted: swept.s3FoldersDeleted,
    failures: swept.failures,
    deletedBackups: swept.deletedBackups,
    stopped: swept.stopped || s3OnlyStopped || ctx.signal.aborted,
    s3Only,
  };
}

/**
 * The S3-only plan, or why there is none: S3 that cannot be listed or read fails the run, but keeps the snapshot
 * path going (its own S3 deletions then fail, naming the folder and the finalizer, as before).
 */
async function planS3OnlyOrFail(
  s3Only: S3OnlyContext,
  options: MarkAndDeleteOptions,
  log: Logger,
): Promise<{ plan?: S3OnlyPlan; failure?: string }> {
  const planOptions = { ...options, keep: options.keep ?? DEFAULT_GFS_KEEP };
  try {
    return {
      plan: await readAndPlanS3Only(s3Only.store, s3Only.cluster, options.namespace, planOptions, log),
    };
  } catch (error) {
    if (isMissingBucket(error)) {
      // No bucket, no folder: nothing of this namespace exists only in S3 (the sweep treats it the same way).
      log.warn(`bucket ${s3Only.store.location.bucket} does not exist: no S3-only backups to plan`);
      return { plan: planS3Only(new Map(), () => '', planOptions) };
    }
    const where = s3Only.store.url(s3Only.store.key(s3Only.cluster, options.namespace ?? ''));
    const failure = `S3-only backups not planned: reading ${where}/ failed: ${(error as Error).message}`;
    log.error(failure);
    return { failure };
  }
}

/** Before any deletion: what the policy keeps, and what a refusal (of either set) holds back. */
function s3OnlyCounts(
  read: { plan?: S3OnlyPlan; failure?: string },
  snapshotsRefused: boolean,
): S3OnlyCounts {
  const { plan } = read;
  return {
    deleted: 0,
    kept: plan?.kept ?? 0,
    refused: plan ? plan.heldBack + (snapshotsRefused ? plan.deletions.length : 0) : 0,
    leftAlone: plan?.leftAlone.length ?? 0,
    failures: read.failure ? [read.failure] : [],
  };
}

async function applyMarks(
  ctx: PruneContext,
  marks: readonly Mark[],
  byId: ReadonlyMap<string, SnapshotInfo>,
  dryRun: boolean,
): Promise<{ marked: number; skipped: number; failed: number }> {
  const counts = { marked: 0, skipped: 0, failed: 0 };
  for (const mark of marks) {
    ctx.log.info(dryRun ? 'would mark snapshot' : 'marking snapshot', {
      namespace: mark.namespace,
      snapshot: mark.name,
      pvc: mark.pvc,
      deleteAfter: mark.deleteAfter,
      reason: mark.runOutcome
        ? `its backup run ${mark.runOutcome === 'failed' ? 'failed' : 'was interrupted'}`
        : byId.get(idOf(mark))?.record.labels[Labels.retain] === 'deltas'
          ? 'not kept by its deltas generations'
          : 'no daily/weekly/monthly/yearly label left',
    });
    if (dryRun)
      ctx.out(`would mark ${mark.namespace}/${mark.name} (pvc ${mark.pvc}) delete-after=${mark.deleteAfter}`);
  }
  if (dryRun) return counts;
  await forEachLimited(
    marks,
    PATCH_CONCURRENCY,
    async (mark) => {
      const info = byId.get(idOf(mark))!;
      const fields = { namespace: mark.namespace, snapshot: mark.name, pvc: mark.pvc };
      try {
        const written = await patchLabels(ctx.kube, info, { [Labels.deleteAfter]: mark.deleteAfter });
        if (written.outcome === 'done') {
          counts.marked++;
          // The sweep plans on what is now in the cluster (a mark is never due on the day it is set).
          info.record.labels = { ...info.record.labels, [Labels.deleteAfter]: mark.deleteAfter };
          info.resourceVersion = written.resourceVersion;
        } else {
          counts.skipped++;
          ctx.log.warn(`snapshot ${written.outcome} since it was listed: not marked`, fields);
        }
      } catch (error) {
        counts.failed++;
        ctx.log.error('could not mark snapshot', { ...fields, error: (error as Error).message });
      }
    },
    ctx.signal,
  );
  return counts;
}

function printS3OnlyPlan(out: (t: string) => void, plan: S3OnlyPlan, store: S3Store) {
  for (const d of plan.deletions) out(`would delete S3-only backup ${store.url(d.key)}${describe(d)}`);
  if (plan.refused) out('the safety valve would refuse this run: no S3-only backup would be deleted');
  out(
    `dry run: ${plan.deletions.length} S3-only backups would be deleted, ${plan.kept} kept, ` +
      `${plan.leftAlone.length} folders left alone (no usable outcome); nothing changed`,
  );
}

function describe(d: S3OnlyDeletion): string {
  const why = d.runFailed ? 'its run failed' : 'not kept by its policy';
  const volumes = d.volumePvcs.length ? `, restic copies of ${d.volumePvcs.join(', ')} forgotten` : '';
  return ` (${why}, due ${d.deleteAfter}${volumes})`;
}

function printSweepPlan(
  out: (t: string) => void,
  deletions: readonly Deletion[],
  today: string,
  refused: boolean,
) {
  for (const d of deletions)
    out(`would delete ${d.namespace}/${d.name} (pvc ${d.pvc}) delete-after=${d.deleteAfter} < ${today}`);
  if (refused) out('the safety valve would refuse this run: nothing would be deleted');
  out(`dry run: ${deletions.length} snapshots would be deleted; nothing changed`);
}
