// The sweep's deletions, one snapshot at a time with a pause in between. Per snapshot: the bound
// VolumeSnapshotContent is set to deletionPolicy Delete (else deleting the snapshot would leave the
// storage behind), then the VolumeSnapshot is deleted, then the backup's S3 folder if no other snapshot
// of that backup remains. If the snapshot is then not deleted (changed since it was listed, or its
// deletion failed), the content's deletionPolicy is put back, so a snapshot that stays keeps its storage.
// The snapshot is the only record of its S3 folder, so before the last one is deleted it gets our
// finalizer: it stays visible (terminating) until the folder is gone, and a run killed in between
// finishes the job on its next start instead of leaking the folder.
import type { KubeClient } from '../kube/index.js';
import { Labels } from '../labels.js';
import type { Logger } from '../log.js';
import type { Deletion } from '../retention/index.js';
import { isMissingBucket, type S3Store } from '../s3/index.js';
import { sleep as realSleep } from '../concurrency.js';
import { FolderReferences, s3FoldersOf, type S3Folder, type S3Layout } from './s3-folders.js';
import { directPvcsOf, S3_CLEANUP_FINALIZER, type SnapshotInfo } from '../snapshots/list.js';
import {
  addCleanupFinalizer,
  deleteSnapshot,
  releaseContent,
  removeCleanupFinalizer,
  restoreContentPolicy,
  type ContentResult,
} from './writes.js';

export interface SweepDeps {
  kube: KubeClient;
  log: Logger;
  /** A store for a bucket; undefined when S3 is not configured. */
  s3: (bucket: string) => S3Store | undefined;
  layout: S3Layout | undefined;
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface SweepFailure {
  namespace: string;
  snapshot: string;
  pvc: string;
  error: string;
}

export interface SweepResult {
  deleted: number;
  /** Changed by someone since they were listed (e.g. pinned): kept, decided again next run. */
  skipped: number;
  s3FoldersDeleted: number;
  failures: SweepFailure[];
  /** The run was stopped (signal) before every deletion was tried. */
  stopped: boolean;
  /**
   * What was deleted, by namespace, PVC and backup id: its volume data in restic is forgotten too. With the last
   * snapshot of a backup, also the PVCs that backup copied from the live claim (no snapshot of their own).
   */
  deletedBackups: { namespace: string; pvc: string; backupId: string }[];
}

type Outcome = 'deleted' | 'skipped';

export class Sweeper {
  private readonly refs: FolderReferences;
  /** Live (not terminating) snapshots per `namespace/backup id`: a backup's last one takes its direct copies along. */
  private readonly liveOfBackup = new Map<string, number>();
  readonly result: SweepResult = {
    deleted: 0,
    skipped: 0,
    s3FoldersDeleted: 0,
    failures: [],
    stopped: false,
    deletedBackups: [],
  };

  constructor(
    private readonly deps: SweepDeps,
    infos: readonly SnapshotInfo[],
  ) {
    this.refs = new FolderReferences(infos, deps.layout);
    for (const info of infos) {
      const key = backupKey(info);
      if (key && !info.terminating) this.liveOfBackup.set(key, (this.liveOfBackup.get(key) ?? 0) + 1);
    }
  }

  /** Snapshots a killed run left terminating with our finalizer: delete their S3 folder, let them go. */
  async finishPending(infos: readonly SnapshotInfo[]): Promise<void> {
    for (const info of infos) {
      if (!info.terminating || !info.finalizers.includes(S3_CLEANUP_FINALIZER)) continue;
      const fields = this.fields(info);
      try {
        for (const folder of this.foldersOf(info))
          if (this.refs.isUnreferenced(folder)) await this.deleteFolder(folder, info);
        await removeCleanupFinalizer(this.deps.kube, info);
        this.deps.log.info('finished the S3 cleanup of a snapshot deleted by an earlier run', fields);
      } catch (error) {
        this.fail(info, error);
      }
    }
  }

  /** Deletes in order, pausing between deletions; one failure never stops the others. */
  async deleteAll(deletions: readonly Deletion[], infos: ReadonlyMap<string, SnapshotInfo>, pauseMs: number) {
    const sleep = this.deps.sleep ?? realSleep;
    for (const [index, deletion] of deletions.entries()) {
      if (index > 0) await sleep(pauseMs, this.deps.signal);
      if (this.deps.signal.aborted) {
        this.result.stopped = true;
        this.deps.log.warn('stopped before every deletion was tried', {
          tried: index,
          of: deletions.length,
        });
        return;
      }
      const info = infos.get(`${deletion.namespace}/${deletion.name}`)!;
      this.deps.log.info('deleting snapshot', {
        ...this.fields(info),
        reason:
          `delete-after ${deletion.deleteAfter} is over` +
          (deletion.runOutcome ? ` (its backup run ${deletion.runOutcome})` : ''),
      });
      try {
        const outcome = await this.deleteOne(info);
        if (outcome === 'deleted') {
          this.result.deleted++;
          const backupId = info.record.labels[Labels.backup];
          if (backupId) {
            const { namespace, pvc } = info.record;
            this.result.deletedBackups.push({ namespace, pvc, backupId });
            const key = backupKey(info)!;
            const left = (this.liveOfBackup.get(key) ?? 1) - 1;
            this.liveOfBackup.set(key, left);
            if (left === 0)
              for (const direct of directPvcsOf(info.configAnnotation).filter((p) => p !== pvc))
                this.result.deletedBackups.push({ namespace, pvc: direct, backupId });
          }
        } else this.result.skipped++;
      } catch (error) {
        this.fail(info, error);
      }
    }
  }

  private async deleteOne(info: SnapshotInfo): Promise<Outcome> {
    const { kube, log } = this.deps;
    const fields = this.fields(info);
    const folders = this.foldersOf(info);
    const lastOf = folders.filter((folder) => this.refs.isLast(folder, info));
    const kept = folders.filter((folder) => !lastOf.includes(folder));
    const last = lastOf.length > 0;
    const forget = info.record.labels[Labels.forgetS3] === 'true';
    const unreachable = forget ? undefined : lastOf.find((folder) => !this.deps.s3(folder.bucket));
    if (unreachable) {
      throw new Error(
        `its backup stored files in s3://${unreachable.bucket}/${unreachable.key}, but S3 is not configured ` +
          `(configure it, or label the snapshot ${Labels.forgetS3}=true to leave those objects in place)`,
      );
    }
    const content = await releaseContent(kube, info);
    this.logContent(info, content);
    let removal: 'removed' | 'kept';
    try {
      removal = await this.removeSnapshot(info, last);
    } catch (error) {
      const problem = await this.putContentBack(info, content);
      if (problem) throw new Error(`${(error as Error).message}; ${problem}`);
      throw error;
    }
    if (removal === 'kept') {
      const problem = await this.putContentBack(info, content);
      if (problem) throw new Error(problem);
      return this.keptBack(info);
    }
    for (const folder of folders) this.refs.forget(folder, info);
    for (const folder of lastOf) await this.deleteFolder(folder, info);
    if (last) await removeCleanupFinalizer(kube, info);
    for (const folder of kept) {
      log.info('S3 folder kept: other snapshots of the same backup remain', {
        ...fields,
        s3: `s3://${folder.bucket}/${folder.key}`,
      });
    }
    return 'deleted';
  }

  /**
   * Deletes the VolumeSnapshot if it is still the one listed; `kept` when it changed since (pinned, its
   * delete-after taken away). The last snapshot of a backup gets our finalizer first (see the top of this file).
   */
  private async removeSnapshot(info: SnapshotInfo, last: boolean): Promise<'removed' | 'kept'> {
    const { kube } = this.deps;
    if (!last) {
      const deleted = await deleteSnapshot(kube, info, info.resourceVersion);
      return deleted.outcome === 'changed' ? 'kept' : 'removed';
    }
    const guarded = await addCleanupFinalizer(kube, info);
    // Gone, or being deleted by someone else without our finalizer: its folder goes now, with it.
    if (guarded.outcome !== 'done') return guarded.outcome === 'changed' ? 'kept' : 'removed';
    const deleted = await deleteSnapshot(kube, info, guarded.resourceVersion);
    if (deleted.outcome !== 'changed') return 'removed';
    await removeCleanupFinalizer(kube, info);
    return 'kept';
  }

  private logContent(info: SnapshotInfo, content: ContentResult): void {
    const fields = { ...this.fields(info), content: info.contentName };
    if (content.outcome === 'patched')
      this.deps.log.info('set deletionPolicy Delete on the bound content', fields);
    if (content.outcome === 'not-permitted')
      this.deps.log.warn(
        'may not read the bound VolumeSnapshotContent: its deletionPolicy is left as it is',
        fields,
      );
    if (content.outcome === 'not-bound-here')
      this.deps.log.warn('bound content refers to another snapshot: left alone', fields);
  }

  /**
   * The snapshot was not deleted after its content was set to Delete: put the policy back, or the storage of a
   * snapshot that is now kept would go whenever it is deleted later. Returns what went wrong, if anything: the
   * caller makes it the snapshot's failure, so the run ends non-zero.
   */
  private async putContentBack(info: SnapshotInfo, content: ContentResult): Promise<string | undefined> {
    if (content.outcome !== 'patched') return undefined;
    const previous = content.previousPolicy ?? '(unset)';
    const fields = { ...this.fields(info), content: info.contentName, deletionPolicy: previous };
    try {
      const restored = await restoreContentPolicy(this.deps.kube, info, content.previousPolicy);
      if (restored === 'restored')
        this.deps.log.warn(`snapshot not deleted: its content's deletionPolicy is ${previous} again`, fields);
      return undefined;
    } catch (error) {
      return (
        `its content's deletionPolicy could not be put back to ${previous} (${(error as Error).message}): ` +
        'it stays Delete, so its storage goes whenever the snapshot is deleted'
      );
    }
  }

  private foldersOf(info: SnapshotInfo): S3Folder[] {
    const lookup = s3FoldersOf(info, this.deps.layout);
    if (lookup.problem) throw new Error(lookup.problem);
    return lookup.folders;
  }

  private async deleteFolder(folder: S3Folder, info: SnapshotInfo): Promise<void> {
    const location = `s3://${folder.bucket}/${folder.key}`;
    if (info.record.labels[Labels.forgetS3] === 'true') {
      // The user's way out for a folder that cannot or need not be deleted (a bucket moved, credentials gone).
      this.deps.log.warn(`S3 objects left in place: the snapshot is labelled ${Labels.forgetS3}=true`, {
        ...this.fields(info),
        s3: location,
      });
      return;
    }
    const store = this.deps.s3(folder.bucket);
    if (!store) throw new Error(`S3 is not configured: cannot delete ${location}`);
    let objects: number;
    try {
      objects = await store.deletePrefix(folder.key);
    } catch (error) {
      if (isMissingBucket(error)) {
        // Nothing left to delete: the objects went with the bucket (a typo'd run, a migrated bucket).
        this.deps.log.warn(`bucket ${folder.bucket} does not exist: its backup objects count as deleted`, {
          ...this.fields(info),
          s3: location,
        });
        return;
      }
      throw new Error(
        `could not delete ${location} (${(error as Error).message}); the ${S3_CLEANUP_FINALIZER} finalizer keeps ` +
          `the snapshot until that succeeds: fix S3 access, or label the snapshot ${Labels.forgetS3}=true to ` +
          'leave the objects in place',
      );
    }
    // A backup without S3 data (no bucket at backup time) has an empty folder: nothing was deleted there.
    if (objects > 0) this.result.s3FoldersDeleted++;
    this.deps.log.info("deleted the backup's S3 objects", {
      ...this.fields(info),
      s3: `s3://${folder.bucket}/${folder.key}`,
      objects,
    });
  }

  private keptBack(info: SnapshotInfo): Outcome {
    this.deps.log.warn(
      'snapshot changed since it was listed: kept, decided again next run',
      this.fields(info),
    );
    return 'skipped';
  }

  private fail(info: SnapshotInfo, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.result.failures.push({
      namespace: info.record.namespace,
      snapshot: info.record.name,
      pvc: info.record.pvc,
      error: message,
    });
    this.deps.log.error('could not delete snapshot', { ...this.fields(info), error: message });
  }

  private fields(info: SnapshotInfo) {
    return { namespace: info.record.namespace, snapshot: info.record.name, pvc: info.record.pvc };
  }
}

const backupKey = (info: SnapshotInfo): string | undefined => {
  const backupId = info.record.labels[Labels.backup];
  return backupId ? `${info.record.namespace}/${backupId}` : undefined;
};
