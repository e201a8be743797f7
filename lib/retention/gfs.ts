// The `gfs` policy (grandfather-father-son): the first backup of each day, ISO week, month and year
// of a PVC carries that period as a label; retain keeps the newest N periods of each key.
import { Labels } from '../labels.js';
import { epochMs, gfsValues } from './calendar.js';
import { policyOf } from './policy.js';
import { deleteAfterOf } from './protect.js';
import { isGood, newestFirst, type Snap } from './records.js';
import type { GfsKeep, GfsKey, SnapshotRecord } from './types.js';

export const GFS_KEYS: readonly GfsKey[] = ['daily', 'weekly', 'monthly', 'yearly'];

/** Yearly is off unless configured: 12 monthly already reach back a year. */
export const DEFAULT_GFS_KEEP: GfsKeep = { daily: 7, weekly: 4, monthly: 12, yearly: 0 };

/** The keys retain keeps by. A key kept 0 times is inactive: its label keeps nothing (see gfsRemovals). */
export function activeGfsKeys(keep: GfsKeep): GfsKey[] {
  return GFS_KEYS.filter((key) => keep[key] > 0);
}

/**
 * The one rule for who holds a period, shared by labelling and retain so they cannot disagree: a snapshot
 * retain counts, i.e. a good gfs snapshot (ours, ready, not failed) that is not on its way out (no
 * delete-after). A snapshot that never became ready (its backup was killed before it could label it failed)
 * must not hold a period: retain never counts or keeps it, so a period it held would be lost for good.
 * Two backups of one PVC racing within a period both get its label; retain keeps the older holder.
 */
export function holdsPeriods(snap: Snap): boolean {
  return isGood(snap) && policyOf(snap) === 'gfs' && deleteAfterOf(snap) === undefined;
}

/**
 * Labels for a new snapshot of one PVC: each period value it is the first to hold, among the PVC's other
 * snapshots that hold periods (holdsPeriods).
 */
export function gfsLabelsFor(
  createdAt: string,
  timeZone: string,
  existingSnapshotsOfSamePvc: readonly SnapshotRecord[],
  keys: readonly GfsKey[] = GFS_KEYS,
): Record<string, string> {
  const values = gfsValues(createdAt, timeZone);
  const holders = existingSnapshotsOfSamePvc
    .map((record) => ({ record, ms: epochMs(record.createdAt) }))
    .filter(holdsPeriods);
  const labels: Record<string, string> = {};
  for (const key of keys) {
    const label = Labels[key];
    if (!holders.some((snap) => snap.record.labels[label] === values[key])) labels[label] = values[key];
  }
  return labels;
}

/**
 * For one PVC's snapshots that hold periods (holdsPeriods, newest first): per key, the label keys each
 * snapshot must lose. Each value keeps one holder, the oldest (the first backup of that period, as
 * labelling chose it); a duplicate from two racing backups loses it. The newest `keep[key]` values survive.
 *
 * A key kept 0 times is inactive: it keeps nothing, but its label is not taken off on its own either.
 * Backup labels every period (it does not know the pruner's counts), so removing an inactive label by itself
 * would cost a patch per new label, and the next backup would set it again (the holder just lost it): a
 * patch per PVC per day for nothing. It goes in the same patch as the snapshot's last active label, so a
 * snapshot nothing keeps is left without labels and mark gives it a delete-after as before.
 */
export function gfsRemovals(snaps: readonly Snap[], keep: GfsKeep): Map<Snap, string[]> {
  const removals = new Map<Snap, string[]>();
  const drop = (snap: Snap, label: string) => removals.set(snap, [...(removals.get(snap) ?? []), label]);
  const activeKeys = activeGfsKeys(keep);
  for (const key of activeKeys) {
    const label = Labels[key];
    const holderOfValue = new Map<string, Snap>();
    for (const snap of snaps) {
      const value = snap.record.labels[label];
      if (value === undefined) continue;
      const previous = holderOfValue.get(value);
      // snaps are newest first, so a later one is older (or equal in time and later by name).
      if (previous) drop(previous, label);
      holderOfValue.set(value, snap);
    }
    const holders = [...holderOfValue.values()].sort(newestFirst);
    for (const snap of holders.slice(keep[key])) drop(snap, label);
  }
  const active = activeKeys.map((key) => Labels[key]);
  const inactive = GFS_KEYS.filter((key) => keep[key] === 0).map((key) => Labels[key]);
  for (const snap of snaps) {
    const { labels } = snap.record;
    const removed = removals.get(snap) ?? [];
    const keptBy = active.filter((label) => label in labels && !removed.includes(label));
    if (keptBy.length > 0) continue;
    for (const label of inactive) if (label in labels) drop(snap, label);
  }
  return removals;
}

/** A gfs snapshot is kept while it holds any period label (retain leaves none that only an inactive one holds). */
export function holdsGfsLabel(record: SnapshotRecord): boolean {
  return GFS_KEYS.some((key) => Labels[key] in record.labels);
}
