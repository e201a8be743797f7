// retain: per PVC, take the period labels the policy no longer keeps off the snapshots that hold them.
import { LABEL_PREFIX } from '../labels.js';
import { planRetain, type GfsKeep, type GfsKey } from '../retention/index.js';
import { forEachLimited } from '../concurrency.js';
import { idOf, logProblems, PATCH_CONCURRENCY, type PruneContext } from './context.js';
import { listSnapshots } from '../snapshots/list.js';
import { patchLabels } from './writes.js';

export interface RetainOptions {
  /** undefined: every namespace. */
  namespace?: string;
  keep: GfsKeep;
  dryRun: boolean;
}

export interface RetainResult {
  snapshots: number;
  /** Snapshots whose labels the plan changes. */
  planned: number;
  patched: number;
  /** Changed or deleted by someone else since they were listed: decided again next run. */
  skipped: number;
  failed: number;
  problems: number;
  /** Stopped (signal) before every patch was tried. */
  stopped: boolean;
}

export async function retain(ctx: PruneContext, options: RetainOptions): Promise<RetainResult> {
  const { kube, log } = ctx;
  const infos = await listSnapshots(kube, options.namespace, log);
  const live = infos.filter((info) => !info.terminating);
  const byId = new Map(live.map((info) => [idOf(info.record), info]));
  const plan = planRetain(
    live.map((info) => info.record),
    { gfs: options.keep },
  );
  logProblems(log, plan.problems);
  const result: RetainResult = {
    snapshots: live.length,
    planned: plan.removals.length,
    patched: 0,
    skipped: 0,
    failed: 0,
    problems: plan.problems.length,
    stopped: false,
  };
  for (const removal of plan.removals) {
    const keys = removal.remove.map((label) => label.slice(LABEL_PREFIX.length));
    const reason = keys.map((key) => removalReason(key as GfsKey, options.keep)).join('; ');
    log.info(options.dryRun ? 'would remove labels' : 'removing labels', {
      namespace: removal.namespace,
      snapshot: removal.name,
      pvc: removal.pvc,
      remove: keys,
      reason,
    });
    if (options.dryRun)
      ctx.out(
        `would remove ${keys.join(',')} from ${removal.namespace}/${removal.name} (pvc ${removal.pvc})`,
      );
  }
  if (options.dryRun) {
    ctx.out(
      `dry run: ${plan.removals.length} of ${live.length} snapshots would lose labels; nothing changed`,
    );
    return result;
  }
  await forEachLimited(
    plan.removals,
    PATCH_CONCURRENCY,
    async (removal) => {
      const info = byId.get(idOf(removal))!;
      const fields = { namespace: removal.namespace, snapshot: removal.name, pvc: removal.pvc };
      try {
        const written = await patchLabels(
          kube,
          info,
          Object.fromEntries(removal.remove.map((l) => [l, null])),
        );
        if (written.outcome === 'done') result.patched++;
        else {
          result.skipped++;
          log.warn(`snapshot ${written.outcome} since it was listed: left for the next run`, fields);
        }
      } catch (error) {
        result.failed++;
        log.error('could not remove labels', { ...fields, error: (error as Error).message });
      }
    },
    ctx.signal,
  );
  result.stopped =
    ctx.signal.aborted && result.patched + result.skipped + result.failed < plan.removals.length;
  return result;
}

function removalReason(key: GfsKey, keep: GfsKeep): string {
  return keep[key] > 0
    ? `not among the newest ${keep[key]} ${key}`
    : `${key} is kept 0 times: removed with the last label that kept the snapshot`;
}
