// The node lock on coordination.k8s.io/v1 Leases, for namespaces whose Pod Security level refuses the hostPath of
// the file lock. Slot n of node N is the Lease `nsbackup-N-n` (lease-state.ts) in the lock namespace:
// - acquire: create it; 409 AlreadyExists means held, unless its holder stopped renewing (renewTime +
//   leaseDurationSeconds past), then an update carrying the resourceVersion we read takes it over, so of two
//   takers only one wins (the other gets 409 Conflict);
// - hold: renew renewTime every quarter of the stale time, with our resourceVersion: a takeover makes it 409;
// - release (end of the run, SIGTERM through the run's abort): delete with preconditions on uid and
//   resourceVersion, so only the version we hold is ever deleted.
// Same waits, timeout (exit 3), stale time and log lines as the file lock (node-lock.ts, wait.ts).

import { randomBytes } from 'node:crypto';
import { sleep } from '../concurrency.js';
import { formatMs } from '../config/index.js';
import { JobError } from '../exit.js';
import { isConflict, isForbidden, isNotFound, outcomeUnknown } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { LeaseApi } from './lease-api.js';
import {
  leaseName,
  leaseState,
  newLease,
  renewedLease,
  renewIntervalMs,
  takeoverLease,
  type Lease,
  type LeaseClaim,
} from './lease-state.js';
import { DEFAULT_STALE_MS, MIN_STALE_MS, type LockWaitOptions, type NodeLock } from './types.js';
import { waitForSlot } from './wait.js';

/** Where the slots of a lease lock live and who asks for one. */
export interface LeaseTarget {
  /** Namespace of the Leases: a shared one makes the limit hold across every namespace backed up on the node. */
  namespace: string;
  /** The node the backup runs on (downward API spec.nodeName). */
  node: string;
  /** This pod's name: the start of the holder identity, so `kubectl get lease` shows who holds a slot. */
  pod: string;
}

export interface LeaseLockOptions extends LockWaitOptions, LeaseTarget {
  api: LeaseApi;
  /** Default: `<pod>-<8 random hex>` (a pod restarted in place must not pass for its predecessor). */
  holder?: string;
  now?: () => Date;
}

export function holderIdentity(pod: string, random: () => Buffer = () => randomBytes(4)): string {
  return `${pod || 'nsbackup'}-${random().toString('hex')}`;
}

export async function acquireLeaseLock(opts: LeaseLockOptions): Promise<NodeLock> {
  const staleMs = Math.max(opts.staleMs ?? DEFAULT_STALE_MS, MIN_STALE_MS);
  const ctx: Ctx = {
    api: opts.api,
    namespace: opts.namespace,
    node: opts.node,
    holder: opts.holder ?? holderIdentity(opts.pod),
    staleMs,
    now: opts.now ?? (() => new Date()),
    log: opts.log,
  };
  return waitForSlot(opts, {
    trySlot: (slot) => trySlot(ctx, slot),
    where: `of node ${opts.node} (Leases ${leaseName(opts.node, 1).replace(/1$/, '*')} in namespace ${opts.namespace})`,
    logFields: { node: opts.node, leaseNamespace: opts.namespace },
  });
}

interface Ctx {
  api: LeaseApi;
  namespace: string;
  node: string;
  holder: string;
  staleMs: number;
  now: () => Date;
  log?: Logger;
}

async function trySlot(ctx: Ctx, slot: number): Promise<NodeLock | undefined> {
  const name = leaseName(ctx.node, slot);
  const claim = (): LeaseClaim => ({ ...ctx, name, slot, now: ctx.now() });
  try {
    return await claimSlot(ctx, slot, name, claim);
  } catch (e) {
    if (e instanceof JobError) throw e;
    const hint = isForbidden(e)
      ? ` (the backup's ServiceAccount needs get, create, update and delete on leases.coordination.k8s.io in ${ctx.namespace})`
      : '';
    throw new JobError(
      `cannot use the node lock Lease ${ctx.namespace}/${name}: ${(e as Error).message}${hint}`,
    );
  }
}

async function claimSlot(
  ctx: Ctx,
  slot: number,
  name: string,
  claim: () => LeaseClaim,
): Promise<NodeLock | undefined> {
  try {
    return holdLease(ctx, slot, await ctx.api.create(newLease(claim())));
  } catch (e) {
    // A create whose answer was lost may have made the Lease: the read below tells (our holder identity).
    if (!isConflict(e) && !outcomeUnknown(e)) throw e;
  }
  let observed: Lease;
  try {
    observed = await ctx.api.get(ctx.namespace, name);
  } catch (e) {
    if (isNotFound(e)) return undefined; // released between our create and this read: the next round tries again
    throw e;
  }
  if (observed.spec?.holderIdentity === ctx.holder) return holdLease(ctx, slot, observed);
  const seen = leaseState(observed, ctx.now().getTime());
  if (seen.state === 'held') return undefined;
  let taken: Lease;
  try {
    taken = await ctx.api.update(takeoverLease(observed, claim()));
  } catch (e) {
    // Another backup took it first (409), or its holder released it meanwhile (404): not ours this round.
    if (isConflict(e) || isNotFound(e)) return undefined;
    throw e;
  }
  if (seen.state === 'stale') {
    ctx.log?.warn('node lock slot taken over from a holder that stopped renewing it', {
      slot,
      lease: `${ctx.namespace}/${name}`,
      previousHolder: seen.holder,
      expiredAt: new Date(seen.expiredAt).toISOString(),
    });
  }
  return holdLease(ctx, slot, taken);
}

/** A held Lease: renewed on a timer until released or lost. */
function holdLease(ctx: Ctx, slot: number, lease: Lease): NodeLock {
  const { api, log } = ctx;
  const name = lease.metadata.name;
  const renewMs = renewIntervalMs(ctx.staleMs);
  let current = lease;
  let lastRenewed = Date.parse(lease.spec?.renewTime ?? '') || ctx.now().getTime();
  let compromised: Error | undefined;
  let released = false;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> | undefined;

  const lose = (reason: string) => {
    if (compromised) return; // the first reason is the one reported
    compromised = new Error(reason);
    log?.error('node lock compromised: the backup stops before its next write', { slot, error: reason });
  };

  const schedule = () => {
    timer = setTimeout(() => {
      inflight = renew().finally(() => {
        inflight = undefined;
        if (!released && !compromised) schedule();
      });
    }, renewMs);
    // Like proper-lockfile's refresh timer: the lock alone never keeps the process alive.
    timer.unref();
  };

  async function renew(): Promise<void> {
    const at = ctx.now();
    try {
      current = await api.update(renewedLease(current, at));
      lastRenewed = at.getTime();
      return;
    } catch (e) {
      if (released) return;
      if (isNotFound(e)) return lose(`the Lease ${ctx.namespace}/${name} was deleted`);
      if (!isConflict(e)) return failedRenewal(e as Error);
    }
    // 409: taken over, or our own renewal landed and the client's retry of it conflicted. The holder decides.
    try {
      const seen = await api.get(ctx.namespace, name);
      if (seen.spec?.holderIdentity === ctx.holder) {
        current = seen;
        lastRenewed = Date.parse(seen.spec.renewTime ?? '') || lastRenewed;
        return;
      }
      lose(`the Lease ${ctx.namespace}/${name} was taken over by ${seen.spec?.holderIdentity || 'nobody'}`);
    } catch (e) {
      if (isNotFound(e)) return lose(`the Lease ${ctx.namespace}/${name} was deleted`);
      failedRenewal(e as Error);
    }
  }

  /**
   * An API server that does not answer is no proof of loss, so renewals are retried; but another backup may take
   * the slot once the full stale time has passed since our last renewal. Giving up at half of it leaves the
   * holder the other half to reach its next assertHeld before anyone else can hold the slot.
   */
  function failedRenewal(e: Error): void {
    const since = ctx.now().getTime() - lastRenewed;
    if (since >= ctx.staleMs / 2) {
      lose(`the Lease ${ctx.namespace}/${name} was not renewed for ${formatMs(since)} (${e.message})`);
    } else {
      log?.warn('node lock renewal failed; retrying', { slot, error: e.message });
    }
  }

  /**
   * A renewal that hangs (the kube client waits up to a minute per request, and retries) reports nothing: the clock
   * decides too, so a holder never writes past the moment others may take its slot.
   */
  const lostBy = () => {
    if (!compromised && !released) {
      const since = ctx.now().getTime() - lastRenewed;
      if (since >= ctx.staleMs / 2)
        lose(`the Lease ${ctx.namespace}/${name} was not renewed for ${formatMs(since)}`);
    }
    return compromised;
  };

  schedule();
  return {
    slot,
    path: `${ctx.namespace}/${name}`,
    get compromised() {
      return lostBy();
    },
    assertHeld(step: string) {
      const lost = lostBy();
      if (lost)
        throw new JobError(
          `node lock slot ${slot} was compromised (${lost.message}); stopped before ${step}`,
        );
    },
    async release() {
      if (released) return;
      const lost = lostBy();
      released = true;
      clearTimeout(timer);
      if (lost) return; // not surely ours any more: someone else's Lease is left alone
      // A renewal under way changes the resourceVersion the delete's precondition names: wait for it, but not for
      // one that hangs (a SIGTERM'd pod has a grace period to keep); the Lease then goes stale instead.
      if (inflight) await Promise.race([inflight, sleep(renewMs)]);
      if (compromised) return;
      try {
        await api.delete(ctx.namespace, name, {
          uid: current.metadata.uid,
          resourceVersion: current.metadata.resourceVersion,
        });
        log?.debug('node lock released', { slot });
      } catch (e) {
        if (isNotFound(e)) return; // a retried delete whose first attempt went through
        log?.warn(
          isConflict(e)
            ? 'node lock release skipped: the Lease changed hands'
            : 'node lock release failed; the slot frees itself once stale',
          { slot, error: (e as Error).message },
        );
      }
    },
  };
}
