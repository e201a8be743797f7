// How a backup run ended, stored beside its manifest as `outcome.json`. The manifest proves the stored files are
// whole; the outcome says whether the run that wrote them succeeded. `latest` only ever means the newest backup
// whose run succeeded: a run that failed after its export (a snapshot error, types it could not read) leaves a
// folder that looks finished but must never be restored by accident.

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
}

export async function writeOutcome(store: S3Store, folderKey: string, outcome: BackupOutcome): Promise<void> {
  await store.upload(folderKey + OUTCOME_FILE, JSON.stringify(outcome, null, 2) + '\n', 'application/json');
}

/** The outcome of the backup in `folderKey`, or undefined when the run never recorded one (it did not finish). */
export async function readOutcome(store: S3Store, folderKey: string): Promise<BackupOutcome | undefined> {
  const key = folderKey + OUTCOME_FILE;
  if (!(await store.exists(key))) return undefined;
  const parsed = JSON.parse(await store.downloadText(key)) as Partial<BackupOutcome>;
  if (
    parsed?.formatVersion !== 1 ||
    (parsed.outcome !== 'succeeded' && parsed.outcome !== 'failed') ||
    typeof parsed.startedAt !== 'string'
  ) {
    throw new Error(`${store.url(key)} is not a backup outcome this version understands`);
  }
  return { failures: [], ...parsed } as BackupOutcome;
}
