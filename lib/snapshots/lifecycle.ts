// VolumeSnapshot I/O: create, wait, and make sure a snapshot that failed is never counted as a good backup.

import { formatMs } from '../config/index.js';
import { isAlreadyExists, KubeApiError, KubeConnectionError, volumeSnapshotPath } from '../kube/index.js';
import type { KubeClient, KubeObject } from '../kube/index.js';
import { Labels } from '../labels.js';
import type { RunLabel } from '../labels.js';
import type { Logger } from '../log.js';
import { GFS_KEYS } from '../retention/index.js';
import type { SnapshotRecord } from '../retention/index.js';
import { listSnapshots } from './list.js';

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

export type SnapshotState = 'pending' | 'cut' | 'ready' | 'gone';

/**
 * `cut`: the point in time is taken (`status.creationTime`) but the data may still be uploading, so the
 * application may resume (post hooks) while the snapshot is not yet usable. `error` is whatever `status.error`
 * says now: the external-snapshotter sets it on a failed attempt and clears it when a retry succeeds, so it is
 * not a verdict by itself.
 */
export function snapshotState(vs: KubeObject | undefined): { state: SnapshotState; error?: string } {
  if (!vs) return { state: 'gone', error: 'the VolumeSnapshot disappeared' };
  const status = vs.status ?? {};
  const error = status.error ? (status.error.message ?? JSON.stringify(status.error)) : undefined;
  if (status.readyToUse === true) return { state: 'ready' };
  if (status.creationTime) return { state: 'cut', error };
  return { state: 'pending', error };
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

export interface WaitResult {
  state: SnapshotState | 'timeout';
  /** The last `status.error` seen (or why the wait ended). */
  error?: string;
}

/**
 * Whether a snapshot is done being waited for. `ready`: ready, or gone. `cut`: also cut, or showing an error:
 * the post hooks then thaw the application instead of keeping it frozen until the timeout for a snapshot that
 * may never be taken (a retry that succeeds later is an ordinary crash-consistent snapshot, still waited for
 * until ready).
 */
export function waitIsOver(until: WaitOptions['until'], result: { state: SnapshotState; error?: string }) {
  if (result.state === 'ready' || result.state === 'gone') return true;
  return until === 'cut' && (result.state === 'cut' || result.error !== undefined);
}

/**
 * Polls until every snapshot reached `until`, or the deadline passed (then: `timeout` with the last error seen).
 * A `status.error` alone does not end a wait for `ready`: it may clear.
 */
export async function waitForSnapshots(
  kube: KubeClient,
  namespace: string,
  names: string[],
  opts: WaitOptions,
): Promise<Map<string, WaitResult>> {
  const results = new Map<string, WaitResult>();
  const lastError = new Map<string, string>();
  let open = [...names];
  for (;;) {
    const next: string[] = [];
    for (const name of open) {
      const result = snapshotState(await kube.getIfExists(volumeSnapshotPath(namespace, name)));
      if (result.error) lastError.set(name, result.error);
      if (waitIsOver(opts.until, result)) results.set(name, result);
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
      for (const name of open) results.set(name, { state: 'timeout', error: lastError.get(name) });
      return results;
    }
    await opts.sleep(Math.min(opts.pollMs, Math.max(0, opts.deadline - opts.now())));
  }
}

/**
 * The server answered and refused (4xx other than AlreadyExists), or the request never left: nothing was stored.
 * Anything else (a 5xx, a broken connection, a timeout) may have been.
 */
function surelyNotStored(e: unknown): boolean {
  if (e instanceof KubeApiError) return e.code < 500 && !isAlreadyExists(e);
  return e instanceof KubeConnectionError && e.notSent;
}

/** Tries of one snapshot create whose outcome was unknown and which the server did not store. */
const CREATE_ATTEMPTS = 4;

/**
 * Creates one of this run's snapshots. The name is ours and unique (a random suffix), so a create whose outcome is
 * unknown (a 5xx, a connection broken after the request was sent, a timeout) is looked up by name: found with
 * this run's backup label, it is this run's snapshot, tracked like the others so it gets its verdict instead of
 * staying behind unseen; not there, the create is sent again (bounded, jittered), and a 409 AlreadyExists on that
 * retry is ours by the same label. A snapshot of that name that is not ours, or any other error, fails the create.
 */
export async function createSnapshot(
  kube: KubeClient,
  namespace: string,
  manifest: KubeObject,
  backupId: string,
  log: Logger,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  const name = manifest.metadata!.name!;
  const fields = { snapshot: name };
  for (let attempt = 1; ; attempt++) {
    try {
      await kube.create(volumeSnapshotPath(namespace), manifest);
      if (attempt > 1) log.info('snapshot created on a later attempt', { ...fields, attempt });
      return;
    } catch (e) {
      if (surelyNotStored(e)) throw e;
      let existing: KubeObject | undefined;
      try {
        existing = await kube.getIfExists(volumeSnapshotPath(namespace, name));
      } catch (lookup) {
        log.error(
          'snapshot create failed and the lookup failed too: if the snapshot exists, delete it by hand',
          {
            ...fields,
            error: (lookup as Error).message,
          },
        );
        throw e;
      }
      if (existing) {
        if (existing.metadata?.labels?.[Labels.backup] !== backupId) throw e;
        log.warn('snapshot create reported an error, but the snapshot exists: tracking it', {
          ...fields,
          error: (e as Error).message,
        });
        return;
      }
      if (isAlreadyExists(e) || attempt >= CREATE_ATTEMPTS) throw e;
      log.warn('snapshot create failed and the snapshot was not stored: trying again', {
        ...fields,
        attempt,
        error: (e as Error).message,
      });
      await sleep(Math.round(250 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
    }
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
    await kube.mergePatch(path, { metadata: { labels: failedRunLabels() } });
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
 * Waits until each snapshot is ready; one that is still not ready at the deadline (its last error named), gone, or
 * left unverified by a stop is discarded. Returns one failure line per discarded snapshot.
 */
export async function settleSnapshots(
  kube: KubeClient,
  namespace: string,
  snapshots: SettledSnapshot[],
  opts: WaitOptions,
  log: Logger,
): Promise<string[]> {
  const timeoutText = `not readyToUse within ${formatMs(opts.deadlineBudgetMs ?? 0)}`;
  const failure = (result: WaitResult | undefined): string => {
    if (result?.state !== 'timeout') return result?.error ?? 'failed';
    if (!result.error) return timeoutText;
    return opts.signal?.aborted ? result.error : `${timeoutText}, last error: ${result.error}`;
  };
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
    snap.error = failure(result);
    log.error('snapshot failed', { snapshot: snap.name, pvc: snap.pvc, error: snap.error });
    snap.outcome = await discardSnapshot(kube, namespace, snap.name, log);
    failures.push(`snapshot ${snap.name} of PVC ${snap.pvc}: ${snap.error} (${snap.outcome})`);
  }
  return failures;
}

const PERIOD_LABELS: readonly string[] = GFS_KEYS.map((key) => Labels[key]);

/**
 * The labels a snapshot is created with: its final ones (`labels`) without the GFS periods, and `in-progress`.
 * A period goes to a snapshot only once its whole run succeeded (completionLabels): a run killed after the
 * snapshot (kill -9, node loss) must not leave one holding the day as if it were a good backup.
 */
export function creationLabels(labels: Record<string, string>): Record<string, string> {
  const created = Object.fromEntries(Object.entries(labels).filter(([key]) => !PERIOD_LABELS.includes(key)));
  return { ...created, [Labels.outcome]: 'in-progress' satisfies RunLabel };
}

/** What the run writes once it succeeded: the periods it was planned to hold, and `succeeded`. */
export function completionLabels(labels: Record<string, string>): Record<string, string> {
  const periods = Object.entries(labels).filter(([key]) => PERIOD_LABELS.includes(key));
  return { ...Object.fromEntries(periods), [Labels.outcome]: 'succeeded' satisfies RunLabel };
}

/**
 * A failed run's snapshot: `failed` (and `nsbackup.io/failed=true`, which older pruners know too), without any
 * period (null removes one a completion may already have written).
 */
export function failedRunLabels(): Record<string, string | null> {
  return {
    ...Object.fromEntries(PERIOD_LABELS.map((key) => [key, null])),
    [Labels.outcome]: 'failed' satisfies RunLabel,
    [Labels.failed]: 'true',
  };
}

/** Writes how the run ended onto one of its snapshots. Throws the API's error. */
export async function labelRunOutcome(
  kube: KubeClient,
  namespace: string,
  name: string,
  labels: Record<string, string | null>,
): Promise<void> {
  await kube.mergePatch(volumeSnapshotPath(namespace, name), { metadata: { labels } });
}
