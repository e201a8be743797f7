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

export interface DeletedBackup {
  namespace: string;
  pvc: string;
  backupId: string;
}

export interface VolumePruneInput {
  deleted: readonly DeletedBackup[];
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

export async function forgetAndPrune(input: VolumePruneInput): Promise<VolumePruneResult> {
  const result: VolumePruneResult = { forgotten: 0, prunedRepositories: 0, failures: [] };
  const byNamespace = new Map<string, DeletedBackup[]>();
  for (const d of input.deleted) byNamespace.set(d.namespace, [...(byNamespace.get(d.namespace) ?? []), d]);
  for (const [namespace, deleted] of byNamespace) {
    const log = input.log.child({ namespace });
    try {
      const repo = await input.open(namespace);
      if (!repo) continue;
      const ids: string[] = [];
      for (const d of deleted) {
        const found = await repo.snapshotsOf(d);
        ids.push(...found.map((s) => s.id));
        log.info(
          found.length ? 'forgetting volume data of a deleted backup' : 'deleted backup had no volume data',
          {
            pvc: d.pvc,
            backupId: d.backupId,
            resticSnapshots: found.map((s) => s.id.slice(0, 8)),
          },
        );
      }
      if (!ids.length) continue;
      await repo.forget(ids);
      result.forgotten += ids.length;
      const lock = await input.lock?.();
      try {
        lock?.assertHeld('restic prune');
        await repo.unlock();
        const pruned = await repo.prune({ maxRepackSize: input.maxRepackSize });
        result.prunedRepositories++;
        if (pruned.peakRssBytes !== undefined)
          result.prunePeakRssBytes = Math.max(result.prunePeakRssBytes ?? 0, pruned.peakRssBytes);
        log.info('restic prune done', {
          forgotten: ids.length,
          peakRssMiB: pruned.peakRssBytes && Math.round(pruned.peakRssBytes / 2 ** 20),
          report: lastLines(pruned.output),
        });
      } finally {
        await lock?.release();
      }
    } catch (e) {
      const message = `volume data of namespace ${namespace}: ${(e as Error).message}`;
      log.error(message);
      result.failures.push(message);
    }
  }
  return result;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}
