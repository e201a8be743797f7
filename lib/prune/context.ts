// What the retain and mark-and-delete runs share: their context, and how they report the core's findings.
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { Problem } from '../retention/index.js';

/** Parallel patches: a first run over a long history makes tens of thousands; one at a time pays every round trip. */
export const PATCH_CONCURRENCY = 8;

export interface PruneContext {
  kube: KubeClient;
  log: Logger;
  /** Command output (the dry-run plan). */
  out: (text: string) => void;
  signal: AbortSignal;
}

export const idOf = (ref: { namespace: string; name: string }): string => `${ref.namespace}/${ref.name}`;

export function logProblems(log: Logger, problems: readonly Problem[]): void {
  for (const problem of problems)
    log.warn(problem.reason, { namespace: problem.namespace, snapshot: problem.name });
}
