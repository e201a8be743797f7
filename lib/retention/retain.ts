// retain: which period labels to take off which gfs snapshots. Removing a label never deletes
// anything by itself; a snapshot that lost every label is marked later, then swept after a grace.
import { DEFAULT_GFS_KEEP, gfsRemovals, holdsPeriods } from './gfs.js';
import { policyOf, unknownPolicyProblem } from './policy.js';
import { byProblemOrder, goodSnapsByPvc, inPlanOrder, refOf, type Planned } from './records.js';
import type { GfsKeep, LabelRemoval, RetainPlan, RetainPolicy, SnapshotRecord } from './types.js';

export const DEFAULT_RETAIN_POLICY: RetainPolicy = { gfs: DEFAULT_GFS_KEEP };

/**
 * Per PVC and key, the newest `policy.gfs[key]` values keep their holder; older holders lose the
 * key. Holders are the snapshots labelling counts too (holdsPeriods): a snapshot that already has a
 * delete-after (marked, or expired by hand) is on its way out, so it is neither counted nor changed
 * and the N kept are N that will survive the sweep. A key kept 0 times keeps nothing; its label goes
 * with a snapshot's last kept one (see gfsRemovals).
 * `days` and `deltas` snapshots carry no period labels, so they get nothing here.
 */
export function planRetain(
  records: readonly SnapshotRecord[],
  policy: RetainPolicy = DEFAULT_RETAIN_POLICY,
): RetainPlan {
  assertKeep(policy.gfs);
  const removals: Planned<LabelRemoval>[] = [];
  const { groups, problems } = goodSnapsByPvc(records);
  for (const snaps of groups.values()) {
    const gfs = snaps.filter(holdsPeriods);
    problems.push(...snaps.filter((snap) => policyOf(snap) === undefined).map(unknownPolicyProblem));
    for (const [snap, labels] of gfsRemovals(gfs, policy.gfs)) {
      removals.push({ snap, item: { ...refOf(snap.record), remove: [...labels].sort() } });
    }
  }
  return { removals: inPlanOrder(removals), problems: byProblemOrder(problems) };
}

function assertKeep(keep: GfsKeep): void {
  for (const [key, count] of Object.entries(keep)) {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`keep ${key}: whole number >= 0, got ${count}`);
  }
}
