// Retention of backups that exist only as S3 folders (etcd backups, namespace backups that made no VolumeSnapshot),
// by the same pure policies as the VolumeSnapshots. A folder has no labels to steer, so each run derives them from
// the backups' own records: the gfs periods as backup would have given them (the first good backup of each day,
// week, month, year), the ones retain takes off, the delete-after of `days`, the deltas generations, an ad-hoc
// backup's keep-until. The mark and sweep rules then decide, unchanged: the newest good backup is never deleted,
// a failed run never holds a period, and the safety valve refuses a run that would delete too many at once.
// Unkept backups are due at once: there is no label a person could remove in the grace days a VolumeSnapshot gets,
// and everything is recomputed from the records each run. Only a failed run's folder waits for the grace (counted
// from the run), as a failed run's snapshot is marked and swept after it.
import { Labels } from '../labels.js';
import { addDays, localDate } from './calendar.js';
import { DELTAS_LABEL, encodeDeltas, parseDeltas } from './deltas.js';
import { deleteAfterFor } from './days.js';
import { gfsLabelsFor } from './gfs.js';
import { planMark } from './mark.js';
import { planRetain } from './retain.js';
import { planSweep } from './sweep.js';
import type { GfsKeep, Problem, Refusal, RetainSpec, SnapshotRecord } from './types.js';

/** One backup folder as its record tells it. */
export interface FolderBackup {
  id: string;
  /** ISO 8601 with an offset: when the backup was made. */
  createdAt: string;
  /** Its run failed: never a backup retention counts, gone after the grace. */
  failed: boolean;
  retain: RetainSpec;
  /** `YYYY-MM-DD` (in the zone): an ad-hoc backup's floor, kept at least through this day. */
  keepUntil?: string;
}

export interface FolderRetentionOptions {
  keep: GfsKeep;
  now: Date;
  timeZone: string;
  /** Days a failed run's folder stays after the day of the run (the mark's grace). */
  failedGraceDays: number;
  maxDeleteShare: number;
  maxDeleteCount: number;
  force: boolean;
  /** How refusals and problems name the set (its namespace, and a stand-in for the PVC). */
  namespace: string;
  group: string;
}

export interface FolderDeletion {
  id: string;
  createdAt: string;
  deleteAfter: string;
  /** Set when the folder goes because its run failed, not by its policy. */
  runFailed: boolean;
}

export interface FolderRetentionPlan {
  /** In time order, oldest first. Empty when refused. */
  deletions: FolderDeletion[];
  refusals: Refusal[];
  /** The valve tripped and `force` was not given. */
  refused: boolean;
  problems: Problem[];
}

/**
 * The plan for one set of backups that share a history (one namespace's S3-only backups; one cluster's etcd
 * backups). Decisions depend only on the records, the clock and the options, not on the input order.
 */
export function planFolderRetention(
  backups: readonly FolderBackup[],
  options: FolderRetentionOptions,
): FolderRetentionPlan {
  const dated = [...backups].sort((a, b) => compare(a.createdAt, b.createdAt) || compare(a.id, b.id));
  let records: SnapshotRecord[] = [];
  // Oldest first, each labelled against the ones before it, as backup labels a new snapshot.
  for (const backup of dated) records.push(recordOf(backup, records, options));
  const removals = new Map(
    planRetain(records, { gfs: options.keep }).removals.map((r) => [r.name, r.remove]),
  );
  records = records.map((r) => {
    const labels = { ...r.labels };
    for (const key of removals.get(r.name) ?? []) delete labels[key];
    return { ...r, labels };
  });
  const yesterday = addDays(localDate(options.now, options.timeZone), -1);
  const marked = new Set(
    planMark(records, { now: options.now, timeZone: options.timeZone, graceDays: 0 }).marks.map(
      (m) => m.name,
    ),
  );
  records = records.map((r) =>
    marked.has(r.name) ? { ...r, labels: { ...r.labels, [Labels.deleteAfter]: yesterday } } : r,
  );
  const sweep = planSweep(records, options);
  const byName = new Map(records.map((r) => [r.name, r]));
  return {
    deletions: sweep.deletions.map((d) => ({
      id: d.name,
      createdAt: d.createdAt,
      deleteAfter: d.deleteAfter,
      runFailed: byName.get(d.name)!.labels[Labels.outcome] === 'failed',
    })),
    refusals: sweep.refusals,
    refused: sweep.refused,
    problems: sweep.problems,
  };
}

function recordOf(
  backup: FolderBackup,
  earlier: readonly SnapshotRecord[],
  options: FolderRetentionOptions,
): SnapshotRecord {
  const { timeZone } = options;
  const labels: Record<string, string> = {
    [Labels.retain]: backup.retain.policy,
    [Labels.outcome]: backup.failed ? 'failed' : 'succeeded',
  };
  if (backup.keepUntil !== undefined) labels[Labels.keepUntil] = backup.keepUntil;
  switch (backup.retain.policy) {
    case 'gfs':
      // A failed run never holds a period (backup writes them only once its run succeeded).
      if (!backup.failed) Object.assign(labels, gfsLabelsFor(backup.createdAt, timeZone, earlier));
      break;
    case 'days': {
      // As on a snapshot: the ad-hoc floor holds under days too.
      const byDays = deleteAfterFor(backup.createdAt, timeZone, backup.retain.days);
      labels[Labels.deleteAfter] =
        backup.keepUntil !== undefined && backup.keepUntil > byDays ? backup.keepUntil : byDays;
      break;
    }
    case 'deltas':
      labels[DELTAS_LABEL] = encodeDeltas(parseDeltas(backup.retain.deltas));
      break;
  }
  if (backup.failed && labels[Labels.deleteAfter] === undefined)
    labels[Labels.deleteAfter] = addDays(localDate(backup.createdAt, timeZone), options.failedGraceDays);
  return {
    namespace: options.namespace,
    name: backup.id,
    pvc: options.group,
    createdAt: backup.createdAt,
    ready: true,
    failed: false,
    labels,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
