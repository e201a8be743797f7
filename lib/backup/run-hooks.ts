// Running pre and post hooks in their containers over pods/exec.

import { formatMs } from '../config/index.js';
import { JobError } from '../exit.js';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { Hook } from './hooks.js';
import type { BackupPlan } from './plan.js';
import type { ExecFn } from './ports.js';
import { resolveTarget } from '../exec/target.js';
import type { PodTarget } from '../exec/target.js';

/** Where each hook runs: its own target, or the database pod (and, unless named, the database container). */
export async function resolveHookTargets(
  kube: KubeClient,
  namespace: string,
  plan: BackupPlan,
  dbTarget: PodTarget | undefined,
): Promise<Map<Hook, PodTarget>> {
  const targets = new Map<Hook, PodTarget>();
  for (const hook of [...plan.hooks.pre, ...plan.hooks.post]) {
    if (!hook.target) {
      targets.set(hook, { ...dbTarget!, container: hook.container || dbTarget!.container });
    } else {
      targets.set(hook, await resolveTarget(kube, namespace, hook.target, hook.container));
    }
  }
  return targets;
}

export interface HookRunOptions {
  exec: ExecFn;
  now: () => Date;
  /** Each hook's time limit: a hook that hangs must not hold the run (and its lock slot) forever. */
  timeoutMs: number;
  /**
   * The run's stop signal, for pre hooks only. Post hooks never take it: they undo what the pre hooks did (a
   * freeze, a read lock) and must run after a SIGTERM too, bounded by their own timeout.
   */
  signal?: AbortSignal;
}

/**
 * Runs one phase's hooks in order. A failing `fail` pre hook stops at once (the run must not go on); post hooks
 * all run (each undoes something), then their failures fail the run. `continue` hooks only warn.
 */
export async function runHooks(
  phase: 'pre' | 'post',
  hooks: Hook[],
  targets: Map<Hook, PodTarget>,
  options: HookRunOptions,
  log: Logger,
): Promise<void> {
  const failures: string[] = [];
  for (const hook of hooks) {
    const target = targets.get(hook)!;
    const started = options.now().getTime();
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = phase === 'pre' && options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let message: string | undefined;
    try {
      const result = await options.exec({
        namespace: target.namespace,
        pod: target.pod,
        container: target.container,
        command: hook.command,
        signal,
      });
      if (result.exitCode !== 0) {
        message = `exit code ${result.exitCode}${result.stderr ? `: ${result.stderr.trim().slice(-300)}` : ''}`;
      }
    } catch (e) {
      message = timeout.aborted
        ? `no exit within ${formatMs(options.timeoutMs)} (NSBACKUP_HOOK_TIMEOUT); the command may still run in the container`
        : (e as Error).message;
    }
    const fields = {
      hook: hook.name,
      pod: target.pod,
      container: target.container,
      ms: options.now().getTime() - started,
    };
    if (!message) {
      log.info(`${phase} hook succeeded`, fields);
      continue;
    }
    const text = `${phase} hook "${hook.name}" failed in ${target.pod}/${target.container}: ${message}`;
    if (hook.onError === 'continue') {
      log.warn(`${text} (onError: continue)`, fields);
      continue;
    }
    log.error(text, fields);
    // A failing pre hook stops the run; post hooks all run, then their failures fail it.
    if (phase === 'pre') throw new JobError(text);
    failures.push(text);
  }
  if (failures.length) throw new JobError(failures.join('; '));
}
