// `latest`, the one definition every command uses (restore, restore-db, diff): the newest backup of a namespace
// whose run succeeded. Newest by the outcome's startedAt (ids of `nsbackup export --backup-id` need not sort by
// time, and S3's lastModified changes when a folder is copied), then by id. A folder needs its manifest (the
// files are whole) and an outcome that says the run succeeded: a run that failed after its export, or never
// finished, must never be restored by accident.

import { forEachLimited } from '../concurrency.js';
import { JobError } from '../exit.js';
import { MANIFEST_FILE, backupFolderKey } from '../resources/index.js';
import type { S3Store } from '../s3/index.js';
import { OUTCOME_FILE, readOutcome, type BackupOutcome } from '../resources/outcome.js';

/** One backup folder as the listing found it. */
export interface BackupCandidate {
  backupId: string;
  hasManifest: boolean;
  /** Undefined: no outcome record (the run did not finish, or its outcome could not be read). */
  outcome?: BackupOutcome;
  /** Why an outcome that is there could not be read (it then counts as none). */
  outcomeProblem?: string;
}

const newestFirst = (a: BackupCandidate, b: BackupCandidate): number => {
  const ta = a.outcome ? Date.parse(a.outcome.startedAt) || 0 : 0;
  const tb = b.outcome ? Date.parse(b.outcome.startedAt) || 0 : 0;
  if (ta !== tb) return tb - ta;
  return a.backupId < b.backupId ? 1 : a.backupId > b.backupId ? -1 : 0;
};

/** The newest candidate with a manifest whose run succeeded, or undefined. */
export function chooseLatestSucceeded(candidates: BackupCandidate[]): BackupCandidate | undefined {
  return candidates.filter((c) => c.hasManifest && c.outcome?.outcome === 'succeeded').sort(newestFirst)[0];
}

/** Why there is no `latest`: names the newest failed runs and the newest folders without an outcome. */
export function noSucceededBackupMessage(candidates: BackupCandidate[], where: string): string {
  const failed = candidates.filter((c) => c.outcome?.outcome === 'failed').sort(newestFirst);
  const unfinished = candidates.filter((c) => c.hasManifest && !c.outcome).sort(newestFirst);
  const parts = [`no backup whose run succeeded under ${where}`];
  if (failed.length) {
    const shown = failed.slice(0, 3).map((c) => {
      const why = c.outcome!.failures.join('; ') || 'no reason recorded';
      return `${c.backupId} (started ${c.outcome!.startedAt}: ${why.length > 200 ? `${why.slice(0, 197)}...` : why})`;
    });
    parts.push(
      `newest failed: ${shown.join(', ')}${failed.length > 3 ? ` and ${failed.length - 3} more` : ''}`,
    );
  }
  if (unfinished.length) {
    const shown = unfinished.slice(0, 3).map((c) => c.backupId);
    parts.push(
      `without an outcome record (the run did not finish, or an older nsbackup wrote it): ${shown.join(', ')}` +
        (unfinished.length > 3 ? ` and ${unfinished.length - 3} more` : ''),
    );
  }
  if (failed.length || unfinished.length) parts.push('name a backup id explicitly to use one of them anyway');
  return parts.join('; ');
}

/**
 * Every backup folder of a namespace with its manifest and outcome (outcomes read a few at a time): those with a
 * manifest or an outcome, or with `everyFolder` any folder with a key below it (a run killed before either).
 */
export async function listBackupCandidates(
  store: S3Store,
  cluster: string,
  namespace: string,
  options: { everyFolder?: boolean } = {},
): Promise<BackupCandidate[]> {
  const parent = backupFolderKey(store.location.prefix, cluster, namespace, '_').slice(0, -2);
  const found = new Map<string, { manifest: boolean; outcome: boolean }>();
  for await (const object of store.list(parent)) {
    const [id, file, ...deeper] = object.key.slice(parent.length).split('/');
    // A key directly under the namespace (the write check's probe) is no folder.
    if (!id || file === undefined) continue;
    const entry = found.get(id) ?? { manifest: false, outcome: false };
    if (!deeper.length && file === MANIFEST_FILE) entry.manifest = true;
    if (!deeper.length && file === OUTCOME_FILE) entry.outcome = true;
    found.set(id, entry);
  }
  const candidates: BackupCandidate[] = [...found]
    .filter(([, files]) => options.everyFolder || files.manifest || files.outcome)
    .map(([backupId, files]) => ({ backupId, hasManifest: files.manifest }));
  await forEachLimited(candidates, 8, async (candidate) => {
    if (!found.get(candidate.backupId)!.outcome) return;
    try {
      candidate.outcome = await readOutcome(store, `${parent}${candidate.backupId}/`);
    } catch (e) {
      // An outcome this version cannot read proves nothing: the backup counts as one without an outcome.
      candidate.outcomeProblem = (e as Error).message;
    }
  });
  return candidates;
}

/** The newest backup of the namespace whose run succeeded; a JobError saying why when there is none. */
export async function findLatestSucceededBackup(
  store: S3Store,
  cluster: string,
  namespace: string,
): Promise<{ backupId: string; outcome: BackupOutcome }> {
  const candidates = await listBackupCandidates(store, cluster, namespace);
  const where = store.url(backupFolderKey(store.location.prefix, cluster, namespace, '_').slice(0, -2));
  if (!candidates.some((c) => c.hasManifest || c.outcome)) {
    throw new JobError(`no finished backup of namespace ${namespace} (cluster ${cluster}) under ${where}`);
  }
  const latest = chooseLatestSucceeded(candidates);
  if (!latest) throw new JobError(noSucceededBackupMessage(candidates, where));
  return { backupId: latest.backupId, outcome: latest.outcome! };
}

/**
 * What a user should hear when they name a backup whose run did not succeed: it is restored as asked (the
 * manifest's checksums still protect the files), but it may not hold everything. Undefined for a succeeded run.
 */
export function outcomeWarning(backupId: string, outcome: BackupOutcome | undefined): string | undefined {
  if (!outcome) {
    return (
      `backup ${backupId} has no outcome record (its run did not finish, or an older nsbackup made it); ` +
      'used because it was named explicitly: its files are verified, but it may be incomplete'
    );
  }
  if (outcome.outcome === 'succeeded') return undefined;
  const why = outcome.failures.join('; ') || 'no reason recorded';
  return (
    `backup ${backupId} comes from a run that failed (${why.length > 300 ? `${why.slice(0, 297)}...` : why}); ` +
    'used because it was named explicitly: its files are verified, but it may be incomplete'
  );
}
