// The node lock on coordination.k8s.io/v1 Leases, the decisions: a slot's Lease name, whether a Lease is held,
// free or stale, and the bodies of the writes. Pure: the clock is a parameter, no I/O.

import { createHash } from 'node:crypto';

/** The fields of a Lease the lock reads and writes. */
export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Kubernetes object names may be 253 long; 63 keeps the Lease name usable as a label value and readable. */
const MAX_NAME = 63;
const PREFIX = 'nsbackup-';

/**
 * The Lease of one slot on one node: `nsbackup-<node>-<slot>`. Node names are DNS subdomains of up to 253
 * characters; a long one is cut and followed by a hash of the whole name, so two long names that share a start
 * never share a Lease.
 */
export function leaseName(node: string, slot: number): string {
  const suffix = `-${slot}`;
  const plain = `${PREFIX}${node}${suffix}`;
  if (plain.length <= MAX_NAME) return plain;
  const hash = createHash('sha256').update(node).digest('hex').slice(0, 10);
  const room = MAX_NAME - PREFIX.length - suffix.length - hash.length - 1;
  // A cut may end on '.' or '-', which may not precede the '-' that follows (nor end a DNS label).
  const head = node.slice(0, room).replace(/[-.]+$/, '');
  return `${PREFIX}${head}-${hash}${suffix}`;
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits (the API server refuses three). */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Whole seconds, at least one: leaseDurationSeconds is an integer. */
export function leaseDurationSeconds(staleMs: number): number {
  return Math.max(1, Math.ceil(staleMs / 1000));
}

export type LeaseState =
  | { state: 'free' }
  | { state: 'held'; holder: string; expiresAt: number }
  | { state: 'stale'; holder: string; expiredAt: number };

/**
 * What a Lease we did not create says about its slot. A holder renews renewTime well within its
 * leaseDurationSeconds; once renewTime + leaseDurationSeconds is past (by our clock), the holder stopped (killed,
 * its node gone) and the slot may be taken over. No holderIdentity: released, free.
 */
export function leaseState(lease: Lease, now: number): LeaseState {
  const spec = lease.spec ?? {};
  const holder = spec.holderIdentity ?? '';
  if (!holder) return { state: 'free' };
  const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  // A Lease without a readable time and duration was never renewed by a holder of ours: it can only go stale.
  if (!Number.isFinite(renewed) || !spec.leaseDurationSeconds)
    return { state: 'stale', holder, expiredAt: now };
  const expiresAt = renewed + spec.leaseDurationSeconds * 1000;
  return expiresAt <= now
    ? { state: 'stale', holder, expiredAt: expiresAt }
    : { state: 'held', holder, expiresAt };
}

export interface LeaseClaim {
  namespace: string;
  name: string;
  node: string;
  slot: number;
  holder: string;
  staleMs: number;
  now: Date;
}

/** A new Lease held by us (the create that acquires a free slot). */
export function newLease(c: LeaseClaim): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: c.name,
      namespace: c.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'nsbackup', 'nsbackup.io/lock-slot': String(c.slot) },
      // The node name may be too long for a label value.
      annotations: { 'nsbackup.io/node': c.node },
    },
    spec: {
      holderIdentity: c.holder,
      leaseDurationSeconds: leaseDurationSeconds(c.staleMs),
      acquireTime: microTime(c.now),
      renewTime: microTime(c.now),
      leaseTransitions: 0,
    },
  };
}

/**
 * The update that takes over a free or stale Lease. It carries the resourceVersion we read, so of two backups
 * that saw the same stale Lease only one update succeeds; the other gets 409 Conflict.
 */
export function takeoverLease(observed: Lease, c: LeaseClaim): Lease {
  return {
    ...observed,
    metadata: { ...observed.metadata },
    spec: {
      ...observed.spec,
      holderIdentity: c.holder,
      leaseDurationSeconds: leaseDurationSeconds(c.staleMs),
      acquireTime: microTime(c.now),
      renewTime: microTime(c.now),
      leaseTransitions: (observed.spec?.leaseTransitions ?? 0) + 1,
    },
  };
}

/** The renewal: our last-known Lease with a new renewTime (and its resourceVersion: a takeover makes it 409). */
export function renewedLease(ours: Lease, now: Date): Lease {
  return { ...ours, metadata: { ...ours.metadata }, spec: { ...ours.spec, renewTime: microTime(now) } };
}

/**
 * How often a holder renews: a quarter of the stale time, as the file lock refreshes. A holder counts its lock lost
 * after half the stale time without a renewal (lease-lock.ts), so the interval must stay well below that: no
 * floor of a second as the file lock has (with the 2 s minimum stale time that would be half of it). Node timers
 * overflow above 2^31-1 ms.
 */
export function renewIntervalMs(staleMs: number): number {
  return Math.min(Math.max(250, Math.floor(staleMs / 4)), 2 ** 31 - 1);
}
