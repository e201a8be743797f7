// The backup flow driven directly (runBackup with its ports), against the emulator: the order of the steps and
// what happens around their failures: a stop (SIGTERM) between the hooks, a hook that hangs, S3 after the
// snapshots, an ambiguous snapshot create, a snapshot error that clears, a pod replaced during the lock wait, the
// outcome in S3. The command-level wiring is in flow.test.ts.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../lib/backup/flow.js';
import type { BackupDeps } from '../../lib/backup/flow.js';
import { planBackup } from '../../lib/backup/plan.js';
import type { BackupFolder, DatabaseOps } from '../../lib/backup/ports.js';
import { backupSettings } from '../../lib/backup/settings.js';
import { loadConfig } from '../../lib/config/index.js';
import { podExec } from '../../lib/exec/index.js';
import { JobError } from '../../lib/exit.js';
import type { BackupOutcome } from '../../lib/resources/outcome.js';
import { KubeApiError, connect, corePath, volumeSnapshotPath } from '../../lib/kube/index.js';
import type { KubeClient } from '../../lib/kube/index.js';
import { acquireNodeLock } from '../../lib/lock/index.js';
import { Logger } from '../../lib/log.js';
import { localProcessHandler, startCluster, type Cluster } from '../cluster/index.js';

let cluster: Cluster;
let dir: string;

beforeAll(async () => {
  cluster = await startCluster();
  dir = await mkdtemp(join(tmpdir(), 'nsbackup-order-'));
});

afterAll(async () => {
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
/** A namespace with two Bound PVCs and a database pod with a `sidecar` container that runs hooks locally. */
function seedNamespace(): string {
  const ns = `order-${++counter}`;
  const pvc = (name: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: ns },
    spec: { resources: { requests: { storage: '1Gi' } } },
    status: { phase: 'Bound', capacity: { storage: '1Gi' } },
  });
  cluster.seed(pvc('data'), pvc('wal'), dbPod(ns, 'db-0'), {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: ns },
    spec: { selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } } } },
  });
  cluster.exec.register(ns, 'db-0', 'sidecar', localProcessHandler());
  return ns;
}

function dbPod(ns: string, name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: 'db' } },
    spec: { containers: [{ name: 'postgres' }, { name: 'sidecar' }] },
  };
}

const DUMP = {
  files: [{ path: '/data/app.sql.gz', database: 'app', sizeBytes: 10, sha256: 'cd'.repeat(32) }],
  durationMs: 5,
};

/** What the fake upload reports: one dump in the backup's folder. */
const storedDumps = (keyPrefix: string) => [
  {
    location: `s3://b/nsbackup/${keyPrefix}/dump-app.sql.gz`,
    database: 'app',
    name: 'x',
    size: 1,
    sha256: 'x',
  },
];

function fakeDatabase(events: string[], over: Partial<DatabaseOps> = {}): DatabaseOps {
  return {
    check: async () => undefined,
    dump: async (target) => {
      events.push(`dump in ${target.pod}`);
      return DUMP;
    },
    uploadDumps: async (_t, _db, keyPrefix) => {
      events.push('upload dump');
      return storedDumps(keyPrefix);
    },
    ...over,
  };
}

const folderOf = (ns: string, id: string): BackupFolder => ({
  keyPrefix: `c1/${ns}/${id}`,
  folderKey: `nsbackup/c1/${ns}/${id}/`,
  location: `s3://b/nsbackup/c1/${ns}/${id}/`,
});

async function hooksFile(name: string, hooks: unknown): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, JSON.stringify(hooks));
  return path;
}

/** Hooks that append `pre`/`post` to a trace file in the sidecar. */
async function traceHooks(ns: string, pre: string[] = ['sh', '-c', 'echo pre >> "$1"', 'sh']) {
  const trace = join(dir, `${ns}-trace`);
  await writeFile(trace, '');
  const file = await hooksFile(ns, {
    pre: [{ name: 'freeze', container: 'sidecar', command: [...pre, trace] }],
    post: [{ name: 'thaw', container: 'sidecar', command: ['sh', '-c', 'echo post >> "$1"', 'sh', trace] }],
  });
  return {
    trace,
    file,
    lines: async () => (await readFile(trace, 'utf8')).trim().split('\n').filter(Boolean),
  };
}

interface Direct {
  env?: Record<string, string>;
  deps?: Partial<BackupDeps>;
  /** Wraps the client the flow uses (to fail or watch requests). */
  wrapKube?: (kube: KubeClient) => KubeClient;
}

async function backup(ns: string, options: Direct = {}) {
  const env = {
    NSBACKUP_NAMESPACE: ns,
    NSBACKUP_PVC: 'data,wal',
    NSBACKUP_DB: 'postgres',
    NSBACKUP_DB_TARGET: 'pod/db-0',
    NSBACKUP_DB_CONTAINER: 'postgres',
    NSBACKUP_LOCK: 'false',
    TZ: 'UTC',
    ...options.env,
  };
  const plan = planBackup(loadConfig(backupSettings, { env }), env);
  const real = connect({ kubeconfigPath: cluster.kubeconfigPath });
  const kube = options.wrapKube ? options.wrapKube(real) : real;
  const logs: any[] = [];
  const report = await runBackup(plan, {
    kube,
    log: new Logger({ write: (line) => logs.push(JSON.parse(line)) }),
    out: () => undefined,
    exec: podExec(real),
    database: fakeDatabase([]),
    acquireLock: acquireNodeLock,
    notifier: async () => undefined,
    typeInputs: { explicit: 'scheduled', jobName: '', podName: '', inCluster: false },
    now: () => new Date(),
    random: Math.random,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    pollMs: 20,
    ...options.deps,
  });
  return { report, logs };
}

const snapshotsIn = (ns: string) => cluster.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', ns);

/** A client whose snapshot creates go through `create`, and whose reads `read` sees (the rest as it is). */
function withSnapshotCreate(
  create: (real: KubeClient, path: string, body: any) => Promise<any>,
  read: (path: string, object: any) => void = () => undefined,
): (kube: KubeClient) => KubeClient {
  return (real) =>
    new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'create') {
          return (path: string, body: any) =>
            body?.kind === 'VolumeSnapshot' ? create(target, path, body) : target.create(path, body);
        }
        if (prop === 'getIfExists') {
          return async (path: string) => {
            const object = await target.getIfExists(path);
            read(path, object);
            return object;
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
}

describe('hooks', () => {
  it('thaws after a stop (SIGTERM) that came while the application was frozen', async () => {
    const ns = seedNamespace();
    const hooks = await traceHooks(ns);
    const stop = new AbortController();
    const { report } = await backup(ns, {
      env: { NSBACKUP_HOOKS_FILE: hooks.file },
      deps: {
        signal: stop.signal,
        database: fakeDatabase([], {
          dump: async () => {
            stop.abort(new JobError('stopped by SIGTERM'));
            throw new Error('database dump: exec aborted');
          },
        }),
      },
    });
    expect(report.error?.exitCode).toBe(1);
    expect(report.error?.message).toMatch(/exec aborted/);
    expect(await hooks.lines()).toEqual(['pre', 'post']);
    expect(snapshotsIn(ns)).toEqual([]);
  });

  it('does not start the pre hooks once stopped', async () => {
    const ns = seedNamespace();
    const hooks = await traceHooks(ns);
    const stop = new AbortController();
    stop.abort(new JobError('stopped by SIGTERM'));
    const { report } = await backup(ns, {
      env: { NSBACKUP_HOOKS_FILE: hooks.file },
      deps: { signal: stop.signal },
    });
    expect(report.error?.message).toBe('stopped by SIGTERM');
    expect(await hooks.lines()).toEqual([]);
  });

  it('a pre hook that hangs fails at NSBACKUP_HOOK_TIMEOUT, and the post hooks still run', async () => {
    const ns = seedNamespace();
    const hooks = await traceHooks(ns, ['sh', '-c', 'echo pre >> "$1"; sleep 30', 'sh']);
    const started = Date.now();
    const { report } = await backup(ns, {
      env: { NSBACKUP_HOOKS_FILE: hooks.file, NSBACKUP_HOOK_TIMEOUT: '1s' },
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(report.error?.message).toMatch(/pre hook "freeze" failed in db-0\/sidecar: no exit within 1s/);
    expect(await hooks.lines()).toEqual(['pre', 'post']);
    expect(snapshotsIn(ns)).toEqual([]);
  }, 20_000);
});

describe('order: the application is held only for the dump and the cut; S3 comes after', () => {
  it('pre hooks, dump, snapshots cut, post hooks, dump upload, export; the snapshots name the folder', async () => {
    const ns = seedNamespace();
    const hooks = await traceHooks(ns);
    const events: string[] = [];
    const outcomes: BackupOutcome[] = [];
    const note = (what: string) => async () => {
      events.push(`${what} (trace: ${(await hooks.lines()).join(',')})`);
    };
    const run = await backup(ns, {
      env: { NSBACKUP_HOOKS_FILE: hooks.file, NSBACKUP_S3_DUMP: 'true', NSBACKUP_S3_BUCKET: 'bucket' },
      wrapKube: withSnapshotCreate(async (real, path, body) => {
        events.push(
          `create ${body.spec.source.persistentVolumeClaimName} (trace: ${(await hooks.lines()).join(',')})`,
        );
        return real.create(path, body);
      }),
      deps: {
        database: fakeDatabase(events, {
          uploadDumps: async (_t, _db, keyPrefix) => {
            await note('upload dump')();
            return storedDumps(keyPrefix);
          },
        }),
        s3Folder: folderOf,
        exportResources: async (input) => {
          await note('export')();
          expect(input.dumps).toEqual([{ database: 'app', name: 'x', size: 1, sha256: 'x' }]);
          return { location: folderOf(ns, input.backupId).location, unreadable: [] };
        },
        writeOutcome: async (_folder, outcome) => void outcomes.push(outcome),
      },
    });
    expect(run.report.error, run.report.error?.message).toBeUndefined();
    expect(events).toEqual([
      'dump in db-0',
      'create data (trace: pre)',
      'create wal (trace: pre)',
      'upload dump (trace: pre,post)',
      'export (trace: pre,post)',
    ]);
    const folder = folderOf(ns, run.report.backupId).location;
    const mine = snapshotsIn(ns).filter(
      (s) => s.metadata.labels['nsbackup.io/backup'] === run.report.backupId,
    );
    expect(mine.map((s) => s.metadata.annotations['nsbackup.io/s3-location'])).toEqual([folder, folder]);
    expect(outcomes.map((o) => o.outcome)).toEqual(['succeeded']);
  });

  it("an S3 failure fails the run, records it, and keeps the snapshots, labelled as a failed run's", async () => {
    const ns = seedNamespace();
    const outcomes: { folder: BackupFolder; outcome: BackupOutcome }[] = [];
    const { report } = await backup(ns, {
      deps: {
        s3Folder: folderOf,
        exportResources: async () => {
          throw new Error('connect ECONNREFUSED 10.0.0.1:443');
        },
        writeOutcome: async (folder, outcome) => void outcomes.push({ folder, outcome }),
      },
    });
    const folder = folderOf(ns, report.backupId);
    expect(report.error?.exitCode).toBe(1);
    expect(report.error?.message).toBe(
      `storing the backup in ${folder.location} failed: connect ECONNREFUSED 10.0.0.1:443`,
    );
    // Good copies of the volumes, but no backup: no period label, outcome failed (list and retention read it).
    expect(
      snapshotsIn(ns).map((s) => [
        s.status.readyToUse,
        s.metadata.labels['nsbackup.io/outcome'],
        s.metadata.labels['nsbackup.io/failed'],
        s.metadata.labels['nsbackup.io/daily'],
      ]),
    ).toEqual([
      [true, 'failed', 'true', undefined],
      [true, 'failed', 'true', undefined],
    ]);
    expect(report.snapshots.map((s) => [s.outcome, s.run])).toEqual([
      ['ready', 'failed'],
      ['ready', 'failed'],
    ]);
    expect(outcomes).toEqual([
      {
        folder,
        outcome: expect.objectContaining({
          formatVersion: 1,
          backupId: report.backupId,
          outcome: 'failed',
          failures: [report.error?.message],
        }),
      },
    ]);
  });

  it('a failure to record the outcome fails the run', async () => {
    const ns = seedNamespace();
    const { report } = await backup(ns, {
      env: { NSBACKUP_DB: 'none', NSBACKUP_PVC: 'data' },
      deps: {
        s3Folder: folderOf,
        exportResources: async (input) => ({
          location: folderOf(ns, input.backupId).location,
          unreadable: [],
        }),
        writeOutcome: async () => {
          throw new Error('Access Denied');
        },
      },
    });
    expect(report.error?.message).toMatch(/^recording the outcome in s3:\/\/b\/.*\/ failed: Access Denied$/);
    // Labelled succeeded (with its day) before the outcome write failed, then failed (without it).
    expect(
      snapshotsIn(ns).map((s) => [
        s.metadata.labels['nsbackup.io/outcome'],
        s.metadata.labels['nsbackup.io/daily'],
      ]),
    ).toEqual([['failed', undefined]]);
  });

  it('records no outcome and names no folder when nothing goes to S3', async () => {
    const ns = seedNamespace();
    let written = 0;
    const { report } = await backup(ns, {
      env: { NSBACKUP_DB: 'none', NSBACKUP_PVC: 'data' },
      deps: { s3Folder: folderOf, writeOutcome: async () => void written++ },
    });
    expect(report.error).toBeUndefined();
    expect(written).toBe(0);
    expect(snapshotsIn(ns)[0].metadata.annotations['nsbackup.io/s3-location']).toBeUndefined();
  });
});

describe('snapshots', () => {
  it('tracks a snapshot whose create failed after the server committed it', async () => {
    const ns = seedNamespace();
    let first = true;
    const { report, logs } = await backup(ns, {
      wrapKube: withSnapshotCreate(async (real, path, body) => {
        const created = await real.create(path, body);
        if (first) {
          first = false;
          throw new Error('request timed out after 30000ms'); // the answer was lost, the object is there
        }
        return created;
      }),
    });
    expect(report.error, report.error?.message).toBeUndefined();
    expect(report.snapshots.map((s) => [s.pvc, s.outcome])).toEqual([
      ['data', 'ready'],
      ['wal', 'ready'],
    ]);
    expect(logs.some((l) => /create reported an error, but the snapshot exists/.test(l.msg))).toBe(true);
  });

  it('a tracked ambiguous create gets its verdict like the others: failed ones are discarded', async () => {
    const ns = seedNamespace();
    cluster.controllers.snapshot.failNext('quota exceeded');
    let first = true;
    const { report } = await backup(ns, {
      env: { NSBACKUP_SNAPSHOT_TIMEOUT: '1s' },
      wrapKube: withSnapshotCreate(async (real, path, body) => {
        await real.create(path, body);
        if (first) {
          first = false;
          throw new KubeApiError(504, 'Timeout', 'the server timed out', 'POST', path);
        }
      }),
    });
    expect(report.error?.message).toMatch(/snapshot data-.*last error: quota exceeded \(deleted\)/);
    await cluster.controllers.idle();
    expect(snapshotsIn(ns).map((s) => s.spec.source.persistentVolumeClaimName)).toEqual(['wal']);
  });

  it('a create that failed before the server stored anything fails the run, as before', async () => {
    const ns = seedNamespace();
    const { report } = await backup(ns, {
      wrapKube: withSnapshotCreate(async () => {
        throw new Error('socket hang up');
      }),
    });
    expect(report.error?.message).toBe('socket hang up');
    expect(snapshotsIn(ns)).toEqual([]);
  });

  it('waits through a status.error that the snapshotter clears on a retry', async () => {
    const ns = seedNamespace();
    cluster.controllers.snapshot.failNext('conflict: the object has been modified; please retry');
    const kube = connect({ kubeconfigPath: cluster.kubeconfigPath });
    let seen: string | undefined;
    // The snapshotter's retry succeeds once the run has seen the error, and clears it.
    const retry = (async () => {
      for (let i = 0; i < 1000 && !seen; i++) await new Promise((r) => setTimeout(r, 10));
      await kube.mergePatch(volumeSnapshotPath(ns, seen!) + '/status', {
        status: { error: null, readyToUse: true, creationTime: new Date().toISOString() },
      });
    })();
    const { report, logs } = await backup(ns, {
      env: { NSBACKUP_SNAPSHOT_TIMEOUT: '20s' },
      wrapKube: withSnapshotCreate(
        (real, path, body) => real.create(path, body),
        (_path, vs) => {
          if (vs?.status?.error) seen ??= vs.metadata.name;
        },
      ),
    });
    await retry;
    expect(seen).toBeDefined();
    expect(report.error, report.error?.message).toBeUndefined();
    expect(report.snapshots.map((s) => s.outcome)).toEqual(['ready', 'ready']);
    expect(logs.filter((l) => l.msg === 'snapshot ready')).toHaveLength(2);
  }, 30_000);
});

describe('the exec target after the lock wait', () => {
  it('dumps in the pod that runs when the lock is acquired, not the one found before the wait', async () => {
    const ns = seedNamespace();
    const events: string[] = [];
    const lockDir = join(dir, `${ns}-locks`);
    const { report } = await backup(ns, {
      env: { NSBACKUP_LOCK: 'true', NSBACKUP_LOCK_DIR: lockDir, NSBACKUP_DB_TARGET: 'statefulset/db' },
      deps: {
        database: fakeDatabase(events),
        acquireLock: async (opts) => {
          // During the wait a rollout replaced the pod.
          const kube = connect({ kubeconfigPath: cluster.kubeconfigPath });
          await kube.delete(corePath('pods', ns, 'db-0'));
          cluster.seed(dbPod(ns, 'db-1'));
          return acquireNodeLock(opts);
        },
      },
    });
    expect(report.error, report.error?.message).toBeUndefined();
    expect(events).toEqual(['dump in db-1']);
  });
});
