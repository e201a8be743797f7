// The `gfs` policy (grandfather-father-son): the first backup of each day, ISO week, month and year
// of a PVC carries that period as a label; retain keeps the newest N periods of each key.
import { Labels } from '../labels.js';
import { gfsValues } from './calendar.js';
import { isOurs, newestFirst, type Snap } from './records.js';
import type { GfsKeep, GfsKey, SnapshotRecord } from './types.js';

export const GFS_KEYS: readonly GfsKey[] = ['daily', 'weekly', 'monthly', 'yearly'];

/** Yearly is off unless configured: 12 monthly already reach back a year. */
export const DEFAULT_GFS_KEEP: GfsKeep = { daily: 7, weekly: 4, monthly: 12, yearly: 0 };

/** The keys worth labelling: a key kept 0 times would be removed by the next retain run anyway. */
export function activeGfsKeys(keep: GfsKeep): GfsKey[] {
  return GFS_KEYS.filter((key) => keep[key] > 0);
}

/**
 * Labels for a new snapshot of one PVC: each period value it is the first to hold. Holders are the
 * PVC's other snapshots of ours that have not failed. One still being created does hold: it usually
 * becomes ready, and a second holder of the same day would only be trimmed later; if it fails,
 * backup labels it failed and the next backup of that period takes the value over.
 */
export function gfsLabelsFor(
  createdAt: string,
  timeZone: string,
  existingSnapshotsOfSamePvc: readonly SnapshotRecord[],
  keys: readonly GfsKey[] = GFS_KEYS,
): Record<string, string> {
  const values = gfsValues(createdAt, timeZone);
  const labels: Record<string, string> = {};
  for (const key of keys) {
    const label = Labels[key];
    const held = existingSnapshotsOfSamePvc.some(
      (r) => isOurs(r) && !r.failed && r.labels[label] === values[key],
    );
    if (!held) labels[label] = values[key];
  }
  return labels;
}

/**
 * For one PVC's good gfs snapshots (newest first): per key, the label keys each snapshot must lose.
 * Each value keeps one holder, the oldest (the first backup of that period, as labelling chose it);
 * a duplicate from two racing backups loses it. The newest `keep[key]` values survive.
 */
export function gfsRemovals(snaps: readonly Snap[], keep: GfsKeep): Map<Snap, string[]> {
  const removals = new Map<Snap, string[]>();
  const drop = (snap: Snap, label: string) => removals.set(snap, [...(removals.get(snap) ?? []), label]);
  for (const key of GFS_KEYS) {
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
    for (const snap of holders.slice(Math.max(0, keep[key]))) drop(snap, label);
  }
  return removals;
}

/** A gfs snapshot is kept while it holds any period label. */
export function holdsGfsLabel(record: SnapshotRecord): boolean {
  return GFS_KEYS.some((key) => Labels[key] in record.labels);
}
