// Rules no policy can override, checked by both mark and sweep.
import { Labels } from '../labels.js';
import { isPinned, type Snap } from './records.js';

/**
 * `snaps` is one PVC's good snapshots, newest first. The newest is never given up, whatever its
 * labels say: a stopped backup schedule, a `days` policy running out, or a hand-set delete-after
 * must never leave a PVC without its last good backup. Pinned ones are the user's to keep.
 */
export function mayGo(snaps: readonly Snap[], index: number): boolean {
  return index > 0 && !isPinned(snaps[index].record);
}

/** True while the snapshot's keep-until day (an ad-hoc backup's floor) has not passed: it is not marked. */
export function keptUntil(snap: Snap, today: string): boolean {
  const until = snap.record.labels[Labels.keepUntil];
  return until !== undefined && until >= today;
}

export function deleteAfterOf(snap: Snap): string | undefined {
  return snap.record.labels[Labels.deleteAfter];
}
