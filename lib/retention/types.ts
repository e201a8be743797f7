// The shapes the retention core works on. Adapters build SnapshotRecords from VolumeSnapshots;
// the planners return plain data that adapters turn into merge patches and deletions.

/** A VolumeSnapshot as the adapters hand it to the core. */
export interface SnapshotRecord {
  namespace: string;
  name: string;
  /** Label `nsbackup.io/pvc`, else `spec.source.persistentVolumeClaimName`. */
  pvc: string;
  /** ISO 8601: `status.creationTime`, else `metadata.creationTimestamp`. */
  createdAt: string;
  /** `status.readyToUse`. */
  ready: boolean;
  /** `status.error` is set, or the label `nsbackup.io/failed=true`. */
  failed: boolean;
  labels: Record<string, string>;
  /** Annotation `nsbackup.io/complete-by`: the run's deadline for marking it succeeded (see outcome.ts). */
  completeBy?: string;
}

/** Identifies one snapshot in a plan; `pvc` and `createdAt` are there for printing. */
export interface SnapshotRef {
  namespace: string;
  name: string;
  pvc: string;
  createdAt: string;
}

/** A backup's retention policy as backup records it (on each snapshot as labels, in an S3-only backup's outcome). */
export type RetainSpec =
  { policy: 'gfs' } | { policy: 'days'; days: number } | { policy: 'deltas'; deltas: string };

export type GfsKey = 'daily' | 'weekly' | 'monthly' | 'yearly';

/** How many of the newest distinct values of each GFS label a PVC keeps. 0 switches a key off. */
export type GfsKeep = Record<GfsKey, number>;

/**
 * Settings for `planRetain`. The policy of each snapshot is the one recorded in its own
 * `nsbackup.io/retain` label (a cluster-wide retain job serves namespaces with different policies);
 * this only carries the keep counts for snapshots labelled `gfs`.
 */
export interface RetainPolicy {
  gfs: GfsKeep;
}

/** A snapshot whose record the core refused to decide on, and why (shown to the user, never fatal). */
export interface Problem {
  namespace: string;
  name: string;
  reason: string;
}

/** Remove these label keys (full keys, e.g. `nsbackup.io/daily`) from one snapshot. */
export interface LabelRemoval extends SnapshotRef {
  remove: string[];
}

export interface RetainPlan {
  removals: LabelRemoval[];
  problems: Problem[];
}

export interface MarkOptions {
  now: Date;
  /** IANA time zone that defines "today". */
  timeZone: string;
  /** Days between marking and the last day the snapshot survives. */
  graceDays: number;
}

/** Set `nsbackup.io/delete-after=deleteAfter` on one snapshot. */
export interface Mark extends SnapshotRef {
  deleteAfter: string;
  /** Set when the snapshot goes because its backup run failed or was interrupted, not by its policy. */
  runOutcome?: 'failed' | 'interrupted';
}

export interface MarkPlan {
  marks: Mark[];
  problems: Problem[];
}

export interface SweepOptions {
  now: Date;
  timeZone: string;
  /** Refuse when one run would delete more than this share (0..1) of a PVC's good snapshots. */
  maxDeleteShare: number;
  /** Refuse when one run would delete more than this many of a PVC's snapshots. */
  maxDeleteCount: number;
  /** Delete even when the safety valve trips (the refusals are still reported). */
  force: boolean;
}

export interface Deletion extends SnapshotRef {
  deleteAfter: string;
  /** Set when the snapshot goes because its backup run failed or was interrupted. */
  runOutcome?: 'failed' | 'interrupted';
}

/** The safety valve tripped for one PVC. */
export interface Refusal {
  namespace: string;
  pvc: string;
  wouldDelete: number;
  /** Good snapshots (ours, ready, not failed, run completed) of the PVC, the base of the share. */
  of: number;
  reason: string;
}

export interface SweepPlan {
  deletions: Deletion[];
  refusals: Refusal[];
  /** True when the valve tripped and `force` was not given: `deletions` is then empty. */
  refused: boolean;
  problems: Problem[];
}

/** A record with its creation time in epoch ms, as the policies sort and compare them. */
export interface Snap {
  record: SnapshotRecord;
  ms: number;
}
