// mark: give snapshots with no reason left to keep them a delete-after date. The grace between the
// mark and the sweep is the window in which a user can still rescue one (remove the label, pin it).
import { addDays, assertTimeZone, localDate } from './calendar.js';
import { DELTAS_LABEL, decodeDeltas, deltasKeep } from './deltas.js';
import { holdsGfsLabel } from './gfs.js';
import { discardableSnaps } from './outcome.js';
import { policyOf, unknownPolicyProblem } from './policy.js';
import { deleteAfterOf, keptUntil, mayGo } from './protect.js';
import { byProblemOrder, goodSnapsByPvc, inPlanOrder, refOf, type Planned, type Snap } from './records.js';
import type { Mark, MarkOptions, MarkPlan, Problem, SnapshotRecord } from './types.js';

export function planMark(records: readonly SnapshotRecord[], options: MarkOptions): MarkPlan {
  assertTimeZone(options.timeZone);
  if (!Number.isInteger(options.graceDays) || options.graceDays < 0) {
    throw new RangeError(`graceDays must be a whole number >= 0, got ${options.graceDays}`);
  }
  const today = localDate(options.now, options.timeZone);
  const deleteAfter = addDays(today, options.graceDays);
  const marks: Planned<Mark>[] = [];
  const { groups, problems } = goodSnapsByPvc(records);
  for (const snaps of groups.values()) {
    const deltas = deltasKeptIn(snaps);
    if (deltas.problem) problems.push(deltas.problem);
    snaps.forEach((snap, index) => {
      if (!mayGo(snaps, index) || deleteAfterOf(snap) !== undefined || keptUntil(snap, today)) return;
      const policy = policyOf(snap);
      if (policy === undefined) problems.push(unknownPolicyProblem(snap));
      const unkept =
        (policy === 'gfs' && !holdsGfsLabel(snap.record)) || (policy === 'deltas' && !deltas.kept.has(snap));
      if (unkept) marks.push({ snap, item: { ...refOf(snap.record), deleteAfter } });
    });
  }
  // Left by a run that failed or was killed: never a backup, so marked like an unkept one (the grace applies).
  for (const { snap, runOutcome } of discardableSnaps(records, options.now)) {
    if (deleteAfterOf(snap) === undefined)
      marks.push({ snap, item: { ...refOf(snap.record), deleteAfter, runOutcome } });
  }
  return { marks: inPlanOrder(marks), problems: byProblemOrder(problems) };
}

/**
 * The deltas snapshots of one PVC that tarsnapper's selection keeps. The selection runs over those
 * not marked yet: a marked one is on its way out, so a generation must be covered by survivors.
 * The deltas recorded on the newest one are the current configuration. If they cannot be read,
 * every deltas snapshot of the PVC is kept (and reported): never delete on a guess.
 */
function deltasKeptIn(snaps: readonly Snap[]): { kept: Set<Snap>; problem?: Problem } {
  const candidates = snaps.filter((snap) => policyOf(snap) === 'deltas' && deleteAfterOf(snap) === undefined);
  if (candidates.length === 0) return { kept: new Set() };
  const newest = candidates[0].record;
  try {
    const deltas = decodeDeltas(newest.labels[DELTAS_LABEL] ?? '');
    const keep = deltasKeep(
      candidates.map((snap) => snap.ms),
      deltas,
    );
    return { kept: new Set([...keep].map((index) => candidates[index])) };
  } catch (error) {
    const reason = `deltas label ${DELTAS_LABEL}="${newest.labels[DELTAS_LABEL] ?? ''}" unreadable (${
      (error as Error).message
    }): every deltas snapshot of PVC ${newest.pvc} kept`;
    return { kept: new Set(candidates), problem: { namespace: newest.namespace, name: newest.name, reason } };
  }
}
