// mark-and-delete: give unkept snapshots a delete-after date, then delete those whose date is over.
import { Labels } from '../labels.js';
import {
  localDate,
  planMark,
  planSweep,
  type Deletion,
  type Mark,
  type Refusal,
} from '../retention/index.js';
import { forEachLimited } from '../concurrency.js';
import { idOf, logProblems, PATCH_CONCURRENCY, type PruneContext } from './context.js';
import { listSnapshots, type SnapshotInfo } from '../snapshots/list.js';
import { Sweeper, type SweepDeps, type SweepFailure } from './sweep.js';
import { patchLabels } from './writes.js';

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
}

export async function markAndDelete(
  ctx: PruneContext & Pick<SweepDeps, 's3' | 'layout' | 'sleep'>,
  options: MarkAndDeleteOptions,
): Promise<MarkAndDeleteResult> {
  const { kube, log } = ctx;
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
  for (const refusal of sweepPlan.refusals) {
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
    refusals: sweepPlan.refusals,
    refused: sweepPlan.refused,
    stopped: false,
    problems: markPlan.problems.length + sweepPlan.problems.length,
  };
  if (options.dryRun) {
    printSweepPlan(ctx.out, sweepPlan.deletions, today, sweepPlan.refused);
    return result;
  }
  // A refused run deletes nothing at all, not even the S3 folders an earlier run left to finish: the operator
  // looks at a run that wanted too much, and "nothing was deleted" must stay true while they do.
  if (sweepPlan.refused) return result;
  const sweeper = new Sweeper({ ...ctx, signal: ctx.signal }, infos);
  await sweeper.finishPending(infos);
  await sweeper.deleteAll(sweepPlan.deletions, byId, options.pauseMs);
  const swept = sweeper.result;
  return {
    ...result,
    deleted: swept.deleted,
    deleteSkipped: swept.skipped,
    s3FoldersDeleted: swept.s3FoldersDeleted,
    failures: swept.failures,
    deletedBackups: swept.deletedBackups,
    stopped: swept.stopped || ctx.signal.aborted,
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
