// Label and annotation keys nsbackup puts on VolumeSnapshots and restored objects.
// The chart, the docs, `kubectl label` recipes and retention all depend on these exact keys.

export const LABEL_PREFIX = 'nsbackup.io/';

export const Labels = {
  /** The id of the backup run that created the snapshot. */
  backup: 'nsbackup.io/backup',
  /** The PVC the snapshot was taken of. */
  pvc: 'nsbackup.io/pvc',
  /** `scheduled` or `adhoc`. */
  type: 'nsbackup.io/type',
  /** The retention policy: `gfs`, `days` or `deltas`. A snapshot without it is not ours. */
  retain: 'nsbackup.io/retain',
  daily: 'nsbackup.io/daily',
  weekly: 'nsbackup.io/weekly',
  monthly: 'nsbackup.io/monthly',
  yearly: 'nsbackup.io/yearly',
  /** The `deltas` policy's generations, e.g. `PT1H_P1D_P7D` (ISO 8601 durations joined by `_`). */
  deltas: 'nsbackup.io/deltas',
  /** `YYYY-MM-DD`: mark-and-delete deletes the snapshot after this day. */
  deleteAfter: 'nsbackup.io/delete-after',
  /**
   * `YYYY-MM-DD`: retention keeps the snapshot at least through this day (in TZ), whatever its period labels. Ad-hoc
   * backups get it at creation (NSBACKUP_ADHOC_KEEP_DAYS, 30 by default), so a backup taken before an upgrade is not
   * marked by the next prune. It only ever keeps: a hand-set delete-after still expires the snapshot.
   */
  keepUntil: 'nsbackup.io/keep-until',
  /**
   * `true`: when retention deletes the snapshot, the backup's S3 objects are left in place and its cleanup
   * finalizer is released anyway (a bucket that moved, a store that is gone).
   */
  forgetS3: 'nsbackup.io/forget-s3',
  /** `true`: never marked, never deleted. */
  pin: 'nsbackup.io/pin',
  /** `true`: the backup that made this snapshot failed; retention never counts it as a good backup. */
  failed: 'nsbackup.io/failed',
  /**
   * How the run that made the snapshot ended (RunLabel): `in-progress` from its creation until the whole run
   * succeeded (`succeeded`) or failed (`failed`). One left `in-progress` past its `complete-by` annotation belongs
   * to a run that was killed. Snapshots of nsbackup versions before this label have none.
   */
  outcome: 'nsbackup.io/outcome',
  /** Set on every object a restore created or updated. */
  restoredFrom: 'nsbackup.io/restored-from',
} as const;

export const Annotations = {
  /** Non-secret configuration of the backup run, as JSON. */
  config: 'nsbackup.io/config',
  dumpSize: 'nsbackup.io/dump-size',
  dumpSha256: 'nsbackup.io/dump-sha256',
  dumpDuration: 'nsbackup.io/dump-duration',
  dumpPath: 'nsbackup.io/dump-path',
  version: 'nsbackup.io/version',
  /** S3 location (`s3://bucket/prefix/...`) of what this backup stored, for the sweep to delete. */
  s3Location: 'nsbackup.io/s3-location',
  /**
   * ISO 8601: the run that created the snapshot marks it succeeded before this moment or not at all, so one still
   * `in-progress` after it was left by a run that was killed (kill -9, node loss).
   */
  completeBy: 'nsbackup.io/complete-by',
} as const;

/** Values of Labels.outcome. */
export type RunLabel = 'in-progress' | 'succeeded' | 'failed';

export type RetainPolicyName = 'gfs' | 'days' | 'deltas';
export type BackupType = 'scheduled' | 'adhoc';
