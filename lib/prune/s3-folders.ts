// Which S3 folder a snapshot's backup stored its files in, and when that folder may go: one backup run
// snapshots several PVCs, so the folder is deleted with the last snapshot that refers to it.
import { Labels } from '../labels.js';
import type { SnapshotInfo } from '../snapshots/list.js';

export interface S3Folder {
  bucket: string;
  /** Key prefix ending in `/`. */
  key: string;
}

/** The configured layout `<prefix>/<cluster>/<namespace>/<backup id>/`; undefined when S3 is not configured. */
export interface S3Layout {
  bucket: string;
  prefix: string;
  cluster: string;
}

export type FolderLookup = { folders: S3Folder[]; problem?: string };

/**
 * From the annotation `nsbackup.io/s3-location` (comma-separated `s3://bucket/<prefix>/<cluster>/<namespace>/
 * <backup id>/[file]` locations, as backup writes it), else from the label `nsbackup.io/backup` and the
 * configured layout. Each folder must end in the snapshot's namespace and backup id: a hand-edited or
 * foreign annotation never widens a deletion to other backups or another tenant's namespace.
 */
export function s3FoldersOf(info: SnapshotInfo, layout: S3Layout | undefined): FolderLookup {
  const { namespace, labels } = info.record;
  const backupId = labels[Labels.backup];
  if (info.s3Location) {
    const folders = new Map<string, S3Folder>();
    for (const location of info.s3Location
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean)) {
      const lookup = folderFromLocation(location, namespace, backupId);
      if ('problem' in lookup) return { folders: [], problem: lookup.problem };
      folders.set(folderId(lookup.folder), lookup.folder);
    }
    return { folders: [...folders.values()] };
  }
  if (!backupId || !layout) return { folders: [] };
  const key = [layout.prefix, layout.cluster, namespace, backupId].filter(Boolean).join('/') + '/';
  return { folders: [{ bucket: layout.bucket, key }] };
}

function folderFromLocation(
  location: string,
  namespace: string,
  backupId: string | undefined,
): { folder: S3Folder } | { problem: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(location);
  const refuse = (why: string) => ({ problem: `s3-location "${location}" ${why}: S3 objects not deleted` });
  if (!match) return refuse('is not s3://bucket/key');
  const segments = match[2].split('/').filter(Boolean);
  let end = segments.length;
  if (backupId) {
    end = segments.lastIndexOf(backupId) + 1;
    if (end === 0) return refuse(`does not contain the backup id ${backupId}`);
  } else if (!location.endsWith('/')) {
    return refuse('is not a folder (no trailing /) and the snapshot has no backup id');
  }
  if (end < 3) return refuse('is shorter than <cluster>/<namespace>/<backup id>');
  if (segments[end - 2] !== namespace) return refuse(`is not in this snapshot's namespace ${namespace}`);
  return { folder: { bucket: match[1], key: segments.slice(0, end).join('/') + '/' } };
}

export const folderId = (folder: S3Folder): string => `${folder.bucket}/${folder.key}`;
const snapshotId = (info: SnapshotInfo): string => `${info.record.namespace}/${info.record.name}`;

/**
 * Live snapshots per S3 folder. Every snapshot counts, ours or not, failed or not: while any of them
 * remains, the folder is someone's backup. Snapshots already being deleted do not count.
 */
export class FolderReferences {
  private readonly refs = new Map<string, Set<string>>();

  constructor(infos: readonly SnapshotInfo[], layout: S3Layout | undefined) {
    for (const info of infos) {
      if (info.terminating) continue;
      for (const folder of s3FoldersOf(info, layout).folders) {
        const id = folderId(folder);
        const set = this.refs.get(id) ?? new Set<string>();
        set.add(snapshotId(info));
        this.refs.set(id, set);
      }
    }
  }

  /** True when `info` is the only live snapshot left that refers to `folder`. */
  isLast(folder: S3Folder, info: SnapshotInfo): boolean {
    const set = this.refs.get(folderId(folder));
    return !set || (set.size === 1 && set.has(snapshotId(info)));
  }

  /** True when no live snapshot refers to `folder`. */
  isUnreferenced(folder: S3Folder): boolean {
    return (this.refs.get(folderId(folder))?.size ?? 0) === 0;
  }

  forget(folder: S3Folder, info: SnapshotInfo): void {
    this.refs.get(folderId(folder))?.delete(snapshotId(info));
  }
}
