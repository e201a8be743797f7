// sweep: delete snapshots whose delete-after day is over, behind a safety valve.
import { assertTimeZone, isLocalDate, localDate } from './calendar.js';
import { deleteAfterOf, mayGo } from './protect.js';
import { byProblemOrder, goodSnapsByPvc, inPlanOrder, refOf, type Planned, type Snap } from './records.js';
import type { Deletion, Problem, Refusal, SnapshotRecord, SweepOptions, SweepPlan } from './types.js';

/**
 * Due: delete-after strictly before today in the time zone, so a snapshot survives its whole
 * delete-after day. The valve is checked per PVC, but it refuses the whole run: what makes one run
 * want to delete too much (a clock jump, a changed policy, a mass `kubectl label`) is rarely
 * confined to one PVC, and "nothing was deleted" is a state the operator can reason about before
 * re-running with force.
 */
export function planSweep(records: readonly SnapshotRecord[], options: SweepOptions): SweepPlan {
  assertSweepOptions(options);
  const today = localDate(options.now, options.timeZone);
  const deletions: Planned<Deletion>[] = [];
  const refusals: Refusal[] = [];
  const { groups, problems } = goodSnapsByPvc(records);
  for (const snaps of groups.values()) {
    const due = dueIn(snaps, today, problems);
    const refusal = valve(snaps, due.length, options);
    if (refusal) refusals.push(refusal);
    deletions.push(...due);
  }
  const refused = refusals.length > 0 && !options.force;
  return {
    deletions: refused ? [] : inPlanOrder(deletions),
    refusals: refusals.sort((a, b) => (a.namespace + '\0' + a.pvc < b.namespace + '\0' + b.pvc ? -1 : 1)),
    refused,
    problems: byProblemOrder(problems),
  };
}

function dueIn(snaps: readonly Snap[], today: string, problems: Problem[]): Planned<Deletion>[] {
  const due: Planned<Deletion>[] = [];
  snaps.forEach((snap, index) => {
    const deleteAfter = deleteAfterOf(snap);
    if (deleteAfter === undefined || !mayGo(snaps, index)) return;
    if (!isLocalDate(deleteAfter)) {
      const { namespace, name } = snap.record;
      problems.push({
        namespace,
        name,
        reason: `delete-after "${deleteAfter}" is not a YYYY-MM-DD date: kept`,
      });
    } else if (deleteAfter < today) {
      due.push({ snap, item: { ...refOf(snap.record), deleteAfter } });
    }
  });
  return due;
}

function valve(snaps: readonly Snap[], wouldDelete: number, options: SweepOptions): Refusal | undefined {
  const of = snaps.length;
  const tooMany = wouldDelete > options.maxDeleteCount;
  const tooLarge = wouldDelete > 0 && wouldDelete / of > options.maxDeleteShare;
  if (!tooMany && !tooLarge) return undefined;
  const { namespace, pvc } = snaps[0].record;
  const limit = tooMany
    ? `more than ${options.maxDeleteCount}`
    : `more than ${Math.round(options.maxDeleteShare * 100)}%`;
  return {
    namespace,
    pvc,
    wouldDelete,
    of,
    reason: `would delete ${wouldDelete} of ${of} snapshots, ${limit}`,
  };
}

function assertSweepOptions(options: SweepOptions): void {
  assertTimeZone(options.timeZone);
  if (!(options.maxDeleteShare >= 0))
    throw new RangeError(`maxDeleteShare must be >= 0: ${options.maxDeleteShare}`);
  if (!(options.maxDeleteCount >= 0))
    throw new RangeError(`maxDeleteCount must be >= 0: ${options.maxDeleteCount}`);
}
