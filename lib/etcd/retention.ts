// Retention of etcd backups in S3, by the same pure policies as the VolumeSnapshots. An S3 folder has no labels to
// steer, so each run derives them: the gfs labels as backup would have given them (the first backup of each day,
// week, month, year), the ones retain takes off, and for `days` the delete-after of each backup's creation. The
// sweep's rules then decide, unchanged: the newest backup is never deleted, and the safety valve refuses a run
// that would delete too many at once. Unkept gfs backups are due at once (there is no label for a person to
// remove in the grace days a VolumeSnapshot gets); everything here is recomputed from the backup times alone.
import { Labels } from '../labels.js';
import {
  addDays,
  deleteAfterFor,
  gfsLabelsFor,
  holdsGfsLabel,
  localDate,
  planRetain,
  planSweep,
  type GfsKeep,
  type Refusal,
  type SnapshotRecord,
} from '../retention/index.js';

export interface EtcdRetentionOptions {
  policy: 'gfs' | 'days';
  keep: GfsKeep;
  retainDays: number;
  now: Date;
  timeZone: string;
  maxDeleteShare: number;
  maxDeleteCount: number;
}

export interface EtcdRetentionPlan {
  /** Backup ids whose folders go. */
  deletions: string[];
  refusals: Refusal[];
  refused: boolean;
}

/** `yyyyMMdd-HHmmss-xxxxxx` (UTC) -> ISO 8601, or undefined for an id not made by nsbackup. */
export function createdAtOfId(id: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-[a-z0-9]+$/.exec(id);
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

/** `ids`: the finished backups of one cluster. Ids nsbackup did not make are never touched. */
export function planEtcdRetention(ids: readonly string[], options: EtcdRetentionOptions): EtcdRetentionPlan {
  const dated = ids
    .map((id) => ({ id, createdAt: createdAtOfId(id) }))
    .filter((b): b is { id: string; createdAt: string } => b.createdAt !== undefined)
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
  const record = (id: string, createdAt: string, labels: Record<string, string>): SnapshotRecord => ({
    namespace: '_etcd',
    name: id,
    pvc: 'etcd',
    createdAt,
    ready: true,
    failed: false,
    labels: { [Labels.retain]: options.policy, ...labels },
  });
  let records: SnapshotRecord[] = [];
  if (options.policy === 'days') {
    records = dated.map((b) =>
      record(b.id, b.createdAt, {
        [Labels.deleteAfter]: deleteAfterFor(b.createdAt, options.timeZone, options.retainDays),
      }),
    );
  } else {
    // Oldest first, each labelled against the ones before it, as the backups were made.
    for (const b of dated)
      records.push(record(b.id, b.createdAt, gfsLabelsFor(b.createdAt, options.timeZone, records)));
    const removals = new Map(
      planRetain(records, { gfs: options.keep }).removals.map((r) => [r.name, r.remove]),
    );
    const yesterday = addDays(localDate(options.now, options.timeZone), -1);
    records = records.map((r) => {
      const labels = { ...r.labels };
      for (const key of removals.get(r.name) ?? []) delete labels[key];
      if (!holdsGfsLabel({ ...r, labels })) labels[Labels.deleteAfter] = yesterday;
      return { ...r, labels };
    });
  }
  const sweep = planSweep(records, {
    now: options.now,
    timeZone: options.timeZone,
    maxDeleteShare: options.maxDeleteShare,
    maxDeleteCount: options.maxDeleteCount,
    force: false,
  });
  return { deletions: sweep.deletions.map((d) => d.name), refusals: sweep.refusals, refused: sweep.refused };
}
