// The lease lock's decisions, without a server: Lease names, staleness, the renewal interval, and the
// configuration rule for the lease backend.

import { describe, expect, it } from 'vitest';
import { DNS_SUBDOMAIN } from '../../lib/config/index.js';
import {
  holderIdentity,
  leaseName,
  leaseState,
  microTime,
  newLease,
  renewIntervalMs,
  takeoverLease,
  type Lease,
} from '../../lib/lock/index.js';
import { lockRequestOf, type LockConfig } from '../../lib/lock/settings.js';

const lease = (spec: Lease['spec']): Lease => ({ metadata: { name: 'l', resourceVersion: '7' }, spec });
const T = Date.parse('2026-12-07T10:00:00Z');

describe('lease names', () => {
  it('names a slot by node and slot number', () => {
    expect(leaseName('worker-1', 3)).toBe('nsbackup-worker-1-3');
    expect(leaseName('ip-10-0-0-1.ec2.internal', 1)).toBe('nsbackup-ip-10-0-0-1.ec2.internal-1');
  });

  it('cuts a long node name to a valid name of at most 63 characters that still tells nodes apart', () => {
    const base = 'a-very-long-node-name-from-a-cloud-provider.with.several.dns.labels';
    const names = [
      `${base}.zone-a`,
      `${base}.zone-b`,
      `${'x'.repeat(250)}`,
      `${'y'.repeat(40)}.${'z'.repeat(40)}`,
    ];
    for (const node of names) {
      for (const slot of [1, 1024]) {
        const name = leaseName(node, slot);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(name).toMatch(DNS_SUBDOMAIN);
        expect(name.endsWith(`-${slot}`)).toBe(true);
      }
    }
    expect(leaseName(names[0], 1)).not.toBe(leaseName(names[1], 1));
    // A cut that would end on a dot is not followed by '-' (".-" is no DNS name).
    expect(leaseName(`${'y'.repeat(40)}.${'z'.repeat(40)}`, 1)).not.toMatch(/[.-]-/);
  });
});

describe('lease state', () => {
  const held = lease({
    holderIdentity: 'backup-abc-1234',
    leaseDurationSeconds: 60,
    renewTime: microTime(new Date(T)),
  });

  it('is held until renewTime + leaseDurationSeconds, stale from then on', () => {
    expect(leaseState(held, T + 59_999)).toMatchObject({ state: 'held', holder: 'backup-abc-1234' });
    expect(leaseState(held, T + 60_000)).toMatchObject({ state: 'stale', expiredAt: T + 60_000 });
  });

  it('is free without a holder, and stale without a readable renew time', () => {
    expect(leaseState(lease({ leaseDurationSeconds: 60 }), T).state).toBe('free');
    expect(leaseState(lease({ holderIdentity: 'x', leaseDurationSeconds: 60 }), T).state).toBe('stale');
    expect(
      leaseState(lease({ holderIdentity: 'x', renewTime: 'garbage', leaseDurationSeconds: 9 }), T).state,
    ).toBe('stale');
  });

  it('falls back to acquireTime when renewTime is missing', () => {
    const acquiredOnly = lease({
      holderIdentity: 'x',
      leaseDurationSeconds: 10,
      acquireTime: microTime(new Date(T)),
    });
    expect(leaseState(acquiredOnly, T + 5_000).state).toBe('held');
  });
});

describe('lease writes', () => {
  const claim = {
    namespace: 'locks',
    name: 'nsbackup-n1-1',
    node: 'n1',
    slot: 1,
    holder: 'me-00ff',
    staleMs: 2_500,
    now: new Date(T),
  };

  it('writes MicroTime with six fractional digits, which the API server requires', () => {
    expect(microTime(new Date(T + 123))).toBe('2026-12-07T10:00:00.123000Z');
    expect(newLease(claim).spec).toMatchObject({
      holderIdentity: 'me-00ff',
      leaseDurationSeconds: 3, // whole seconds, rounded up: never shorter than the stale time
      renewTime: '2026-12-07T10:00:00.000000Z',
    });
  });

  it('takes over with the resourceVersion it read, so a second taker of the same Lease conflicts', () => {
    const observed = lease({ holderIdentity: 'dead', leaseDurationSeconds: 60, leaseTransitions: 2 });
    const next = takeoverLease(observed, claim);
    expect(next.metadata.resourceVersion).toBe('7');
    expect(next.spec).toMatchObject({ holderIdentity: 'me-00ff', leaseTransitions: 3 });
  });

  it('renews every quarter of the stale time, twice before a holder counts its lock lost, within the timer limit', () => {
    expect(renewIntervalMs(60_000)).toBe(15_000);
    // The shortest stale time (2 s): lost after 1 s without renewal, so renewals come every 0.5 s.
    expect(renewIntervalMs(2_000)).toBe(500);
    // Node timers overflow above 2^31 - 1 ms and then fire at once: a year-long stale time must not.
    expect(renewIntervalMs(365 * 86_400_000)).toBe(2 ** 31 - 1);
  });

  it('identifies the holder by pod name and a random part, different per process', () => {
    expect(holderIdentity('nightly-29123-abcde', () => Buffer.from([1, 2, 3, 4]))).toBe(
      'nightly-29123-abcde-01020304',
    );
    expect(holderIdentity('p')).not.toBe(holderIdentity('p'));
  });
});

describe('lock settings', () => {
  const config: LockConfig = {
    lock: true,
    lockBackend: 'lease',
    lockDir: '/tmp/l',
    lockNamespace: '',
    nodeName: '',
    lockSlots: 2,
    lockTimeout: 1_000,
    lockStale: 60_000,
  };

  it('refuses the lease backend without a node name, naming the variable', () => {
    const { request, problems } = lockRequestOf(config, 'pod');
    expect(request).toBeUndefined();
    expect(problems.join()).toMatch(/NSBACKUP_LOCK_BACKEND=lease needs NSBACKUP_NODE_NAME.*spec\.nodeName/);
  });

  it('asks for Leases on the node, or for files, or for nothing', () => {
    expect(lockRequestOf({ ...config, nodeName: 'n1' }, 'pod').request?.lease).toEqual({
      namespace: '',
      node: 'n1',
      pod: 'pod',
    });
    expect(lockRequestOf({ ...config, lockBackend: 'file' }, 'pod').request).toMatchObject({ dir: '/tmp/l' });
    expect(lockRequestOf({ ...config, lockBackend: 'file' }, 'pod').request?.lease).toBeUndefined();
    expect(lockRequestOf({ ...config, lock: false }, 'pod')).toEqual({ problems: [] });
  });
});
