// retain: which period labels to take off which gfs snapshots. Removing a label never deletes
// anything by itself; a snapshot that lost every label is marked later, then swept after a grace.
import { DEFAULT_GFS_KEEP, gfsRemovals } from './gfs.js';
import { policyOf, unknownPolicyProblem } from './policy.js';
import { deleteAfterOf } from './protect.js';
import { byProblemOrder, goodSnapsByPvc, inPlanOrder, refOf, type Planned } from './records.js';
import type { GfsKeep, LabelRemoval, RetainPlan, RetainPolicy, SnapshotRecord } from './types.js';

export const DEFAULT_RETAIN_POLICY: RetainPolicy = { gfs: DEFAULT_GFS_KEEP };

/**
 * Per PVC and key, the newest `policy.gfs[key]` values keep their holder; older holders lose the
 * key. A snapshot that already has a delete-after (marked, or expired by hand) is on its way out:
 * it is neither counted nor changed, so the N kept are N that will survive the sweep.
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
    const gfs = snaps.filter((snap) => policyOf(snap) === 'gfs' && deleteAfterOf(snap) === undefined);
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
