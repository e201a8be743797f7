// The argv of every restic command nsbackup runs. Pure. User values are separate arguments, never parts of a
// shell string; the password is never an argument (restic reads RESTIC_PASSWORD from the environment).

import { MOVER_MOUNT_PATH, snapshotHost, snapshotTags, tagFilter } from './repository.js';
import type { SnapshotRef, VolumeRef } from './repository.js';

export interface ResticGlobal {
  /** restic's repository string (repository.ts). */
  repository: string;
  /** A CA bundle for an S3 endpoint with a private certificate. */
  cacert?: string;
  /** restic's local cache (index and tree blobs); a writable folder. */
  cacheDir?: string;
}

function globalArgs(g: ResticGlobal): string[] {
  return [
    '--repo',
    g.repository,
    ...(g.cacert ? ['--cacert', g.cacert] : []),
    ...(g.cacheDir ? ['--cache-dir', g.cacheDir] : []),
  ];
}

/** Exits 0 when the repository exists and the password opens it. */
export const catConfigArgs = (g: ResticGlobal) => [...globalArgs(g), 'cat', 'config'];

export const initArgs = (g: ResticGlobal) => [...globalArgs(g), 'init'];

/**
 * Backs up the current directory (the mover runs in the mount path, so the snapshot holds the volume's files at
 * its root); `--json --quiet` prints only the summary line.
 */
export function backupArgs(g: ResticGlobal, ref: SnapshotRef): string[] {
  return [
    ...globalArgs(g),
    'backup',
    '--json',
    '--quiet',
    '--host',
    snapshotHost(ref),
    ...snapshotTags(ref).flatMap((t) => ['--tag', t]),
    '.',
  ];
}

/** Restores a snapshot (by full id) into `target`. */
export function restoreArgs(g: ResticGlobal, snapshotId: string, target = MOVER_MOUNT_PATH): string[] {
  if (!/^[0-9a-f]{8,64}$/.test(snapshotId)) throw new Error(`"${snapshotId}" is not a restic snapshot id`);
  return [...globalArgs(g), 'restore', snapshotId, '--target', target];
}

/** Snapshots of one PVC (or one backup of it), as JSON. */
export function snapshotsArgs(g: ResticGlobal, ref: VolumeRef & { backupId?: string }): string[] {
  return [...globalArgs(g), 'snapshots', '--json', '--tag', tagFilter(ref)];
}

/** Every snapshot of the repository, as JSON (prune and check list them to know what a repository holds). */
export const allSnapshotsArgs = (g: ResticGlobal) => [...globalArgs(g), 'snapshots', '--json'];

/** Size of a snapshot as restored (`restore-size` mode: file sizes, hard links counted once). */
export function statsArgs(g: ResticGlobal, snapshotId: string): string[] {
  return [...globalArgs(g), 'stats', '--json', '--mode', 'restore-size', snapshotId];
}

/** Forgets snapshots by id (the ids come from a tag selection; nothing is forgotten by a policy of restic's). */
export function forgetArgs(g: ResticGlobal, snapshotIds: readonly string[]): string[] {
  return [...globalArgs(g), 'forget', ...snapshotIds];
}

/** Removes locks whose holder is gone: restic's own staleness rules (30 min, or a dead process on this host). */
export const unlockArgs = (g: ResticGlobal) => [...globalArgs(g), 'unlock'];

/** Drops data no snapshot references; `maxRepackSize` bounds the work (and the temporary space) of one run. */
export function pruneArgs(g: ResticGlobal, opts: { maxRepackSize?: string } = {}): string[] {
  return [
    ...globalArgs(g),
    'prune',
    ...(opts.maxRepackSize ? ['--max-repack-size', opts.maxRepackSize] : []),
  ];
}

/** Checks the repository's structure and reads slice `n` of `of` of its data packs. */
export function checkArgs(g: ResticGlobal, slice: { n: number; of: number }): string[] {
  if (!(slice.n >= 1 && slice.n <= slice.of)) throw new Error(`slice ${slice.n}/${slice.of} is out of range`);
  return [...globalArgs(g), 'check', `--read-data-subset=${slice.n}/${slice.of}`];
}
