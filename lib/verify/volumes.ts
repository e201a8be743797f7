// `nsbackup verify`, the volume data of a backup (its manifest's `volumes`, copied by restic to the namespace's
// repository): each PVC's snapshot must still be in the repository with the tags of this backup (a forget, a prune or
// a repository replaced by hand would make the restore fail on the day), and `restic check` reads a slice of the
// repository's data, as `nsbackup volume-check` does, through the same Repository.check. The decisions are pure; the
// restic calls are the Repository's.
import type { ManifestVolume } from '../resources/index.js';
import type { VolumeSnapshotCheck, VolumesVerification } from './integrity.js';
import { JobError } from '../exit.js';
import { openLocalRepository, sliceOfDay, type LocalRepositoryInput } from '../volumes/local-repo.js';
import type { Repository } from '../volumes/repo-ops.js';
import type { ResticSnapshot } from '../volumes/restic-output.js';

export interface DataSubset {
  n: number;
  of: number;
}

/**
 * NSBACKUP_VERIFY_DATA_SUBSET: `N/M` reads slice N of M every time; `M` alone reads today's slice of M, so that a
 * nightly verify reads a different 1/M of the data each night and all of it every M days. Undefined when N > M.
 */
export function dataSubsetOf(text: string, now: Date): DataSubset | undefined {
  const [a, b] = text.split('/').map(Number);
  if (b === undefined) return sliceOfDay(now, a);
  return a >= 1 && a <= b ? { n: a, of: b } : undefined;
}

/**
 * Each volume of the manifest against the repository's snapshots: found when a snapshot has its id (the full id,
 * or restic 0.14's short one as older manifests may hold) and carries this namespace's, this PVC's and this
 * backup's tags. A snapshot with the id but other tags is reported as such: restoring it would bring another
 * volume's data back.
 */
export function snapshotChecks(
  volumes: readonly ManifestVolume[],
  snapshots: readonly ResticSnapshot[],
  ref: { namespace: string; backupId: string },
): VolumeSnapshotCheck[] {
  return volumes.map((v) => {
    const base = { pvc: v.pvc, resticSnapshotId: v.resticSnapshotId };
    const found = snapshots.find((s) => s.id === v.resticSnapshotId || s.shortId === v.resticSnapshotId);
    if (!found) {
      const other = snapshots.find(
        (s) => s.namespace === ref.namespace && s.pvc === v.pvc && s.backupId === ref.backupId,
      );
      return {
        ...base,
        ok: false,
        problem:
          `restic snapshot ${v.resticSnapshotId.slice(0, 8)} of PVC ${v.pvc} is not in the repository` +
          (other ? ` (another snapshot, ${other.shortId}, carries this backup's tags)` : ''),
      };
    }
    const wrong = [
      found.namespace !== ref.namespace && `namespace ${found.namespace}`,
      found.pvc !== v.pvc && `PVC ${found.pvc}`,
      found.backupId !== ref.backupId && `backup ${found.backupId}`,
    ].filter(Boolean);
    return wrong.length
      ? {
          ...base,
          ok: false,
          problem: `restic snapshot ${found.shortId} of PVC ${v.pvc} is tagged with ${wrong.join(', ')}, not this backup's`,
        }
      : { ...base, ok: true };
  });
}

export interface VolumesCheckInput {
  /** The namespace's repository, opened (undefined with the reason when it could not be). */
  repo: Repository | { problem: string };
  repository?: string;
  volumes: readonly ManifestVolume[];
  namespace: string;
  backupId: string;
  subset: DataSubset;
}

/** The snapshots of the manifest looked up, then the repository checked; every failure recorded, none thrown. */
export async function verifyVolumes(input: VolumesCheckInput): Promise<VolumesVerification> {
  const started = performance.now();
  const done = (v: Omit<VolumesVerification, 'durationMs'>): VolumesVerification => ({
    ...v,
    ...(input.repository ? { repository: input.repository } : {}),
    durationMs: Math.round(performance.now() - started),
  });
  const notChecked = (problem: string) =>
    input.volumes.map((v) => ({
      pvc: v.pvc,
      resticSnapshotId: v.resticSnapshotId,
      ok: false,
      problem: `PVC ${v.pvc} not checked: ${problem}`,
    }));
  if ('problem' in input.repo)
    return done({ ok: false, snapshots: notChecked(input.repo.problem), problem: input.repo.problem });
  const repo = input.repo;
  let snapshots: ResticSnapshot[];
  try {
    if (!(await repo.exists())) {
      const problem = `no restic repository at ${input.repository ?? 'the configured location'}`;
      return done({ ok: false, snapshots: notChecked(problem), problem });
    }
    snapshots = await repo.allSnapshots();
  } catch (e) {
    const problem = (e as Error).message;
    return done({ ok: false, snapshots: notChecked(problem), problem });
  }
  const found = snapshotChecks(input.volumes, snapshots, input);
  const subset = `${input.subset.n}/${input.subset.of}`;
  let check: NonNullable<VolumesVerification['check']>;
  try {
    await repo.check(input.subset);
    check = { subset, ok: true };
  } catch (e) {
    check = { subset, ok: false, problem: (e as Error).message };
  }
  return done({ ok: found.every((s) => s.ok) && check.ok, snapshots: found, check });
}

/**
 * The namespace's repository opened here, as volume-check opens it (password from the Secret through the API, restic
 * run by this process), or the reason it cannot be: without NSBACKUP_RESTIC_SECRET the volume data is reported
 * unchecked and the verify fails, rather than calling a backup verified whose volumes nobody looked at.
 */
export async function openVerifyRepository(
  input: Omit<LocalRepositoryInput, 'secret'> & { secret: string },
): Promise<{ repo: Repository | { problem: string }; repository?: string }> {
  if (!input.secret)
    return {
      repo: {
        problem:
          'the backup holds volume data, and NSBACKUP_RESTIC_SECRET (the restic password Secret) is not set',
      },
    };
  try {
    const { repo, location } = await openLocalRepository(input);
    return { repo, repository: location };
  } catch (e) {
    if (e instanceof JobError) return { repo: { problem: e.message } };
    throw e;
  }
}
