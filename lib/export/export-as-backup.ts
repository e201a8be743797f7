// `nsbackup export` to S3 is a backup run of its own: the export under a backup id, then its outcome beside the
// manifest (failed when types could not be read), so that `latest` never picks an export that is missing something.
// It makes no VolumeSnapshot, so mark-and-delete expires it as an S3-only backup: an ad-hoc one (a person ran it),
// under gfs, kept at least NSBACKUP_ADHOC_KEEP_DAYS (as an ad-hoc backup is), so an export taken before an upgrade
// is not the next night's deletion.
import { backupIdFor } from '../naming.js';
import { writeOutcome } from '../resources/outcome.js';
import { adhocKeepUntil } from '../retention/index.js';
import { exportNamespaceToS3, type ExportToS3Input, type ExportToS3Result } from './s3-export.js';

/** Exports under `backupId` (a new one when absent) and records the outcome; returns what failed, if anything. */
export async function exportAsBackup(
  input: Omit<ExportToS3Input, 'backupId'> & {
    backupId?: string;
    /** Days it is kept at least (NSBACKUP_ADHOC_KEEP_DAYS); 0: retention alone decides. */
    keepDays: number;
  },
): Promise<{ result: ExportToS3Result; failures: string[] }> {
  const startedAt = new Date();
  const backupId = input.backupId || backupIdFor(startedAt);
  const result = await exportNamespaceToS3({ ...input, backupId });
  // In UTC: export reads no TZ; a day's difference at most against the pruner's zone.
  const keepUntil = adhocKeepUntil('adhoc', startedAt.toISOString(), 'UTC', input.keepDays);
  // Only an export that wrote its manifest gets an outcome; one that threw left no finished backup.
  const failures = result.stats.skipped.map((s) => `not exported: ${s.what} (${s.reason})`);
  await writeOutcome(input.store, result.folderKey, {
    formatVersion: 1,
    backupId,
    outcome: failures.length ? 'failed' : 'succeeded',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    failures,
    snapshots: [],
    type: 'adhoc',
    retain: { policy: 'gfs' },
    ...(keepUntil ? { keepUntil } : {}),
  });
  if (failures.length) {
    input.log.error('export incomplete: the backup is stored but marked failed, so latest skips it', {
      failures,
    });
  }
  return { result, failures };
}
