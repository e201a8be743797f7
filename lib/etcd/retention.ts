// Retention of etcd backups in S3, by the same pure planner as the S3-only namespace backups
// (lib/retention/folders.ts): the labels are derived each run from the backup times alone, the newest backup is
// never deleted, and the safety valve refuses a run that would delete too many at once.
import { createdAtOfId } from '../naming.js';
import { planFolderRetention, type FolderBackup, type GfsKeep, type Refusal } from '../retention/index.js';

export { createdAtOfId };

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

/** `ids`: the finished backups of one cluster. Ids nsbackup did not make are never touched. */
export function planEtcdRetention(ids: readonly string[], options: EtcdRetentionOptions): EtcdRetentionPlan {
  const retain: FolderBackup['retain'] =
    options.policy === 'days' ? { policy: 'days', days: options.retainDays } : { policy: 'gfs' };
  const backups: FolderBackup[] = [];
  for (const id of ids) {
    const createdAt = createdAtOfId(id);
    if (createdAt !== undefined) backups.push({ id, createdAt, failed: false, retain });
  }
  const plan = planFolderRetention(backups, {
    keep: options.keep,
    now: options.now,
    timeZone: options.timeZone,
    failedGraceDays: 0,
    maxDeleteShare: options.maxDeleteShare,
    maxDeleteCount: options.maxDeleteCount,
    force: false,
    namespace: '_etcd',
    group: 'etcd',
  });
  return { deletions: plan.deletions.map((d) => d.id), refusals: plan.refusals, refused: plan.refused };
}
