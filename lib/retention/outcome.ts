// How the backup run that made a snapshot ended, as its labels tell it. The run labels each snapshot
// `in-progress` at creation and `succeeded` or `failed` at its end; a killed run leaves `in-progress` behind,
// which becomes `interrupted` once the run's own deadline (annotation complete-by) has passed: after it, the run
// would mark its snapshots failed rather than succeeded, so nothing can still complete them.
import { Labels } from '../labels.js';
import { epochMs } from './calendar.js';
import type { Snap, SnapshotRecord } from './types.js';

export type RunOutcome =
  | 'succeeded'
  | 'failed'
  | 'in-progress'
  | 'interrupted'
  /** No outcome label: a snapshot of an nsbackup version before it, judged as it always was (ready, not failed). */
  | 'unrecorded'
  /** A value this version does not know (a newer nsbackup, a hand edit): neither counted nor deleted. */
  | 'unknown';

export function runOutcomeOf(record: SnapshotRecord, now: Date): RunOutcome {
  const value = record.labels[Labels.outcome];
  if (record.labels[Labels.failed] === 'true' || value === 'failed') return 'failed';
  switch (value) {
    case undefined:
      return 'unrecorded';
    case 'succeeded':
      return 'succeeded';
    case 'in-progress': {
      // Without a readable deadline it may still be running: never called interrupted on a guess.
      const deadline = epochMs(record.completeBy ?? '');
      return !Number.isNaN(deadline) && now.getTime() > deadline ? 'interrupted' : 'in-progress';
    }
    default:
      return 'unknown';
  }
}

/**
 * Whether the snapshot's run got as far as a good backup: it succeeded, or it predates the outcome label (an
 * older version's snapshot stays what it was). In progress, interrupted, failed or unknown: not a backup.
 * Needs no clock: in progress and interrupted are both not (yet) a backup.
 */
export function runCompleted(record: SnapshotRecord): boolean {
  const value = record.labels[Labels.outcome];
  return record.labels[Labels.failed] !== 'true' && (value === undefined || value === 'succeeded');
}

/**
 * A run that failed or was interrupted left this snapshot: retention removes it like an unkept one (marked,
 * then swept after the grace), unless it is pinned. Only our own labels say so: a `status.error` alone may be
 * transient and never makes a snapshot discardable.
 */
export function isDiscardable(record: SnapshotRecord, now: Date): boolean {
  const outcome = runOutcomeOf(record, now);
  return Labels.retain in record.labels && (outcome === 'failed' || outcome === 'interrupted');
}

/** The discardable snapshots retention may act on: not pinned, with a readable creation time. */
export function discardableSnaps(
  records: readonly SnapshotRecord[],
  now: Date,
): { snap: Snap; runOutcome: 'failed' | 'interrupted' }[] {
  const found: { snap: Snap; runOutcome: 'failed' | 'interrupted' }[] = [];
  for (const record of records) {
    if (!isDiscardable(record, now) || record.labels[Labels.pin] === 'true') continue;
    const snap = { record, ms: epochMs(record.createdAt) };
    if (Number.isNaN(snap.ms)) continue; // left alone; goodSnapsByPvc reports every record of ours like it
    found.push({ snap, runOutcome: runOutcomeOf(record, now) as 'failed' | 'interrupted' });
  }
  return found;
}
