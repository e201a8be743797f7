// The writes retention makes, each one request (or a read and a request), each guarded by the
// resourceVersion the decision was made on: a snapshot someone changed since it was listed (pinned it,
// took its delete-after away) is left for the next run to decide on again. A snapshot whose labels are as
// listed was only moved by the snapshot controller (status, its finalizers): the write is made again on it.
import {
  isConflict,
  KubeApiError,
  isNotFound,
  volumeSnapshotContentPath,
  volumeSnapshotPath,
  type KubeClient,
  type KubeObject,
} from '../kube/index.js';
import { S3_CLEANUP_FINALIZER, type SnapshotInfo } from '../snapshots/list.js';

/** `changed`: the snapshot is not the one the decision was made on; `gone`: it no longer exists. */
export type WriteResult = { outcome: 'done'; resourceVersion: string } | { outcome: 'changed' | 'gone' };

const pathOf = (info: SnapshotInfo) => volumeSnapshotPath(info.record.namespace, info.record.name);

/** Merge patch of labels; a `null` value removes the label. */
export async function patchLabels(
  kube: KubeClient,
  info: SnapshotInfo,
  labels: Record<string, string | null>,
): Promise<WriteResult> {
  const wanted = withLabels(info.record.labels, labels);
  return guarded(
    kube,
    info,
    (base) => kube.mergePatch(pathOf(info), { metadata: { resourceVersion: base.resourceVersion, labels } }),
    (current) => sameLabels(current.metadata.labels, wanted),
  );
}

/**
 * Adds our finalizer, so the snapshot outlives its deletion until its S3 folder is gone. A snapshot already
 * being deleted cannot get a new finalizer (the API server answers 422): it is `gone` for the sweep (it goes
 * whatever we do), or `done` if it already carries ours.
 */
export async function addCleanupFinalizer(kube: KubeClient, info: SnapshotInfo): Promise<WriteResult> {
  if (info.finalizers.includes(S3_CLEANUP_FINALIZER))
    return { outcome: 'done', resourceVersion: info.resourceVersion };
  if (info.terminating) return { outcome: 'gone' };
  return guarded(
    kube,
    info,
    // The list as it is now: the snapshot controller adds finalizers of its own, which a merge patch would drop.
    (base) =>
      kube.mergePatch(pathOf(info), {
        metadata: {
          resourceVersion: base.resourceVersion,
          finalizers: [...base.finalizers, S3_CLEANUP_FINALIZER],
        },
      }),
    (current) =>
      (current.metadata.finalizers ?? []).includes(S3_CLEANUP_FINALIZER) &&
      sameLabels(current.metadata.labels, info.record.labels),
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
  return guarded(
    kube,
    info,
    (base) =>
      kube.request('DELETE', pathOf(info), {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          preconditions: { resourceVersion: base.resourceVersion },
        },
      }),
    // A retried DELETE whose first attempt did reach the server conflicts too: being deleted is done.
    (current) => Boolean(current.metadata.deletionTimestamp),
    resourceVersion,
  );
}

/** Writes retried on the controllers' changes; a snapshot still moving after that many is left for the next run. */
const MAX_ATTEMPTS = 5;

/**
 * The snapshot moved since it was listed, but not what the decision rests on: its labels (pin, delete-after, the
 * period labels) are as listed. The snapshot controller updates a snapshot all the time (status, its finalizers,
 * annotations; it adds a finalizer the moment its content's policy becomes Delete), so a change of version alone
 * says nothing about a person pinning it.
 */
function onlyControllersMoved(current: KubeObject, info: SnapshotInfo): boolean {
  return sameLabels(current.metadata.labels, info.record.labels);
}

export type ContentResult =
  | { outcome: 'patched'; previousPolicy: string | undefined }
  | { outcome: 'already-delete' | 'none' | 'not-bound-here' | 'not-permitted' };

/**
 * Sets the bound VolumeSnapshotContent's deletionPolicy to Delete, so deleting the VolumeSnapshot frees
 * the storage. A content whose volumeSnapshotRef names another snapshot is left alone.
 */
export async function releaseContent(kube: KubeClient, info: SnapshotInfo): Promise<ContentResult> {
  if (!info.contentName) return { outcome: 'none' };
  const path = volumeSnapshotContentPath(info.contentName);
  let content: KubeObject | undefined;
  try {
    content = await kube.getIfExists<KubeObject>(path);
  } catch (error) {
    // Contents are cluster-scoped; an install without that ClusterRole (chart: prune.snapshotContents=false)
    // deletes the VolumeSnapshot and leaves a Retain content to an administrator.
    if (error instanceof KubeApiError && error.code === 403) return { outcome: 'not-permitted' };
    throw error;
  }
  if (!content) return { outcome: 'none' };
  if (!boundTo(content, info)) return { outcome: 'not-bound-here' };
  if (content.spec?.deletionPolicy === 'Delete') return { outcome: 'already-delete' };
  await kube.mergePatch(path, { spec: { deletionPolicy: 'Delete' } });
  return { outcome: 'patched', previousPolicy: content.spec?.deletionPolicy };
}

/**
 * Puts the bound content's deletionPolicy back to `previousPolicy` after the sweep set it to Delete and then
 * did not delete the snapshot (it changed since it was listed, e.g. was pinned, or its deletion failed). Left
 * on Delete, the storage of a snapshot that is now kept would go with it whenever anyone deletes it.
 * `not-needed` when the snapshot is gone or being deleted after all (Delete is then what the sweep wanted), or
 * the content no longer says Delete (someone else decided).
 */
export async function restoreContentPolicy(
  kube: KubeClient,
  info: SnapshotInfo,
  previousPolicy: string | undefined,
): Promise<'restored' | 'not-needed'> {
  if (!info.contentName) return 'not-needed';
  const path = volumeSnapshotContentPath(info.contentName);
  for (let attempt = 1; ; attempt++) {
    const snapshot = await kube.getIfExists(pathOf(info));
    if (!snapshot || snapshot.metadata.deletionTimestamp || (info.uid && snapshot.metadata.uid !== info.uid))
      return 'not-needed';
    const content = await kube.getIfExists<KubeObject>(path);
    if (!content || !boundTo(content, info) || content.spec?.deletionPolicy !== 'Delete') return 'not-needed';
    try {
      await kube.mergePatch(path, {
        metadata: { resourceVersion: content.metadata.resourceVersion },
        spec: { deletionPolicy: previousPolicy ?? null },
      });
      return 'restored';
    } catch (error) {
      if (isNotFound(error)) return 'not-needed';
      if (!isConflict(error) || attempt >= 5) throw error;
    }
  }
}

function boundTo(content: KubeObject, info: SnapshotInfo): boolean {
  const ref = content.spec?.volumeSnapshotRef ?? {};
  return (
    ref.namespace === info.record.namespace &&
    ref.name === info.record.name &&
    (info.uid === undefined || ref.uid === undefined || ref.uid === info.uid)
  );
}

/**
 * Runs a write guarded by the listed resourceVersion. A 409 means the snapshot is not at that version any more,
 * but not necessarily that someone else changed it: a write the server applied before answering 5xx (or before
 * the connection dropped) is retried by the client and then conflicts with itself. So look before deciding:
 * `applied` tells whether what is there now is the listed snapshot with exactly our change. A 422 is taken the
 * same way when the snapshot is being deleted (no finalizer may be added then); any other 422 is an error.
 * `resourceVersion`: the version to guard the first write with (a later step of the sweep passes its own).
 */
async function guarded(
  kube: KubeClient,
  info: SnapshotInfo,
  write: (base: { resourceVersion: string; finalizers: string[] }) => Promise<KubeObject>,
  applied: (current: KubeObject) => boolean,
  resourceVersion = info.resourceVersion,
): Promise<WriteResult> {
  let base = { resourceVersion, finalizers: info.finalizers };
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await write(base);
      return { outcome: 'done', resourceVersion: result?.metadata?.resourceVersion ?? '' };
    } catch (error) {
      if (isNotFound(error)) return { outcome: 'gone' };
      const invalid = error instanceof KubeApiError && error.code === 422;
      if (!isConflict(error) && !invalid) throw error;
      const current = await kube.getIfExists(pathOf(info));
      if (!current || (info.uid !== undefined && current.metadata.uid !== info.uid))
        return { outcome: 'gone' };
      const done = { outcome: 'done', resourceVersion: current.metadata.resourceVersion ?? '' } as const;
      if (current.metadata.deletionTimestamp) return applied(current) ? done : { outcome: 'gone' };
      if (invalid) throw error;
      if (applied(current)) return done;
      if (!onlyControllersMoved(current, info) || attempt >= MAX_ATTEMPTS) return { outcome: 'changed' };
      base = {
        resourceVersion: current.metadata.resourceVersion ?? '',
        finalizers: current.metadata.finalizers ?? [],
      };
    }
  }
}

/** `labels` with a merge patch of labels applied (`null` removes). */
function withLabels(
  labels: Record<string, string>,
  patch: Record<string, string | null>,
): Record<string, string> {
  const result = { ...labels };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = value;
  }
  return result;
}

function sameLabels(actual: Record<string, string> | undefined, expected: Record<string, string>): boolean {
  const keys = Object.keys(actual ?? {});
  return keys.length === Object.keys(expected).length && keys.every((key) => actual?.[key] === expected[key]);
}
