// VolumeSnapshot I/O: create, wait, and make sure a snapshot that failed is never counted as a good backup.

import { formatMs } from '../config/index.js';
import { KubeApiError, volumeSnapshotPath } from '../kube/index.js';
import type { KubeClient, KubeObject } from '../kube/index.js';
import { Labels } from '../labels.js';
import type { Logger } from '../log.js';
import type { SnapshotRecord } from '../retention/index.js';
import { listSnapshots } from '../prune/snapshots.js';

/**
 * The namespace's VolumeSnapshots as the retention core reads them (the same mapping as prune). One being
 * deleted no longer holds its periods: the next backup takes them over.
 */
export async function listSnapshotRecords(
  kube: KubeClient,
  namespace: string,
  log: Logger,
): Promise<SnapshotRecord[]> {
  return (await listSnapshots(kube, namespace, log)).filter((s) => !s.terminating).map((s) => s.record);
}

export type SnapshotState = 'pending' | 'cut' | 'ready' | 'failed';

/**
 * `cut`: the point in time is taken (`status.creationTime`) but the data may still be uploading, so the
 * application may resume (post hooks) while the snapshot is not yet usable.
 */
export function snapshotState(vs: KubeObject | undefined): { state: SnapshotState; error?: string } {
  if (!vs) return { state: 'failed', error: 'the VolumeSnapshot disappeared' };
  const status = vs.status ?? {};
  if (status.error) return { state: 'failed', error: status.error.message ?? JSON.stringify(status.error) };
  if (status.readyToUse === true) return { state: 'ready' };
  if (status.creationTime) return { state: 'cut' };
  return { state: 'pending' };
}

export interface WaitOptions {
  until: 'cut' | 'ready';
  deadline: number;
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** A stop (SIGTERM) ends the wait: the open snapshots are reported unverified. */
  signal?: AbortSignal;
  /** The configured timeout, for messages. */
  deadlineBudgetMs?: number;
}

/** Polls until every snapshot reached `until` or failed, or the deadline passed (then: `timeout`). */
export async function waitForSnapshots(
  kube: KubeClient,
  namespace: string,
  names: string[],
  opts: WaitOptions,
): Promise<Map<string, { state: SnapshotState | 'timeout'; error?: string }>> {
  const results = new Map<string, { state: SnapshotState | 'timeout'; error?: string }>();
  const reached = (s: SnapshotState) =>
    s === 'failed' || s === 'ready' || (opts.until === 'cut' && s === 'cut');
  let open = [...names];
  for (;;) {
    const next: string[] = [];
    for (const name of open) {
      const result = snapshotState(await kube.getIfExists(volumeSnapshotPath(namespace, name)));
      if (reached(result.state)) results.set(name, result);
      else next.push(name);
    }
    open = next;
    if (!open.length) return results;
    if (opts.signal?.aborted) {
      for (const name of open)
        results.set(name, { state: 'timeout', error: 'the run was stopped before it was ready' });
      return results;
    }
    if (opts.now() >= opts.deadline) {
      for (const name of open) results.set(name, { state: 'timeout' });
      return results;
    }
    await opts.sleep(Math.min(opts.pollMs, Math.max(0, opts.deadline - opts.now())));
  }
}

/**
 * A failed snapshot must not count as a good backup: delete it; if that fails, label it failed (retention
 * ignores failed snapshots and the next backup takes over its GFS periods). Returns what was done.
 */
export async function discardSnapshot(
  kube: KubeClient,
  namespace: string,
  name: string,
  log: Logger,
): Promise<'deleted' | 'labelled-failed' | 'left'> {
  const path = volumeSnapshotPath(namespace, name);
  try {
    await kube.delete(path);
    log.warn('failed snapshot deleted', { snapshot: name });
    return 'deleted';
  } catch (e) {
    if (e instanceof KubeApiError && e.code === 404) return 'deleted';
    log.warn('could not delete the failed snapshot; labelling it failed instead', {
      snapshot: name,
      error: (e as Error).message,
    });
  }
  try {
    await kube.mergePatch(path, { metadata: { labels: { [Labels.failed]: 'true' } } });
    log.warn(`failed snapshot labelled ${Labels.failed}=true: retention will not count it`, {
      snapshot: name,
    });
    return 'labelled-failed';
  } catch (e) {
    log.error('could neither delete nor label the failed snapshot: delete it by hand', {
      snapshot: name,
      error: (e as Error).message,
    });
    return 'left';
  }
}

/** What the flow reports per snapshot; `outcome` is filled in as the run goes. */
export interface SettledSnapshot {
  name: string;
  pvc: string;
  outcome: string;
  error?: string;
}

/**
 * Waits until each snapshot is ready; one that failed, timed out or was left unverified by a stop is
 * discarded. Returns one failure line per discarded snapshot.
 */
export async function settleSnapshots(
  kube: KubeClient,
  namespace: string,
  snapshots: SettledSnapshot[],
  opts: WaitOptions,
  log: Logger,
): Promise<string[]> {
  const timeoutText = `not readyToUse within ${formatMs(opts.deadlineBudgetMs ?? 0)}`;
  const states = await waitForSnapshots(
    kube,
    namespace,
    snapshots.map((s) => s.name),
    { ...opts, until: 'ready' },
  );
  const failures: string[] = [];
  for (const snap of snapshots) {
    const result = states.get(snap.name);
    if (result?.state === 'ready') {
      log.info('snapshot ready', { snapshot: snap.name });
      continue;
    }
    snap.error = result?.error ?? (result?.state === 'timeout' ? timeoutText : 'failed');
    log.error('snapshot failed', { snapshot: snap.name, pvc: snap.pvc, error: snap.error });
    snap.outcome = await discardSnapshot(kube, namespace, snap.name, log);
    failures.push(`snapshot ${snap.name} of PVC ${snap.pvc}: ${snap.error} (${snap.outcome})`);
  }
  return failures;
}
