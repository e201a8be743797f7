// The lease node lock on a real control plane: Leases as the chart's backup ServiceAccount, authorised by the
// chart's own lock Role (real RBAC, real tokens), against real kube-apiserver optimistic concurrency. One cluster
// for the whole file (starting one is slow).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../lib/exit.js';
import { connect, type KubeClient } from '../../lib/kube/index.js';
import { acquireLeaseLock, leaseApi, leaseName, microTime, type LeaseApi } from '../../lib/lock/index.js';
import { helmTemplate } from '../kit/index.js';
import { valuesFile } from '../chart/rendered.js';
import { startRealCluster, type RealCluster } from './index.js';

const TENANT = 'tenant-a';
const LOCKS = 'nsbackup-locks';
const SA = `${TENANT}-backup`;
let cluster: RealCluster;
let kube: KubeClient;
let api: LeaseApi;
let lockRole: any;

const json = (args: string[]) => JSON.parse(cluster.kubectl([...args, '-o', 'json']));
const leases = () => json(['-n', LOCKS, 'get', 'leases']).items as any[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await startRealCluster();
  // The chart's lease install (ci/lease-values.yaml) in TENANT: its backup ServiceAccount and lock Role/binding.
  const rendered = helmTemplate({ namespace: TENANT, release: TENANT, valuesFiles: [valuesFile('lease')] });
  const wanted = rendered.filter(
    (o) =>
      (o.kind === 'ServiceAccount' && o.metadata.name === SA) ||
      ((o.kind === 'Role' || o.kind === 'RoleBinding') && o.metadata.namespace === LOCKS),
  );
  expect(wanted.map((o) => o.kind).sort()).toEqual(['Role', 'RoleBinding', 'ServiceAccount']);
  lockRole = wanted.find((o) => o.kind === 'Role');
  cluster.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TENANT } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LOCKS } },
        ...wanted,
      ],
    }),
  );
  const token = cluster.kubectl(['-n', TENANT, 'create', 'token', SA]).trim();
  kube = connect({ kubeconfigPath: cluster.kubeconfigFor(SA, token, TENANT) });
  api = leaseApi(kube);
}, 180_000);

afterAll(async () => {
  kube?.close();
  await cluster?.close();
});

const acquire = (node: string, opts: Partial<Parameters<typeof acquireLeaseLock>[0]> = {}) =>
  acquireLeaseLock({
    api,
    namespace: LOCKS,
    node,
    pod: 'backup-x',
    slots: 1,
    timeoutMs: 20_000,
    pollMs: 100,
    ...opts,
  });

describe('the lease lock on a real API server, as the chart backup ServiceAccount', () => {
  it('two backups with one slot run one after the other; the holder renews meanwhile; nothing is left', async () => {
    const node = 'testnode-1';
    const events: string[] = [];
    const renewTimes = new Set<string>();
    const holder = async (name: string) => {
      const lock = await acquire(node, { pod: name, staleMs: 4_000 }); // renewed every second
      events.push(`${name} start`);
      for (let i = 0; i < 6; i++) {
        await sleep(400);
        const lease = json(['-n', LOCKS, 'get', 'lease', leaseName(node, 1)]);
        expect(lease.spec.holderIdentity).toMatch(new RegExp(`^${name}-[0-9a-f]{8}$`));
        renewTimes.add(lease.spec.renewTime);
      }
      expect(() => lock.assertHeld('creating snapshots')).not.toThrow();
      events.push(`${name} end`);
      await lock.release();
    };
    await Promise.all([holder('a'), holder('b')]);
    expect(events).toHaveLength(4);
    expect(events[1]).toBe(events[0].replace('start', 'end'));
    expect(events[3]).toBe(events[2].replace('start', 'end'));
    // The server stored the MicroTime renewals (six fractional digits), several per holder.
    expect(renewTimes.size).toBeGreaterThanOrEqual(4);
    for (const t of renewTimes) expect(t).toMatch(/\.\d{6}Z$/);
    expect(leases()).toEqual([]);
  }, 60_000);

  it('a stale Lease is taken over by exactly one of two backups (resourceVersion conflict), after its expiry', async () => {
    const node = 'testnode-2';
    const renewed = Date.now() - 2_000;
    cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: leaseName(node, 1), namespace: LOCKS },
        spec: {
          holderIdentity: 'killed-run-0badf00d',
          leaseDurationSeconds: 5,
          renewTime: microTime(new Date(renewed)),
        },
      }),
    );
    const results = await Promise.allSettled(
      ['one', 'two'].map((pod) => acquire(node, { pod, timeoutMs: 6_000, staleMs: 30_000 })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((r) => (r as PromiseRejectedResult).reason.exitCode)).toEqual([ExitCode.lockTimeout]);
    const lease = json(['-n', LOCKS, 'get', 'lease', leaseName(node, 1)]);
    expect(lease.spec.leaseTransitions).toBe(1);
    expect(lease.spec.holderIdentity).toMatch(/^(one|two)-[0-9a-f]{8}$/);
    expect(Date.parse(lease.spec.acquireTime)).toBeGreaterThanOrEqual(renewed + 5_000);
    await (won[0] as PromiseFulfilledResult<any>).value.release();
    expect(leases()).toEqual([]);
  }, 60_000);

  it("the chart's lock Role grants exactly the verbs the lock sends, only in the lock namespace", () => {
    const token = cluster.kubectl(['-n', TENANT, 'create', 'token', SA]).trim();
    const kubeconfig = cluster.kubeconfigFor(`${SA}-can-i`, token, TENANT);
    const canI = (verb: string, ns: string) => {
      try {
        cluster.kubectl([
          '--kubeconfig',
          kubeconfig,
          'auth',
          'can-i',
          verb,
          'leases.coordination.k8s.io',
          '-n',
          ns,
          '-q',
        ]);
        return true;
      } catch {
        return false;
      }
    };
    const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
    // lib/lock/lease-api.ts sends get, create, update (PUT) and delete; the tests above ran with this token.
    expect(verbs.filter((v) => canI(v, LOCKS))).toEqual(['get', 'create', 'update', 'delete']);
    expect(verbs.filter((v) => canI(v, LOCKS)).sort()).toEqual([...lockRole.rules[0].verbs].sort());
    expect(verbs.filter((v) => canI(v, 'kube-node-lease'))).toEqual([]);
    expect(verbs.filter((v) => canI(v, 'default'))).toEqual([]);
  });

  it('a lock namespace the ServiceAccount may not use fails the run with what to grant (exit 1, not a wait)', async () => {
    const error = await acquire('testnode-3', { namespace: 'default', timeoutMs: 60_000 }).catch((e) => e);
    expect(error.exitCode).toBe(ExitCode.failed);
    expect(error.message).toMatch(
      /cannot use the node lock Lease default\/nsbackup-testnode-3-1: .*forbidden.*needs get, create, update and delete on leases.coordination.k8s.io in default/,
    );
  });
});
