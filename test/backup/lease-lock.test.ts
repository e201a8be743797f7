// The lease lock against the emulator (coordination.k8s.io Leases with resourceVersion conflicts on update and
// delete preconditions): slots serialize backups, a killed holder's slot is taken over after the stale time and
// only by one taker, a holder that lost its Lease stops before writing, and the backup CLI releases its Lease on
// SIGTERM.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { ExitCode, JobError } from '../../lib/exit.js';
import { connect, type KubeClient } from '../../lib/kube/index.js';
import { acquireLeaseLock, leaseApi, leaseName, microTime, type LeaseApi } from '../../lib/lock/index.js';
import { createBackupCommand } from '../../scripts/backup.js';
import { REPO_ROOT } from '../kit/index.js';
import { startCluster, type Cluster } from '../cluster/index.js';

const LOCKS = 'nsbackup-locks';
let cluster: Cluster;
let kube: KubeClient;
let api: LeaseApi;
let dir: string;

beforeAll(async () => {
  cluster = await startCluster();
  kube = connect({ kubeconfigPath: cluster.kubeconfigPath });
  api = leaseApi(kube);
  dir = await mkdtemp(join(tmpdir(), 'nsbackup-lease-'));
  cluster.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: LOCKS } });
});

afterAll(async () => {
  kube?.close();
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

const leases = (ns = LOCKS) => cluster.list('coordination.k8s.io/v1', 'Lease', ns);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let nodes = 0;
/** A node of its own per test, so the tests' slots never meet. */
const freshNode = () => `node-${++nodes}`;

const acquire = (node: string, opts: Partial<Parameters<typeof acquireLeaseLock>[0]> = {}) =>
  acquireLeaseLock({
    api,
    namespace: LOCKS,
    node,
    pod: 'backup-x',
    slots: 1,
    timeoutMs: 10_000,
    pollMs: 50,
    ...opts,
  });

describe('lease lock on the emulator', () => {
  it('lets two backups of one node with one slot run one after the other, and deletes its Lease after', async () => {
    const node = freshNode();
    const events: string[] = [];
    const holder = async (name: string) => {
      const lock = await acquire(node, { pod: name });
      events.push(`${name} start`);
      await sleep(300);
      events.push(`${name} end`);
      await lock.release();
    };
    await Promise.all([holder('a'), holder('b')]);
    expect(events).toHaveLength(4);
    expect(events[1]).toBe(events[0].replace('start', 'end'));
    expect(events[3]).toBe(events[2].replace('start', 'end'));
    expect(leases().filter((l) => l.metadata.name.includes(node))).toEqual([]);
  });

  it('uses the next slot while one is held, and gives up with exit 3 when all are', async () => {
    const node = freshNode();
    const a = await acquire(node, { slots: 2, pod: 'a' });
    const b = await acquire(node, { slots: 2, pod: 'b' });
    expect(new Set([a.slot, b.slot])).toEqual(new Set([1, 2]));
    expect(
      cluster.get('coordination.k8s.io/v1', 'Lease', LOCKS, leaseName(node, a.slot)).spec.holderIdentity,
    ).toMatch(/^a-[0-9a-f]{8}$/);
    const started = Date.now();
    const error = await acquire(node, { slots: 2, timeoutMs: 400, pollMs: 100 }).catch((e) => e);
    expect(error).toBeInstanceOf(JobError);
    expect(error.exitCode).toBe(ExitCode.lockTimeout);
    expect(error.message).toMatch(
      /node lock not acquired within 400ms: all 2 slot\(s\) of node node-\d+ .*nsbackup-locks/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    await a.release();
    await b.release();
  });

  it('takes over a Lease whose holder stopped renewing once it is stale, and only one of two takers wins', async () => {
    const node = freshNode();
    const renewed = Date.now() - 1_000;
    cluster.seed({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: leaseName(node, 1), namespace: LOCKS },
      spec: {
        holderIdentity: 'dead-holder',
        leaseDurationSeconds: 3,
        renewTime: microTime(new Date(renewed)),
      },
    });
    const logs: any[] = [];
    const log = {
      info: () => {},
      debug: () => {},
      error: () => {},
      warn: (msg: string, f: any) => logs.push({ msg, ...f }),
    };
    // Both see the same stale Lease; the update carries the resourceVersion they read, so the slower one gets 409.
    const results = await Promise.allSettled([
      acquire(node, { pod: 'one', timeoutMs: 4_000, staleMs: 10_000, log: log as any }),
      acquire(node, { pod: 'two', timeoutMs: 4_000, staleMs: 10_000, log: log as any }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason.exitCode).toBe(ExitCode.lockTimeout);
    // Not before the old holder's renewTime + leaseDurationSeconds.
    expect(Date.now()).toBeGreaterThanOrEqual(renewed + 3_000);
    expect(logs).toEqual([
      expect.objectContaining({
        msg: 'node lock slot taken over from a holder that stopped renewing it',
        previousHolder: 'dead-holder',
      }),
    ]);
    const lease = cluster.get('coordination.k8s.io/v1', 'Lease', LOCKS, leaseName(node, 1));
    expect(lease.spec.leaseTransitions).toBe(1);
    await (won[0] as PromiseFulfilledResult<any>).value.release();
  }, 20_000);

  it('renews its Lease while held, and stops the backup when another holder took the Lease over', async () => {
    const node = freshNode();
    const lock = await acquire(node, { staleMs: 2_000 });
    const first = cluster.get('coordination.k8s.io/v1', 'Lease', LOCKS, leaseName(node, 1));
    await sleep(1_500);
    const renewed = cluster.get('coordination.k8s.io/v1', 'Lease', LOCKS, leaseName(node, 1));
    expect(Date.parse(renewed.spec.renewTime)).toBeGreaterThan(Date.parse(first.spec.renewTime));
    expect(() => lock.assertHeld('creating snapshots')).not.toThrow();

    // Someone else takes it (a taker that saw it stale: a paused holder, a clock jump).
    await api.update({ ...renewed, spec: { ...renewed.spec, holderIdentity: 'intruder' } });
    for (let i = 0; i < 50 && !lock.compromised; i++) await sleep(100);
    expect(lock.compromised?.message).toMatch(/taken over by intruder/);
    expect(() => lock.assertHeld('creating snapshots')).toThrow(
      /compromised.*stopped before creating snapshots/,
    );
    await lock.release();
    // The intruder's Lease is not ours to delete.
    expect(
      cluster.get('coordination.k8s.io/v1', 'Lease', LOCKS, leaseName(node, 1)).spec.holderIdentity,
    ).toBe('intruder');
  });
});

describe('lease lock renewals that do not get through', () => {
  it('a renewal that hangs makes the lock lost after half the stale time, before anyone may take it', async () => {
    const node = freshNode();
    const lock = await acquire(node, { staleMs: 2_000 });
    // The API server stops answering renewals (a network partition): each PUT hangs for 20 s.
    cluster.faults.add({ verb: 'update', path: /\/leases\//, delayMs: 20_000 });
    try {
      const started = Date.now();
      while (!lock.compromised && Date.now() - started < 5_000) await sleep(50);
      const lostAfter = Date.now() - started;
      expect(lock.compromised?.message).toMatch(/was not renewed for/);
      // Lost at 1 s after the last renewal (half of 2 s): well before the 2 s after which another may take it.
      expect(lostAfter).toBeLessThan(1_500);
      expect(() => lock.assertHeld('creating snapshots')).toThrow(
        /compromised.*stopped before creating snapshots/,
      );
      // Releasing does not wait for the hanging renewal (a SIGTERM'd pod has a grace period), nor delete a Lease
      // that may be someone else's by now.
      const releasing = Date.now();
      await lock.release();
      expect(Date.now() - releasing).toBeLessThan(1_000);
      expect(leases().filter((l) => l.metadata.name.includes(node))).toHaveLength(1);
    } finally {
      cluster.faults.clear();
    }
  });

  it('a renewal refused for a while is retried and the lock stays held', async () => {
    const node = freshNode();
    const lock = await acquire(node, { staleMs: 8_000 }); // renewals every 2 s, lost after 4 s without one
    cluster.faults.add({ verb: 'update', path: /\/leases\//, status: 409, times: 1 });
    await sleep(2_600);
    // A renewal answered 409 (as a retried PUT whose first attempt landed is): the holder reads the Lease, finds its
    // own identity there and keeps it.
    expect(lock.compromised).toBeUndefined();
    expect(() => lock.assertHeld('creating snapshots')).not.toThrow();
    await lock.release();
    expect(leases().filter((l) => l.metadata.name.includes(node))).toEqual([]);
  });
});

describe('the backup command with NSBACKUP_LOCK_BACKEND=lease', () => {
  let nsCounter = 0;
  /** A namespace with a Bound PVC and a pod whose pre hook blocks until the run stops. */
  function seedNamespace(): string {
    const ns = `app-${++nsCounter}`;
    cluster.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: ns },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        status: { phase: 'Bound', capacity: { storage: '1Gi' } },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'app-0', namespace: ns },
        spec: { containers: [{ name: 'app', image: 'app' }] },
      },
    );
    cluster.exec.register(
      ns,
      'app-0',
      'app',
      (_req, io) => new Promise((resolve) => io.signal.addEventListener('abort', () => resolve(137))),
    );
    return ns;
  }

  async function env(ns: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const hooks = join(dir, `${ns}-hooks.yaml`);
    await writeFile(hooks, 'pre:\n  - target: pod/app-0\n    container: app\n    command: [sleep, "600"]\n');
    return {
      PATH: process.env.PATH ?? '',
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_NAMESPACE: ns,
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      NSBACKUP_TYPE: 'scheduled',
      NSBACKUP_HOOKS_FILE: hooks,
      NSBACKUP_LOCK_BACKEND: 'lease',
      NSBACKUP_NODE_NAME: 'worker-7',
      NSBACKUP_POD_NAME: `nightly-${ns}`,
      NSBACKUP_LOCK_SLOTS: '1',
      NSBACKUP_LOCK_STALE: '2s',
      NSBACKUP_LOG_FORMAT: 'json',
      TZ: 'UTC',
      ...extra,
    };
  }

  /** The backup CLI in a child process, resolved once it holds its lock slot. */
  async function startBackup(
    childEnv: Record<string, string>,
  ): Promise<{ child: ChildProcess; exit: Promise<number | null>; output: () => string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/nsbackup.ts', 'backup'], {
      cwd: REPO_ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        output += d.toString();
        if (output.includes('"node lock acquired"')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exit.then((code) => reject(new Error(`backup exited early (${code}):\n${output}`)));
      setTimeout(() => reject(new Error(`backup took no lock in 30 s:\n${output}`)), 30_000);
    });
    return { child, exit, output: () => output };
  }

  it('refuses to start without a node name, naming the variable (exit 2)', async () => {
    const ns = seedNamespace();
    const logs: string[] = [];
    const { NSBACKUP_NODE_NAME: _, ...noNode } = await env(ns);
    const code = await runCommand(createBackupCommand({ checkStore: async () => {} }), {
      env: noNode,
      write: (line) => logs.push(line),
      out: () => {},
    });
    expect(code).toBe(ExitCode.badConfig);
    expect(logs.join('\n')).toMatch(/NSBACKUP_LOCK_BACKEND=lease needs NSBACKUP_NODE_NAME/);
    expect(leases(ns)).toEqual([]);
  });

  it('holds a Lease in the namespace backed up while it runs, and deletes it when stopped with SIGTERM', async () => {
    const ns = seedNamespace();
    const run = await startBackup(await env(ns));
    const held = leases(ns);
    expect(held.map((l) => l.metadata.name)).toEqual(['nsbackup-worker-7-1']);
    expect(held[0].spec.holderIdentity).toMatch(new RegExp(`^nightly-${ns}-[0-9a-f]{8}$`));
    run.child.kill('SIGTERM');
    const code = await run.exit;
    expect(code, run.output()).toBe(ExitCode.failed);
    expect(run.output()).toMatch(/received SIGTERM/);
    expect(leases(ns)).toEqual([]);
  }, 60_000);

  it('leaves the Lease of a run killed with SIGKILL, which the next run takes over after the stale time', async () => {
    const ns = seedNamespace();
    const shared = { NSBACKUP_LOCK_NAMESPACE: LOCKS, NSBACKUP_NODE_NAME: 'worker-8' };
    const run = await startBackup(await env(ns, shared));
    run.child.kill('SIGKILL');
    await run.exit;
    const dead = cluster.get('coordination.k8s.io/v1', 'Lease', LOCKS, 'nsbackup-worker-8-1');
    expect(dead.spec.holderIdentity).toMatch(new RegExp(`^nightly-${ns}-`));
    const killedAt = Date.now();

    // The next run on that node (another namespace, the same shared lock namespace) waits for the stale time.
    const next = seedNamespace();
    const second = await startBackup(await env(next, shared));
    const waited = Date.now() - killedAt;
    const takeover = second
      .output()
      .split('\n')
      .filter((l) => l.includes('taken over from a holder that stopped renewing it'))
      .map((l) => JSON.parse(l));
    expect(takeover).toEqual([expect.objectContaining({ previousHolder: dead.spec.holderIdentity })]);
    // Not before the dead holder's last renewTime + leaseDurationSeconds (2 s).
    const expiry = Date.parse(dead.spec.renewTime) + dead.spec.leaseDurationSeconds * 1000;
    expect(dead.spec.leaseDurationSeconds).toBe(2);
    expect(Date.parse(takeover[0].time)).toBeGreaterThanOrEqual(expiry);
    expect(
      cluster.get('coordination.k8s.io/v1', 'Lease', LOCKS, 'nsbackup-worker-8-1').spec.holderIdentity,
    ).toMatch(new RegExp(`^nightly-${next}-`));
    // The stale time (2 s) after the last renewal (at most 0.5 s before the kill), plus the start of the second run.
    expect(waited).toBeLessThan(15_000);
    console.log(
      `lease takeover: ${waited} ms from SIGKILL to the next run holding the slot (stale time 2 s)`,
    );
    second.child.kill('SIGTERM');
    await second.exit;
    expect(leases(LOCKS).filter((l) => l.metadata.name === 'nsbackup-worker-8-1')).toEqual([]);
  }, 60_000);
});
