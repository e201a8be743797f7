// How a backup run ended, stored beside its manifest as `outcome.json`. The manifest proves the stored files are
// whole; the outcome says whether the run that wrote them succeeded. `latest` only ever means the newest backup
// whose run succeeded: a run that failed after its export (a snapshot error, types it could not read) leaves a
// folder that looks finished but must never be restored by accident.

import type { BackupType } from '../labels.js';
import type { RetainSpec } from '../retention/index.js';
import type { S3Store } from '../s3/index.js';
import type { ManifestVolume } from './manifest.js';

export const OUTCOME_FILE = 'outcome.json';

export interface BackupOutcome {
  formatVersion: 1;
  backupId: string;
  outcome: 'succeeded' | 'failed';
  /** When the run started (the folder's time; ids of `nsbackup export --backup-id` need not sort by time). */
  startedAt: string;
  finishedAt: string;
  /** Why the run failed, one line per problem (no secrets: these are the run's own error messages). */
  failures: string[];
  /** Volume data the run stored with restic (NSBACKUP_PVC_DATA), per PVC. */
  volumes?: ManifestVolume[];
  /**
   * The VolumeSnapshots the run created (every one whose create was sent, so none that may exist is missing).
   * Empty: the backup is S3-only, and mark-and-delete expires its folder by its own record (lib/prune/s3-only.ts);
   * otherwise the folder goes with its last snapshot. Absent: written by a version before it, never expired by this.
   */
  snapshots?: string[];
  /** Scheduled or ad-hoc, as on the run's snapshots. */
  type?: BackupType;
  /** The run's retention policy, as its snapshots' labels record it. */
  retain?: RetainSpec;
  /** `YYYY-MM-DD` in the backup's TZ: an ad-hoc backup is kept at least through this day (its snapshots' keep-until). */
  keepUntil?: string;
}

export async function writeOutcome(store: S3Store, folderKey: string, outcome: BackupOutcome): Promise<void> {
  await store.upload(folderKey + OUTCOME_FILE, JSON.stringify(outcome, null, 2) + '\n', 'application/json');
}

/** The outcome of the backup in `folderKey`, or undefined when the run never recorded one (it did not finish). */
export async function readOutcome(store: S3Store, folderKey: string): Promise<BackupOutcome | undefined> {
  const key = folderKey + OUTCOME_FILE;
  const text = await store.downloadTextIfExists(key);
  if (text === undefined) return undefined;
  const parsed = JSON.parse(text) as Partial<BackupOutcome>;
  if (
    parsed?.formatVersion !== 1 ||
    (parsed.outcome !== 'succeeded' && parsed.outcome !== 'failed') ||
    typeof parsed.startedAt !== 'string'
  ) {
    throw new Error(`${store.url(key)} is not a backup outcome this version understands`);
  }
  return { failures: [], ...parsed } as BackupOutcome;
}
