// The writes retention makes, each one request (or a read and a request), each guarded by the
// resourceVersion the decision was made on: a snapshot someone changed since it was listed (pinned it,
// took its delete-after away) is left for the next run to decide on again.
import {
  isConflict,
  KubeApiError,
  isNotFound,
  volumeSnapshotContentPath,
  volumeSnapshotPath,
  type KubeClient,
  type KubeObject,
} from '../kube/index.js';
import { S3_CLEANUP_FINALIZER, type SnapshotInfo } from './snapshots.js';

/** `changed`: the snapshot is not the one the decision was made on; `gone`: it no longer exists. */
export type WriteResult = { outcome: 'done'; resourceVersion: string } | { outcome: 'changed' | 'gone' };

const pathOf = (info: SnapshotInfo) => volumeSnapshotPath(info.record.namespace, info.record.name);

/** Merge patch of labels; a `null` value removes the label. */
export async function patchLabels(
  kube: KubeClient,
  info: SnapshotInfo,
  labels: Record<string, string | null>,
): Promise<WriteResult> {
  return guarded(() =>
    kube.mergePatch(pathOf(info), { metadata: { resourceVersion: info.resourceVersion, labels } }),
  );
}

export async function addCleanupFinalizer(kube: KubeClient, info: SnapshotInfo): Promise<WriteResult> {
  if (info.finalizers.includes(S3_CLEANUP_FINALIZER))
    return { outcome: 'done', resourceVersion: info.resourceVersion };
  const finalizers = [...info.finalizers, S3_CLEANUP_FINALIZER];
  return guarded(() =>
    kube.mergePatch(pathOf(info), { metadata: { resourceVersion: info.resourceVersion, finalizers } }),
  );
}

/** Removes our finalizer, re-reading on conflicts (the snapshot controller edits finalizers too). */
export async function removeCleanupFinalizer(kube: KubeClient, info: SnapshotInfo): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await kube.getIfExists(pathOf(info));
    const finalizers: string[] = current?.metadata.finalizers ?? [];
    if (!current || !finalizers.includes(S3_CLEANUP_FINALIZER)) return;
    try {
      await kube.mergePatch(pathOf(info), {
        metadata: {
          resourceVersion: current.metadata.resourceVersion,
          finalizers: finalizers.filter((f) => f !== S3_CLEANUP_FINALIZER),
        },
      });
      return;
    } catch (error) {
      if (isNotFound(error)) return;
      if (!isConflict(error) || attempt >= 5) throw error;
    }
  }
}

/**
 * Deletes the snapshot if it is still at `resourceVersion`. `done` also when it only got a
 * deletionTimestamp (finalizers pending): from here on it is being deleted.
 */
export async function deleteSnapshot(
  kube: KubeClient,
  info: SnapshotInfo,
  resourceVersion: string,
): Promise<WriteResult> {
  try {
    await kube.request('DELETE', pathOf(info), {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion } },
    });
    return { outcome: 'done', resourceVersion };
  } catch (error) {
    if (isNotFound(error)) return { outcome: 'gone' };
    if (!isConflict(error)) throw error;
    // A retried DELETE whose first attempt did reach the server also conflicts: look before deciding.
    const current = await kube.getIfExists(pathOf(info));
    if (!current) return { outcome: 'gone' };
    if (current.metadata.deletionTimestamp)
      return { outcome: 'done', resourceVersion: current.metadata.resourceVersion };
    return { outcome: 'changed' };
  }
}

export type ContentResult = 'patched' | 'already-delete' | 'none' | 'not-bound-here' | 'not-permitted';

/**
 * Sets the bound VolumeSnapshotContent's deletionPolicy to Delete, so deleting the VolumeSnapshot frees
 * the storage. A content whose volumeSnapshotRef names another snapshot is left alone.
 */
export async function releaseContent(kube: KubeClient, info: SnapshotInfo): Promise<ContentResult> {
  if (!info.contentName) return 'none';
  const path = volumeSnapshotContentPath(info.contentName);
  let content: KubeObject | undefined;
  try {
    content = await kube.getIfExists<KubeObject>(path);
  } catch (error) {
    // Contents are cluster-scoped; an install without that ClusterRole (chart: prune.snapshotContents=false)
    // deletes the VolumeSnapshot and leaves a Retain content to an administrator.
    if (error instanceof KubeApiError && error.code === 403) return 'not-permitted';
    throw error;
  }
  if (!content) return 'none';
  const ref = content.spec?.volumeSnapshotRef ?? {};
  const boundHere =
    ref.namespace === info.record.namespace &&
    ref.name === info.record.name &&
    (info.uid === undefined || ref.uid === undefined || ref.uid === info.uid);
  if (!boundHere) return 'not-bound-here';
  if (content.spec?.deletionPolicy === 'Delete') return 'already-delete';
  await kube.mergePatch(path, { spec: { deletionPolicy: 'Delete' } });
  return 'patched';
}

async function guarded(write: () => Promise<KubeObject>): Promise<WriteResult> {
  try {
    const result = await write();
    return { outcome: 'done', resourceVersion: result.metadata?.resourceVersion ?? '' };
  } catch (error) {
    if (isNotFound(error)) return { outcome: 'gone' };
    if (isConflict(error)) return { outcome: 'changed' };
    throw error;
  }
}
