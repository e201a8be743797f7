// Where a namespace's volume data lives and how its restic snapshots are named. Pure.
//
// One restic repository per namespace, beside the namespace's backup folders and never inside one:
// `<prefix>/<cluster>/<namespace>.restic/`. The backup folders are `<prefix>/<cluster>/<namespace>/<id>/`, so
// retention's folder deletion (a backup's prefix) can never reach the repository, and a namespace (no dots
// allowed) can never be called `<namespace>.restic`.
//
// Every snapshot carries three tags, and every selection names all the tags it depends on: a restore or a forget
// that matched on the PVC alone could take another namespace's or another backup's data (k8up's reports).

import type { S3Location } from '../s3/index.js';

export const REPOSITORY_SUFFIX = '.restic';
/** Where the volume is mounted in a mover pod; snapshots hold its contents at their root. */
export const MOVER_MOUNT_PATH = '/data';

export interface VolumeRef {
  namespace: string;
  pvc: string;
}

export interface SnapshotRef extends VolumeRef {
  backupId: string;
}

/** The repository's key prefix in the bucket (no trailing slash). */
export function repositoryKey(location: S3Location, cluster: string, namespace: string): string {
  for (const [what, value] of [
    ['cluster', cluster],
    ['namespace', namespace],
  ]) {
    if (!value || value.includes('/')) throw new Error(`${what} "${value}" cannot be part of an S3 key`);
  }
  return [...location.prefix.split('/').filter(Boolean), cluster, namespace + REPOSITORY_SUFFIX].join('/');
}

/**
 * restic's repository string: `s3:<endpoint>/<bucket>/<key>`. Without a custom endpoint, AWS's. A plain-HTTP
 * endpoint is passed as given (restic's minio client then talks HTTP).
 */
export function repositoryUrl(location: S3Location, cluster: string, namespace: string): string {
  const endpoint = (location.endpoint ?? 's3.amazonaws.com').replace(/\/+$/, '');
  return `s3:${endpoint}/${location.bucket}/${repositoryKey(location, cluster, namespace)}`;
}

/** `s3://bucket/key`, for logs and records. */
export function repositoryLocation(location: S3Location, cluster: string, namespace: string): string {
  return `s3://${location.bucket}/${repositoryKey(location, cluster, namespace)}/`;
}

export const TAG_NAMESPACE = 'nsbackup-namespace=';
export const TAG_PVC = 'nsbackup-pvc=';
export const TAG_BACKUP = 'nsbackup-backup=';

/** The tags of one backup of one PVC. restic's tags may hold any character but the comma. */
export function snapshotTags(ref: SnapshotRef): string[] {
  for (const v of [ref.namespace, ref.pvc, ref.backupId])
    if (!v || v.includes(',')) throw new Error(`"${v}" cannot be a restic tag value`);
  return [TAG_NAMESPACE + ref.namespace, TAG_PVC + ref.pvc, TAG_BACKUP + ref.backupId];
}

/**
 * The tag filter (one `--tag` value: every tag must match) selecting one PVC's snapshots, or one backup of it.
 * Never fewer tags than namespace and PVC.
 */
export function tagFilter(ref: VolumeRef & { backupId?: string }): string {
  const tags = [TAG_NAMESPACE + ref.namespace, TAG_PVC + ref.pvc];
  if (ref.backupId) tags.push(TAG_BACKUP + ref.backupId);
  return tags.join(',');
}

/**
 * The host name restic records. restic 0.14 picks a backup's parent (whose unchanged files it does not read again)
 * among snapshots of the same host and paths, and every mover mounts at the same path: one host per PVC keeps the
 * parent of `data` from ever being a snapshot of `uploads`.
 */
export function snapshotHost(ref: VolumeRef): string {
  return `nsbackup.${ref.namespace}.${ref.pvc}`;
}

/** The three tags read back from a snapshot (undefined when one is missing: not ours). */
export function refOfTags(tags: readonly string[] | undefined): SnapshotRef | undefined {
  const pick = (prefix: string) => tags?.find((t) => t.startsWith(prefix))?.slice(prefix.length);
  const namespace = pick(TAG_NAMESPACE);
  const pvc = pick(TAG_PVC);
  const backupId = pick(TAG_BACKUP);
  return namespace && pvc && backupId ? { namespace, pvc, backupId } : undefined;
}
