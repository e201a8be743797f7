// Retention for volume data, in the pruner's run: what mark-and-delete deleted (a VolumeSnapshot of a PVC from a
// backup) is forgotten in the namespace's restic repository too (selected by all three tags, so no other
// namespace's, PVC's or backup's copy), then, under the node lock, `restic unlock` (locks of runs that died:
// k8up's top complaint) and `restic prune`, whose peak memory is reported.
//
// A namespace without the password Secret has no volume data: skipped. Anything else that fails is a failure of
// the run, naming the namespace.

import type { Logger } from '../log.js';
import type { NodeLock } from '../lock/index.js';
import type { Repository } from './repo-ops.js';
import type { ResticSnapshot } from './restic-output.js';

export interface DeletedBackup {
  namespace: string;
  pvc: string;
  backupId: string;
}

export interface VolumePruneInput {
  /** The namespace's repository; undefined when the namespace keeps no volume data (no Secret, no repository). */
  open: (namespace: string) => Promise<Repository | undefined>;
  /** Takes the node lock for the prune (undefined: no lock). */
  lock?: () => Promise<NodeLock>;
  log: Logger;
  maxRepackSize?: string;
}

export interface VolumePruneResult {
  forgotten: number;
  prunedRepositories: number;
  /** Largest peak RSS of a `restic prune`. */
  prunePeakRssBytes?: number;
  failures: string[];
}

/** Forgets what was deleted, per namespace (one failing never stops the others), then prunes. */
export async function forgetDeletedAndPrune(
  volumes: VolumeForgetter,
  deleted: readonly DeletedBackup[],
): Promise<VolumePruneResult> {
  const byNamespace = new Map<string, DeletedBackup[]>();
  for (const d of deleted) byNamespace.set(d.namespace, [...(byNamespace.get(d.namespace) ?? []), d]);
  for (const [namespace, ofNamespace] of byNamespace) {
    try {
      await volumes.forget(namespace, ofNamespace);
    } catch (e) {
      volumes.fail(namespace, e);
    }
  }
  return volumes.pruneAll();
}

/**
 * Forgets as deletions happen (the S3-only sweep forgets a backup's copies before it deletes its folder), and
 * prunes each repository something was forgotten in once, at the end (a prune repacks: once a night is enough).
 */
export class VolumeForgetter {
  private readonly repos = new Map<string, Promise<Repository | undefined>>();
  /** Each repository's snapshots, listed once a run: every `restic snapshots` reads the whole index again. */
  private readonly listings = new Map<string, Promise<ResticSnapshot[]>>();
  private readonly forgottenIn = new Map<string, number>();
  private readonly result: VolumePruneResult = { forgotten: 0, prunedRepositories: 0, failures: [] };

  constructor(private readonly input: VolumePruneInput) {}

  /**
   * Forgets the restic snapshots of deleted backups of one namespace; throws when that fails. `required`: the
   * caller knows copies were made (an S3-only backup's record lists them), so a namespace whose repository
   * cannot be opened is a failure, not a namespace without volume data.
   */
  async forget(namespace: string, deleted: readonly DeletedBackup[], required = false): Promise<number> {
    const log = this.input.log.child({ namespace });
    if (!this.repos.has(namespace)) this.repos.set(namespace, this.input.open(namespace));
    const repo = await this.repos.get(namespace)!;
    if (!repo) {
      if (required)
        throw new Error(
          `no restic repository of namespace ${namespace} could be opened (its password Secret or the repository is missing)`,
        );
      return 0;
    }
    if (!this.listings.has(namespace)) this.listings.set(namespace, repo.allSnapshots());
    const listed = await this.listings.get(namespace)!;
    const ids: string[] = [];
    for (const d of deleted) {
      // All three tags, as `snapshotsOf` selects: never another namespace's, PVC's or backup's copy.
      const found = listed.filter(
        (s) => s.namespace === d.namespace && s.pvc === d.pvc && s.backupId === d.backupId,
      );
      ids.push(...found.map((s) => s.id));
      log.info(
        found.length ? 'forgetting volume data of a deleted backup' : 'deleted backup had no volume data',
        { pvc: d.pvc, backupId: d.backupId, resticSnapshots: found.map((s) => s.id.slice(0, 8)) },
      );
    }
    if (!ids.length) return 0;
    await repo.forget(ids);
    this.listings.set(namespace, Promise.resolve(listed.filter((s) => !ids.includes(s.id))));
    this.result.forgotten += ids.length;
    this.forgottenIn.set(namespace, (this.forgottenIn.get(namespace) ?? 0) + ids.length);
    return ids.length;
  }

  /** Records a namespace's failure (the run then fails, naming it). */
  fail(namespace: string, e: unknown): void {
    const message = `volume data of namespace ${namespace}: ${(e as Error).message}`;
    this.input.log.child({ namespace }).error(message);
    this.result.failures.push(message);
  }

  /** Unlock and prune, under the node lock, each repository something was forgotten in. */
  async pruneAll(): Promise<VolumePruneResult> {
    const { input, result } = this;
    for (const [namespace, forgotten] of this.forgottenIn) {
      const log = input.log.child({ namespace });
      try {
        const repo = (await this.repos.get(namespace))!;
        const lock = await input.lock?.();
        try {
          lock?.assertHeld('restic prune');
          await repo.unlock();
          const pruned = await repo.prune({ maxRepackSize: input.maxRepackSize });
          result.prunedRepositories++;
          if (pruned.peakRssBytes !== undefined)
            result.prunePeakRssBytes = Math.max(result.prunePeakRssBytes ?? 0, pruned.peakRssBytes);
          log.info('restic prune done', {
            forgotten,
            peakRssMiB: pruned.peakRssBytes && Math.round(pruned.peakRssBytes / 2 ** 20),
            report: lastLines(pruned.output),
          });
        } finally {
          await lock?.release();
        }
      } catch (e) {
        this.fail(namespace, e);
      }
    }
    this.forgottenIn.clear();
    return result;
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}
