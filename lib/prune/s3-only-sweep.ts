// The S3-only plan's deletions (s3-only.ts), one backup at a time with the sweep's pause in between: its restic
// copies are forgotten first, then every object of its folder is deleted. In that order because the folder is the
// only record that the copies exist: a forget that fails keeps the folder, and the next run tries both again (a
// forget of what is already gone finds nothing), where the other order would leave copies nobody ever forgets.
import { sleep as realSleep } from '../concurrency.js';
import type { Logger } from '../log.js';
import type { S3Store } from '../s3/index.js';
import type { S3OnlyDeletion } from './s3-only.js';

export interface S3OnlySweepDeps {
  store: S3Store;
  log: Logger;
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Forgets the restic snapshots of one backup's PVCs (tags: namespace, PVC, backup id); throws when it cannot.
   * Undefined when the pruner has no restic password Secret configured.
   */
  forget?: (namespace: string, backupId: string, pvcs: readonly string[]) => Promise<void>;
}

export interface S3OnlySweepResult {
  deleted: number;
  failures: string[];
  /** Stopped (SIGTERM) before every deletion was tried. */
  stopped: boolean;
}

export async function sweepS3Only(
  deps: S3OnlySweepDeps,
  deletions: readonly S3OnlyDeletion[],
  pauseMs: number,
): Promise<S3OnlySweepResult> {
  const result: S3OnlySweepResult = { deleted: 0, failures: [], stopped: false };
  const sleep = deps.sleep ?? realSleep;
  for (const [index, deletion] of deletions.entries()) {
    if (index > 0) await sleep(pauseMs, deps.signal);
    if (deps.signal.aborted) {
      result.stopped = true;
      deps.log.warn('stopped before every S3-only deletion was tried', {
        tried: index,
        of: deletions.length,
      });
      break;
    }
    const location = deps.store.url(deletion.key);
    const fields = { namespace: deletion.namespace, backupId: deletion.id, s3: location };
    try {
      if (deletion.volumePvcs.length) {
        if (!deps.forget)
          throw new Error(
            `its volume data (PVC ${deletion.volumePvcs.join(', ')}) is in restic and no NSBACKUP_RESTIC_SECRET is ` +
              'configured to forget it: folder kept (configure the Secret, or forget the copies and delete the folder by hand)',
          );
        await deps.forget(deletion.namespace, deletion.id, deletion.volumePvcs);
      }
      deps.log.info('deleting an S3-only backup', {
        ...fields,
        reason: deletion.runFailed
          ? `its backup run failed, grace over (${deletion.deleteAfter})`
          : `not kept by its retention policy (due ${deletion.deleteAfter})`,
      });
      const objects = await deps.store.deletePrefix(deletion.key);
      result.deleted++;
      deps.log.info("deleted the S3-only backup's objects", { ...fields, objects });
    } catch (error) {
      const message = `S3-only backup ${deletion.namespace}/${deletion.id}: ${(error as Error).message}`;
      result.failures.push(message);
      deps.log.error('could not delete an S3-only backup', { ...fields, error: (error as Error).message });
    }
  }
  return result;
}
