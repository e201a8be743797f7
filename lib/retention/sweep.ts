// sweep: delete snapshots whose delete-after day is over, behind a safety valve.
import { assertTimeZone, isLocalDate, localDate } from './calendar.js';
import { discardableSnaps } from './outcome.js';
import { deleteAfterOf, mayGo } from './protect.js';
import {
  byProblemOrder,
  goodSnapsByPvc,
  inPlanOrder,
  pvcKey,
  refOf,
  type Planned,
  type Snap,
} from './records.js';
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
  // Snapshots of failed or interrupted runs, due like any other marked one, per PVC.
  const discardsDue = new Map<string, Planned<Deletion>[]>();
  for (const { snap, runOutcome } of discardableSnaps(records, options.now)) {
    const [due] = dueIn([snap], today, problems, true);
    if (!due) continue;
    due.item.runOutcome = runOutcome;
    const key = pvcKey(snap.record);
    discardsDue.set(key, [...(discardsDue.get(key) ?? []), due]);
  }
  for (const key of new Set([...groups.keys(), ...discardsDue.keys()])) {
    const snaps = groups.get(key) ?? [];
    const due = dueIn(snaps, today, problems);
    const discards = discardsDue.get(key) ?? [];
    const refusal = valve(snaps, due.length, discards, options);
    if (refusal) refusals.push(refusal);
    deletions.push(...due, ...discards);
  }
  const refused = refusals.length > 0 && !options.force;
  return {
    deletions: refused ? [] : inPlanOrder(deletions),
    refusals: refusals.sort((a, b) => (a.namespace + '\0' + a.pvc < b.namespace + '\0' + b.pvc ? -1 : 1)),
    refused,
    problems: byProblemOrder(problems),
  };
}

/** `discards`: snapshots of failed or interrupted runs, which no newest-good rule protects (they are no backup). */
function dueIn(
  snaps: readonly Snap[],
  today: string,
  problems: Problem[],
  discards = false,
): Planned<Deletion>[] {
  const due: Planned<Deletion>[] = [];
  snaps.forEach((snap, index) => {
    const deleteAfter = deleteAfterOf(snap);
    if (deleteAfter === undefined || (!discards && !mayGo(snaps, index))) return;
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

/**
 * The share is of the PVC's good snapshots (the history a mistake could wipe out); the count includes the
 * snapshots of failed or interrupted runs too, so a mass relabel that made good ones look failed still trips it.
 */
function valve(
  snaps: readonly Snap[],
  goodDue: number,
  discards: readonly Planned<Deletion>[],
  options: SweepOptions,
): Refusal | undefined {
  const of = snaps.length;
  const wouldDelete = goodDue + discards.length;
  const tooMany = wouldDelete > options.maxDeleteCount;
  const tooLarge = goodDue > 0 && goodDue / of > options.maxDeleteShare;
  if (!tooMany && !tooLarge) return undefined;
  const { namespace, pvc } = (snaps[0] ?? discards[0].snap).record;
  const limit = tooMany
    ? `more than ${options.maxDeleteCount}`
    : `more than ${Math.round(options.maxDeleteShare * 100)}%`;
  return {
    namespace,
    pvc,
    wouldDelete,
    of,
    reason: discards.length
      ? `would delete ${goodDue} of ${of} good snapshots and ${discards.length} of failed or interrupted runs, ${limit}`
      : `would delete ${wouldDelete} of ${of} snapshots, ${limit}`,
  };
}

function assertSweepOptions(options: SweepOptions): void {
  assertTimeZone(options.timeZone);
  if (!(options.maxDeleteShare >= 0))
    throw new RangeError(`maxDeleteShare must be >= 0: ${options.maxDeleteShare}`);
  if (!(options.maxDeleteCount >= 0))
    throw new RangeError(`maxDeleteCount must be >= 0: ${options.maxDeleteCount}`);
}
