// The backup command against the emulator: labels, snapshot failures, dry run, lock, ad-hoc runs, notification.
// The database steps are a fake here (the real dumps are in database.test.ts), so each case stays fast.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseOps } from '../../lib/backup/ports.js';
import { runCommand } from '../../lib/command.js';
import { acquireNodeLock } from '../../lib/lock/index.js';
import { createBackupCommand } from '../../scripts/backup.js';
import { createListCommand } from '../../scripts/list.js';
import { createMarkAndDeleteCommand } from '../../scripts/mark-and-delete.js';
import type { BackupOverrides } from '../../scripts/backup.js';
import { localProcessHandler, startCluster, type Cluster } from '../cluster/index.js';

const run = promisify(execFile);
let cluster: Cluster;
let dir: string;
let pings: string[];
let pingServer: Server;
let pingUrl: string;

beforeAll(async () => {
  cluster = await startCluster();
  dir = await mkdtemp(join(tmpdir(), 'nsbackup-flow-'));
  pings = [];
  pingServer = createServer((req, res) => {
    pings.push(req.url ?? '');
    res.end('ok');
  });
  await new Promise<void>((r) => pingServer.listen(0, '127.0.0.1', r));
  const address = pingServer.address() as { port: number };
  pingUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await cluster?.close();
  await new Promise((r) => pingServer?.close(r));
  await rm(dir, { recursive: true, force: true });
});

let nsCounter = 0;
/** A namespace with two Bound PVCs and a database Deployment whose pod is Running and Ready. */
function seedNamespace(): string {
  const ns = `shop-${++nsCounter}`;
  const pvc = (name: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    status: { phase: 'Bound', capacity: { storage: '1Gi' } },
  });
  cluster.seed(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    pvc('data'),
    pvc('wal'),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'db', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'postgres', image: 'postgres:15' }] },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db-7d4f9-abcde', namespace: ns, labels: { app: 'db' } },
      spec: {
        containers: [
          { name: 'postgres', image: 'postgres:15', env: [{ name: 'POSTGRES_PASSWORD', value: 'pw' }] },
          { name: 'exporter', image: 'exporter' },
        ],
      },
    },
  );
  return ns;
}

function fakeDatabase(events: string[] = [], dumpMs = 0): DatabaseOps {
  return {
    check: async () => {
      events.push('check');
    },
    dump: async (target) => {
      events.push(`dump start ${target.pod}`);
      await new Promise((r) => setTimeout(r, dumpMs));
      events.push('dump end');
      return {
        files: [
          {
            path: '/var/lib/postgresql/data/nsbackup-app.sql.gz',
            database: 'app',
            sizeBytes: 1234,
            sha256: 'ab'.repeat(32),
          },
        ],
        durationMs: dumpMs,
      };
    },
  };
}

interface RunOutcome {
  code: number;
  logs: any[];
  out: string;
}

async function backup(env: Record<string, string>, overrides: BackupOverrides = {}): Promise<RunOutcome> {
  const logs: any[] = [];
  let out = '';
  const code = await runCommand(
    createBackupCommand({
      database: fakeDatabase(),
      pollMs: 20,
      notifier: undefined,
      // No S3 behind NSBACKUP_S3_BUCKET here: the store's check is tested against s3rver (test/export).
      checkStore: async () => {},
      ...overrides,
    }),
    {
      env: {
        NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
        NSBACKUP_LOCK_DIR: join(dir, 'locks'),
        NSBACKUP_TYPE: 'scheduled',
        TZ: 'UTC',
        ...env,
      },
      write: (line) => logs.push(JSON.parse(line)),
      out: (text) => (out += text + '\n'),
    },
  );
  return { code, logs, out };
}

const summaryOf = (r: RunOutcome) => r.logs.find((l) => l.summary);
const snapshotsIn = (ns: string) => cluster.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', ns);
/** Snapshots retention would count as good backups: their whole run succeeded. */
const goodSnapshotsIn = (ns: string) =>
  snapshotsIn(ns).filter(
    (s) =>
      !s.metadata.deletionTimestamp &&
      s.metadata.labels?.['nsbackup.io/failed'] !== 'true' &&
      s.metadata.labels?.['nsbackup.io/outcome'] === 'succeeded' &&
      !s.status?.error,
  );
/** The snapshots a failed run left, as `pvc ready outcome failed-label periods`: kept, but never a good backup. */
const failedRunSnapshotsIn = (ns: string) =>
  snapshotsIn(ns)
    .filter((s) => !s.metadata.deletionTimestamp)
    .map((s) => {
      const l = s.metadata.labels;
      const periods = ['daily', 'weekly', 'monthly', 'yearly'].filter((k) => `nsbackup.io/${k}` in l);
      return [
        l['nsbackup.io/pvc'],
        s.status?.readyToUse,
        l['nsbackup.io/outcome'],
        l['nsbackup.io/failed'],
        periods.join(','),
      ].join(' ');
    });
const clock = (iso: string) => () => new Date(iso);
/** A backup of the database Deployment and the given PVCs. */
const dbEnv = (ns: string, pvcs = 'data,wal') => ({
  NSBACKUP_NAMESPACE: ns,
  NSBACKUP_PVC: pvcs,
  NSBACKUP_DB: 'postgres',
  NSBACKUP_DB_TARGET: 'deployment/db',
  NSBACKUP_DB_CONTAINER: 'postgres',
});

describe('backup of a namespace with a database and two PVCs', () => {
  it('dumps, snapshots both PVCs with their labels and annotations, and succeeds', async () => {
    const ns = seedNamespace();
    const events: string[] = [];
    const r = await backup(dbEnv(ns), { database: fakeDatabase(events), now: clock('2026-11-21T13:49:20Z') });
    expect(r.code, JSON.stringify(summaryOf(r))).toBe(0);
    expect(events).toEqual(['check', 'dump start db-7d4f9-abcde', 'dump end']);
    const snaps = snapshotsIn(ns);
    expect(snaps.map((s) => s.spec.source.persistentVolumeClaimName).sort()).toEqual(['data', 'wal']);
    for (const s of snaps) {
      expect(s.metadata.name).toMatch(
        new RegExp(`^${s.spec.source.persistentVolumeClaimName}-20261121-134920-[a-z0-9]{6}$`),
      );
      expect(s.status.readyToUse).toBe(true);
      expect(s.metadata.labels).toMatchObject({
        'nsbackup.io/backup': summaryOf(r).backupId,
        'nsbackup.io/pvc': s.spec.source.persistentVolumeClaimName,
        'nsbackup.io/type': 'scheduled',
        'nsbackup.io/retain': 'gfs',
        'nsbackup.io/daily': '2026-11-21',
        'nsbackup.io/weekly': '2026-w47',
        'nsbackup.io/monthly': '2026-11',
      });
      expect(s.metadata.labels['nsbackup.io/outcome']).toBe('succeeded');
      // The run's deadline for labelling it succeeded: the snapshot timeout (15m) plus a day.
      expect(s.metadata.annotations['nsbackup.io/complete-by']).toBe('2026-11-22T14:04:20.000Z');
      expect(s.metadata.annotations['nsbackup.io/dump-sha256']).toBe('ab'.repeat(32));
      expect(s.metadata.annotations['nsbackup.io/dump-size']).toBe('1234');
      expect(JSON.parse(s.metadata.annotations['nsbackup.io/config'])).toMatchObject({
        namespace: ns,
        db: 'postgres',
      });
    }
    expect(summaryOf(r)).toMatchObject({ outcome: 'success', namespace: ns, type: 'scheduled' });
  });

  it('labels the first backup of each day, week and month per PVC, across a year boundary', async () => {
    const ns = seedNamespace();
    const env = { NSBACKUP_NAMESPACE: ns, NSBACKUP_PVC: 'data,wal', NSBACKUP_DB: 'none' };
    const labelsAt = async (iso: string) => {
      const r = await backup(env, { now: clock(iso) });
      expect(r.code).toBe(0);
      const id = summaryOf(r).backupId;
      return snapshotsIn(ns)
        .filter((s) => s.metadata.labels['nsbackup.io/backup'] === id)
        .map((s) => {
          const l = s.metadata.labels;
          return [
            l['nsbackup.io/pvc'],
            l['nsbackup.io/daily'],
            l['nsbackup.io/weekly'],
            l['nsbackup.io/monthly'],
          ].join(' ');
        })
        .sort();
    };
    expect(await labelsAt('2026-12-31T22:00:00Z')).toEqual([
      'data 2026-12-31 2026-w53 2026-12',
      'wal 2026-12-31 2026-w53 2026-12',
    ]);
    // Same day, week and month: no period labels, for either PVC.
    expect(await labelsAt('2026-12-31T23:00:00Z')).toEqual(['data   ', 'wal   ']);
    // New year: a new day and month, but Jan 1 2027 is still in ISO week 53 of 2026.
    expect(await labelsAt('2027-01-01T00:30:00Z')).toEqual([
      'data 2027-01-01  2027-01',
      'wal 2027-01-01  2027-01',
    ]);
  });

  it('records delete-after for NSBACKUP_RETAIN=days', async () => {
    const ns = seedNamespace();
    const r = await backup(
      {
        NSBACKUP_NAMESPACE: ns,
        NSBACKUP_PVC: 'data',
        NSBACKUP_DB: 'none',
        NSBACKUP_RETAIN: 'days',
        NSBACKUP_RETAIN_DAYS: '7',
      },
      { now: clock('2026-11-21T13:49:20Z') },
    );
    expect(r.code).toBe(0);
    expect(snapshotsIn(ns)[0].metadata.labels).toMatchObject({
      'nsbackup.io/retain': 'days',
      'nsbackup.io/delete-after': '2026-11-28',
    });
  });
});

describe('dry run', () => {
  it('runs the checks, prints the plan and writes nothing', async () => {
    const ns = seedNamespace();
    const events: string[] = [];
    cluster.clearRequests();
    const r = await backup(
      {
        NSBACKUP_NAMESPACE: ns,
        NSBACKUP_PVC: 'data,wal',
        NSBACKUP_DB: 'postgres',
        NSBACKUP_DB_TARGET: 'deployment/db',
        NSBACKUP_DB_CONTAINER: 'postgres',
        NSBACKUP_DRY_RUN: 'true',
        NSBACKUP_NOTIFY_URL: `${pingUrl}/dry`,
      },
      { database: fakeDatabase(events), now: clock('2026-11-21T13:49:20Z') },
    );
    expect(r.code).toBe(0);
    expect(events).toEqual(['check']);
    expect(r.out).toMatch(
      /VolumeSnapshot data-20261121-134920-[a-z0-9]{6} of PVC data: .*nsbackup.io\/daily=2026-11-21/,
    );
    expect(r.out).toMatch(/VolumeSnapshot wal-20261121-134920-/);
    const writes = cluster.requests.filter((q) => !['get', 'list', 'watch'].includes(q.verb));
    expect(writes).toEqual([]);
    expect(snapshotsIn(ns)).toEqual([]);
    expect(pings).not.toContain('/dry');
  });
});

describe('failures: clear message, non-zero exit, no snapshot counted as good', () => {
  it('a snapshot whose error does not clear in time is deleted and fails the run', async () => {
    const ns = seedNamespace();
    cluster.controllers.snapshot.failNext('the disk is on fire');
    const r = await backup({
      ...dbEnv(ns),
      NSBACKUP_SNAPSHOT_TIMEOUT: '1s',
      NSBACKUP_NOTIFY_FAILURE_URL: `${pingUrl}/failed?token=s3cret`,
    });
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(
      /snapshot data-.* of PVC data: not readyToUse within 1s, last error: the disk is on fire \(deleted\)/,
    );
    await cluster.controllers.idle();
    // The good copy of wal stays, but its run failed: no period, outcome failed, never counted as a backup.
    expect(goodSnapshotsIn(ns)).toEqual([]);
    expect(failedRunSnapshotsIn(ns)).toEqual(['wal true failed true ']);
    expect(pings).toContain('/failed?token=s3cret');
    expect(JSON.stringify(r.logs)).not.toContain('s3cret');
  });

  it('a snapshot that is not ready in time is deleted and fails the run', async () => {
    const ns = seedNamespace();
    cluster.controllers.snapshot.readyDelayMs = 60_000;
    try {
      const r = await backup({ ...dbEnv(ns), NSBACKUP_PVC: 'data', NSBACKUP_SNAPSHOT_TIMEOUT: '1s' });
      expect(r.code).toBe(1);
      expect(summaryOf(r).error).toMatch(/snapshot data-.*: not readyToUse within 1s \(deleted\)/);
    } finally {
      cluster.controllers.snapshot.readyDelayMs = 0;
    }
    // The controller's ready timer is still pending: a deleted snapshot must stay gone when it fires.
    expect(goodSnapshotsIn(ns)).toEqual([]);
  });

  it('labels a failed snapshot failed when it cannot be deleted', async () => {
    const ns = seedNamespace();
    cluster.controllers.snapshot.failNext('no space for snapshots');
    cluster.faults.add({
      verb: 'delete',
      path: new RegExp(`/namespaces/${ns}/volumesnapshots/`),
      status: 403,
      times: 1,
    });
    const r = await backup({ ...dbEnv(ns), NSBACKUP_PVC: 'data', NSBACKUP_SNAPSHOT_TIMEOUT: '1s' });
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(/last error: no space for snapshots \(labelled-failed\)/);
    const [snap] = snapshotsIn(ns);
    expect(snap.metadata.labels['nsbackup.io/failed']).toBe('true');
    expect(goodSnapshotsIn(ns)).toEqual([]);
  });

  it.each([
    ['a missing PVC', { NSBACKUP_PVC: 'data,logs' }, /PVC shop-\d+\/logs not found/],
    [
      'a missing container',
      { NSBACKUP_DB_CONTAINER: 'mysql' },
      /no container "mysql" \(containers: postgres, exporter\)/,
    ],
    [
      'a missing workload',
      { NSBACKUP_DB_TARGET: 'statefulset/db' },
      /statefulset\/db not found in namespace/,
    ],
    ['a missing namespace', { NSBACKUP_NAMESPACE: 'nowhere' }, /namespace nowhere not found/],
  ])('%s stops the run before anything is written', async (_what, extra, message) => {
    const ns = seedNamespace();
    const events: string[] = [];
    cluster.clearRequests();
    const r = await backup({ ...dbEnv(ns), ...extra }, { database: fakeDatabase(events) });
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(message);
    expect(events).toEqual([]);
    expect(cluster.requests.filter((q) => q.verb === 'create')).toEqual([]);
  });

  it('a PVC that is not Bound stops the run', async () => {
    const ns = seedNamespace();
    cluster.controllers.pvcBinder.enabled = false; // a claim no provisioner serves
    cluster.seed({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'pending', namespace: ns },
      spec: { resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Pending' },
    });
    const r = await backup({ ...dbEnv(ns), NSBACKUP_PVC: 'pending' }).finally(
      () => (cluster.controllers.pvcBinder.enabled = true),
    );
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(/PVC shop-\d+\/pending is Pending, not Bound/);
  });

  it('a failing dump stops the run before any snapshot', async () => {
    const ns = seedNamespace();
    const r = await backup(dbEnv(ns), {
      database: {
        ...fakeDatabase(),
        dump: async () => Promise.reject(new Error('database dump failed: pg_dump exited 1')),
      },
    });
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(/pg_dump exited 1/);
    expect(snapshotsIn(ns)).toEqual([]);
  });

  it('a run that fails before it starts still pings the failure URL, when that URL reads', async () => {
    const ping = (name: string) => ({ NSBACKUP_NOTIFY_FAILURE_URL: `${pingUrl}/early-${name}` });
    const cases: [string, Record<string, string>, number][] = [
      ['setting', { NSBACKUP_PVC: 'data', NSBACKUP_DB: 'postgres', NSBACKUP_RETAIN: 'weekly' }, 2],
      ['plan', { NSBACKUP_PVC: 'data', NSBACKUP_DB: 'postgres' }, 2],
      [
        'kubeconfig',
        { NSBACKUP_PVC: 'data', NSBACKUP_DB: 'none', NSBACKUP_KUBECONFIG: join(dir, 'none') },
        2,
      ],
      ['key', { NSBACKUP_DB: 'none', NSBACKUP_S3_BUCKET: 'b', NSBACKUP_ENCRYPTION_KEY: 'not-a-key' }, 2],
    ];
    for (const [name, env, code] of cases) {
      const r = await backup({ ...env, ...ping(name) });
      expect(r.code, name).toBe(code);
      expect(pings, name).toContain(`/early-${name}`);
    }
    // Not when the URL itself is what is wrong, nor for a dry run.
    const before = pings.length;
    expect((await backup({ NSBACKUP_DB: 'nope', NSBACKUP_NOTIFY_FAILURE_URL: 'not a url' })).code).toBe(2);
    const dry = await backup({ NSBACKUP_DB: 'nope', NSBACKUP_DRY_RUN: 'true', ...ping('dry') });
    expect(dry.code).toBe(2);
    expect(pings.length).toBe(before);
  });

  it('bad configuration exits 2 and lists every problem', async () => {
    const r = await backup({ NSBACKUP_PVC: 'data', NSBACKUP_DB: 'postgres', NSBACKUP_RETAIN: 'weekly' });
    expect(r.code).toBe(2);
    const message = r.logs.map((l) => l.msg).join('\n');
    expect(message).toMatch(/NSBACKUP_RETAIN \(got "weekly"\) must be one of: gfs, days, deltas/);
    const r2 = await backup({ NSBACKUP_PVC: 'data', NSBACKUP_DB: 'postgres' });
    expect(r2.code).toBe(2);
    expect(r2.logs.map((l) => l.error ?? l.msg).join('\n')).toMatch(/needs NSBACKUP_DB_TARGET/);
    const r3 = await backup({ NSBACKUP_PVC: 'data' });
    expect(r3.code).toBe(2);
    expect(r3.logs.map((l) => l.msg).join('\n')).toMatch(/NSBACKUP_DB is required/);
  });
});

describe('node lock', () => {
  it('serialises two backups racing for one slot, and the loser of a timeout exits 3', async () => {
    const ns = seedNamespace();
    const events: string[] = [];
    const env = {
      NSBACKUP_NAMESPACE: ns,
      NSBACKUP_PVC: 'data',
      NSBACKUP_DB: 'postgres',
      NSBACKUP_DB_TARGET: 'pod/db-7d4f9-abcde',
      NSBACKUP_DB_CONTAINER: 'postgres',
      NSBACKUP_LOCK_SLOTS: '1',
      NSBACKUP_LOCK_DIR: join(dir, 'race'),
    };
    const [a, b] = await Promise.all([
      backup(env, { database: fakeDatabase(events, 400) }),
      backup(env, { database: fakeDatabase(events, 400) }),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const dumps = events.filter((e) => e.startsWith('dump'));
    expect(dumps).toEqual(['dump start db-7d4f9-abcde', 'dump end', 'dump start db-7d4f9-abcde', 'dump end']);

    // The second run starts once the first holds the slot, so which one loses never depends on timing.
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    const [holder, loser] = await Promise.all([
      backup(env, {
        database: fakeDatabase([], 2_000),
        acquireLock: async (opts) => {
          const lock = await acquireNodeLock(opts);
          holding();
          return lock;
        },
      }),
      held.then(() => backup({ ...env, NSBACKUP_LOCK_TIMEOUT: '1s' })),
    ]);
    expect(holder.code).toBe(0);
    expect(loser.code).toBe(3);
    expect(summaryOf(loser).error).toMatch(/node lock not acquired within 1s/);
  }, 20_000);
});

describe('backup type', () => {
  it('labels a run started with kubectl create job --from=cronjob adhoc', async () => {
    const ns = seedNamespace();
    cluster.seed({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nsbackup', namespace: ns },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'backup',
                    image: 'nsbackup',
                    args: ['backup'],
                    env: [
                      { name: 'NSBACKUP_DB', value: 'none' },
                      { name: 'NSBACKUP_PVC', value: 'data' },
                    ],
                  },
                ],
              },
            },
          },
        },
      },
    });
    await run('kubectl', [
      'create',
      'job',
      '--from=cronjob/nsbackup',
      'adhoc-1',
      '-n',
      ns,
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--cache-dir',
      join(dir, 'kube-cache'),
    ]);
    const r = await backup({
      NSBACKUP_NAMESPACE: ns,
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      NSBACKUP_TYPE: '',
      NSBACKUP_JOB_NAME: 'adhoc-1',
    });
    expect(r.code, JSON.stringify(summaryOf(r))).toBe(0);
    expect(snapshotsIn(ns)[0].metadata.labels['nsbackup.io/type']).toBe('adhoc');

    // The CronJob controller's own Job (no manual annotation) is scheduled.
    cluster.seed({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'nsbackup-29400000',
        namespace: ns,
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nsbackup', uid: 'u', controller: true },
        ],
      },
      spec: {
        template: { spec: { containers: [{ name: 'backup', image: 'nsbackup' }], restartPolicy: 'Never' } },
      },
    });
    const s = await backup({
      NSBACKUP_NAMESPACE: ns,
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      NSBACKUP_TYPE: '',
      NSBACKUP_JOB_NAME: 'nsbackup-29400000',
    });
    expect(s.code).toBe(0);
    expect(summaryOf(s).type).toBe('scheduled');
  });

  it('fails clearly when the named Job does not exist', async () => {
    const ns = seedNamespace();
    const r = await backup({
      NSBACKUP_NAMESPACE: ns,
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      NSBACKUP_TYPE: '',
      NSBACKUP_JOB_NAME: 'gone',
    });
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(/Job gone not found.*set NSBACKUP_TYPE/);
    expect(snapshotsIn(ns)).toEqual([]);
  });
});

describe('notification', () => {
  it('pings after success, and an unreachable URL never fails the backup', async () => {
    const ns = seedNamespace();
    const r = await backup({
      NSBACKUP_NAMESPACE: ns,
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      NSBACKUP_NOTIFY_URL: `${pingUrl}/ok`,
    });
    expect(r.code).toBe(0);
    expect(pings).toContain('/ok');
    const down = await backup({
      NSBACKUP_NAMESPACE: ns,
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      NSBACKUP_NOTIFY_URL: 'http://127.0.0.1:1/ping',
    });
    expect(down.code).toBe(0);
    expect(down.logs.some((l) => l.msg.startsWith('notification failed'))).toBe(true);
  });
});

describe('hooks, lock compromise, export seam', () => {
  async function hooksFile(name: string, hooks: unknown): Promise<string> {
    const path = join(dir, `${name}.yaml`);
    await writeFile(path, JSON.stringify(hooks)); // JSON is YAML
    return path;
  }

  it('runs pre hooks before the dump and post hooks after the snapshot, in the named container', async () => {
    const ns = seedNamespace();
    const trace = join(dir, `${ns}-trace`);
    cluster.exec.register(ns, 'db-7d4f9-abcde', 'exporter', localProcessHandler());
    const events: string[] = [];
    const file = await hooksFile(ns, {
      pre: [
        { name: 'freeze', container: 'exporter', command: ['sh', '-c', 'echo pre >> "$1"', 'sh', trace] },
      ],
      post: [
        { name: 'thaw', container: 'exporter', command: ['sh', '-c', 'echo post >> "$1"', 'sh', trace] },
      ],
    });
    const r = await backup(
      { ...dbEnv(ns), NSBACKUP_HOOKS_FILE: file },
      {
        database: {
          ...fakeDatabase(events),
          dump: async (t, d) => {
            events.push(`trace at dump: ${(await readFile(trace, 'utf8')).trim()}`);
            return fakeDatabase().dump(t, d);
          },
        },
      },
    );
    expect(r.code, JSON.stringify(summaryOf(r))).toBe(0);
    expect(events).toContain('trace at dump: pre');
    expect((await readFile(trace, 'utf8')).trim().split('\n')).toEqual(['pre', 'post']);
  });

  it('a failing pre hook stops the run before the dump; the post hooks still run', async () => {
    const ns = seedNamespace();
    const trace = join(dir, `${ns}-trace`);
    cluster.exec.register(ns, 'db-7d4f9-abcde', 'exporter', localProcessHandler());
    const events: string[] = [];
    const file = await hooksFile(ns, {
      pre: [
        { name: 'optional', container: 'exporter', command: ['false'], onError: 'continue' },
        { name: 'flush', container: 'exporter', command: ['sh', '-c', 'echo cannot flush >&2; exit 4'] },
      ],
      post: [
        { name: 'thaw', container: 'exporter', command: ['sh', '-c', 'echo post >> "$1"', 'sh', trace] },
      ],
    });
    const r = await backup({ ...dbEnv(ns), NSBACKUP_HOOKS_FILE: file }, { database: fakeDatabase(events) });
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(
      /pre hook "flush" failed in db-7d4f9-abcde\/exporter: exit code 4: cannot flush/,
    );
    expect(r.logs.some((l) => /pre hook "optional" failed.*onError: continue/.test(l.msg))).toBe(true);
    expect(events).toEqual(['check']);
    expect(snapshotsIn(ns)).toEqual([]);
    expect((await readFile(trace, 'utf8')).trim()).toBe('post');
  });

  it('a failing post hook fails the run, and every created snapshot still gets its verdict', async () => {
    const ns = seedNamespace();
    cluster.exec.register(ns, 'db-7d4f9-abcde', 'exporter', localProcessHandler());
    const file = await hooksFile(`${ns}-post`, {
      post: [{ name: 'thaw', container: 'exporter', command: ['sh', '-c', 'exit 3'] }],
    });
    cluster.controllers.snapshot.failNext('snapshot quota exceeded');
    const r = await backup({ ...dbEnv(ns), NSBACKUP_HOOKS_FILE: file, NSBACKUP_SNAPSHOT_TIMEOUT: '1s' });
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(/post hook "thaw" failed .*exit code 3/);
    expect(summaryOf(r).error).toMatch(/snapshot data-.*: .*last error: snapshot quota exceeded \(deleted\)/);
    // The ready one stays (a post hook that failed after the point in time does not spoil its data), but as the
    // snapshot of a failed run: no period, never counted as a good backup.
    expect(failedRunSnapshotsIn(ns)).toEqual(['wal true failed true ']);
    expect(goodSnapshotsIn(ns)).toEqual([]);
  });

  it('a hooks file with mistakes is bad configuration', async () => {
    const file = await hooksFile('bad', { pre: [{ command: 'sync', onError: 'maybe' }] });
    const r = await backup({ ...dbEnv('x'), NSBACKUP_HOOKS_FILE: file });
    expect(r.code).toBe(2);
    expect(r.logs.map((l) => l.msg).join()).toMatch(
      /pre\[0\]\.command must be a non-empty list.*pre\[0\]\.onError/,
    );
  });

  it('stops before creating snapshots when the node lock was compromised during the dump', async () => {
    const ns = seedNamespace();
    const lockDir = join(dir, `${ns}-locks`);
    const r = await backup(
      { ...dbEnv(ns), NSBACKUP_LOCK_DIR: lockDir, NSBACKUP_LOCK_STALE: '2s' },
      {
        database: {
          ...fakeDatabase(),
          dump: async (t, d) => {
            // Someone removes our lock (an operator, a clock jump): refreshing it fails within a second or so.
            await rm(join(lockDir, '1.lock'), { recursive: true, force: true });
            await rm(join(lockDir, '2.lock'), { recursive: true, force: true });
            await new Promise((res) => setTimeout(res, 2_500));
            return fakeDatabase().dump(t, d);
          },
        },
        acquireLock: (opts) => acquireNodeLock({ ...opts, slots: 1 }),
      },
    );
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(/compromised.*stopped before creating snapshots/);
    expect(snapshotsIn(ns)).toEqual([]);
  });

  it("hands the backup's folder to the export step, records it on the snapshots and the outcome in it", async () => {
    const ns = seedNamespace();
    const calls: any[] = [];
    const outcomes: any[] = [];
    const r = await backup(
      {
        NSBACKUP_NAMESPACE: ns,
        NSBACKUP_PVC: 'data',
        NSBACKUP_DB: 'none',
        NSBACKUP_S3_BUCKET: 'backups',
        NSBACKUP_CLUSTER_NAME: 'prod-eu',
      },
      {
        exportResources: async (input) => {
          calls.push(input);
          return { location: `s3://backups/nsbackup/${input.keyPrefix}/`, unreadable: [] };
        },
        writeOutcome: async (folder, outcome) => void outcomes.push({ folderKey: folder.folderKey, outcome }),
      },
    );
    expect(r.code, JSON.stringify(summaryOf(r))).toBe(0);
    const id = summaryOf(r).backupId;
    expect(calls).toEqual([expect.objectContaining({ namespace: ns, keyPrefix: `prod-eu/${ns}/${id}` })]);
    expect(snapshotsIn(ns)[0].metadata.annotations['nsbackup.io/s3-location']).toBe(
      `s3://backups/nsbackup/prod-eu/${ns}/${id}/`,
    );
    expect(outcomes).toEqual([
      {
        folderKey: `nsbackup/prod-eu/${ns}/${id}/`,
        outcome: expect.objectContaining({
          backupId: id,
          outcome: 'succeeded',
          failures: [],
          // What mark-and-delete reads to tell a folder that goes with its snapshots from an S3-only one.
          snapshots: [snapshotsIn(ns)[0].metadata.name],
          retain: { policy: 'gfs' },
        }),
      },
    ]);
  });

  it('an export that could not read some types fails the run; its snapshot stays, labelled failed, without periods', async () => {
    const ns = seedNamespace();
    const outcomes: any[] = [];
    const r = await backup(
      {
        NSBACKUP_NAMESPACE: ns,
        NSBACKUP_PVC: 'data',
        NSBACKUP_DB: 'none',
        NSBACKUP_S3_BUCKET: 'backups',
      },
      {
        exportResources: async (input) => ({
          location: `s3://backups/nsbackup/${input.keyPrefix}/`,
          unreadable: ['certificates.cert-manager.io (forbidden: no list)'],
        }),
        writeOutcome: async (_folder, outcome) => void outcomes.push(outcome),
      },
    );
    expect(r.code).toBe(1);
    expect(summaryOf(r).error).toMatch(
      /resource export incomplete, could not read: certificates\.cert-manager\.io \(forbidden: no list\)/,
    );
    expect(outcomes).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        failures: [summaryOf(r).error],
        // A failed run's snapshot stays: its folder is not S3-only.
        snapshots: [snapshotsIn(ns)[0].metadata.name],
      }),
    ]);
    expect(failedRunSnapshotsIn(ns)).toEqual(['data true failed true ']);
  });

  it('finds its own Job through NSBACKUP_POD_NAME and the pod owner', async () => {
    const ns = seedNamespace();
    cluster.seed(
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: 'manual-1',
          namespace: ns,
          annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
        },
        spec: {
          template: { spec: { containers: [{ name: 'backup', image: 'nsbackup' }], restartPolicy: 'Never' } },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'manual-1-x7k2p',
          namespace: ns,
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'Job', name: 'manual-1', uid: 'u', controller: true },
          ],
        },
        spec: { containers: [{ name: 'backup', image: 'nsbackup' }] },
      },
    );
    const r = await backup({
      NSBACKUP_NAMESPACE: ns,
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      NSBACKUP_TYPE: '',
      NSBACKUP_POD_NAME: 'manual-1-x7k2p',
    });
    expect(r.code, JSON.stringify(summaryOf(r))).toBe(0);
    expect(summaryOf(r).type).toBe('adhoc');
  });
});

describe('a run that never finishes (kill -9, node loss) never looks like a good backup', () => {
  /** `nsbackup list -n ns -o json` at a given time: pvc, outcome and period labels of each snapshot. */
  async function listAt(ns: string, iso: string): Promise<string[]> {
    let out = '';
    const code = await runCommand(createListCommand({ now: clock(iso) }), {
      argv: ['-n', ns, '-o', 'json'],
      env: { NSBACKUP_KUBECONFIG: cluster.kubeconfigPath, TZ: 'UTC' },
      write: () => {},
      out: (text) => (out += text),
    });
    expect(code).toBe(0);
    return JSON.parse(out).map((r: any) => `${r.pvc} ${r.outcome} ${r.ready} ${r.failed} ${r.daily || '-'}`);
  }

  it('leaves its snapshot in progress without periods; list shows it interrupted after complete-by, mark-and-delete marks it, the next backup takes the day', async () => {
    const ns = seedNamespace();
    let stopExport!: (e: Error) => void;
    let exportStarted!: () => void;
    const started = new Promise<void>((r) => (exportStarted = r));
    // The run stops for good in its S3 step, after the snapshot exists: what a kill -9 leaves behind.
    const hung = backup(
      {
        NSBACKUP_NAMESPACE: ns,
        NSBACKUP_PVC: 'data',
        NSBACKUP_DB: 'none',
        NSBACKUP_S3_BUCKET: 'backups',
        NSBACKUP_LOCK: 'false', // the lock of a killed run is reclaimed when stale; not what this test is about
      },
      {
        now: clock('2026-11-21T02:00:00Z'),
        exportResources: () => {
          exportStarted();
          return new Promise((_resolve, reject) => (stopExport = reject));
        },
        writeOutcome: async () => {},
      },
    );
    await started;
    await cluster.controllers.idle();
    const [snap] = snapshotsIn(ns);
    expect(snap.status.readyToUse).toBe(true);
    expect(snap.metadata.labels['nsbackup.io/outcome']).toBe('in-progress');
    expect(snap.metadata.labels['nsbackup.io/daily']).toBeUndefined();
    expect(snap.metadata.annotations['nsbackup.io/complete-by']).toBe('2026-11-22T02:15:00.000Z');

    expect(await listAt(ns, '2026-11-21T03:00:00Z')).toEqual(['data in-progress true false -']);
    expect(await listAt(ns, '2026-11-22T03:00:00Z')).toEqual(['data interrupted true false -']);

    // A later run the same day gets the day: the unfinished one holds no period.
    const next = await backup(
      { NSBACKUP_NAMESPACE: ns, NSBACKUP_PVC: 'data', NSBACKUP_DB: 'none' },
      { now: clock('2026-11-21T05:00:00Z') },
    );
    expect(next.code).toBe(0);
    expect(await listAt(ns, '2026-11-22T03:00:00Z')).toEqual([
      'data interrupted true false -',
      'data succeeded true false 2026-11-21',
    ]);

    // Before complete-by it may still be running: left alone. After it: marked like an unkept one.
    const markAt = async (iso: string) => {
      const logs: any[] = [];
      const code = await runCommand(createMarkAndDeleteCommand({ now: clock(iso) }), {
        argv: ['-n', ns],
        env: { NSBACKUP_KUBECONFIG: cluster.kubeconfigPath, TZ: 'UTC', NSBACKUP_DELETE_PAUSE: '0' },
        write: (line) => logs.push(JSON.parse(line)),
        out: () => {},
      });
      expect(code).toBe(0);
      return logs.find((l) => l.summary);
    };
    expect(await markAt('2026-11-21T06:00:00Z')).toMatchObject({ marked: 0 });
    expect(await markAt('2026-11-22T03:00:00Z')).toMatchObject({ marked: 1 });
    expect(snapshotsIn(ns).find((s) => s.metadata.name === snap.metadata.name).metadata.labels).toMatchObject(
      {
        'nsbackup.io/delete-after': '2026-11-23',
      },
    );

    // Had the run ended after all, with an S3 failure, its snapshot says failed.
    stopExport(new Error('connect ECONNREFUSED'));
    const ended = await hung;
    expect(ended.code).toBe(1);
    expect(await listAt(ns, '2026-11-22T03:00:00Z')).toEqual([
      'data failed true true -',
      'data succeeded true false 2026-11-21',
    ]);
  });
});

describe('one API hiccup does not cost the backup (issue 11)', () => {
  const KINDS = [
    ['429 with Retry-After', { retryAfterSeconds: 1 }],
    ['500', { status: 500 }],
    ['503', { status: 503 }],
    ['a 2 s delay', { delayMs: 2_000 }],
    ['a dropped connection', { drop: true }],
  ] as const;
  /** Every verb backup sends (exec: the pre hook; patch: the snapshots' outcome labels). */
  const VERBS = ['get', 'list', 'create', 'patch', 'exec'] as const;

  async function hookedBackup(ns: string) {
    cluster.exec.register(ns, 'db-7d4f9-abcde', 'exporter', localProcessHandler());
    const hooks = join(dir, `${ns}-hiccup.yaml`);
    await writeFile(
      hooks,
      JSON.stringify({ pre: [{ name: 'sync', container: 'exporter', command: ['true'] }] }),
    );
    return backup({ ...dbEnv(ns), NSBACKUP_HOOKS_FILE: hooks }, { now: clock('2026-11-21T02:00:00Z') });
  }
  /** What a user sees of the result: per snapshot its PVC, outcome and day; one per PVC, nothing else. */
  const result = (ns: string) =>
    snapshotsIn(ns)
      .map(
        (s) =>
          `${s.metadata.labels['nsbackup.io/pvc']} ${s.status?.readyToUse} ${s.metadata.labels['nsbackup.io/outcome']} ${s.metadata.labels['nsbackup.io/daily']}`,
      )
      .sort();
  const asWithoutFault = ['data true succeeded 2026-11-21', 'wal true succeeded 2026-11-21'];

  it('without a fault', async () => {
    const ns = seedNamespace();
    const r = await hookedBackup(ns);
    expect(r.code).toBe(0);
    expect(result(ns)).toEqual(asWithoutFault);
  });

  it.each(VERBS.flatMap((verb) => KINDS.map(([kind, fault]) => [verb, kind, fault] as const)))(
    'one fault on %s (%s): exit 0, the same snapshots',
    async (verb, _kind, fault) => {
      const ns = seedNamespace();
      cluster.faults.add({ verb, path: `/namespaces/${ns}/`, times: 1, ...fault });
      const r = await hookedBackup(ns).finally(() => cluster.faults.clear());
      expect(r.code, summaryOf(r).error).toBe(0);
      expect(result(ns)).toEqual(asWithoutFault);
      // The fault did hit a request (a test that injects nothing proves nothing).
      const answered =
        'retryAfterSeconds' in fault
          ? 429
          : 'status' in fault
            ? fault.status
            : 'drop' in fault
              ? 0
              : undefined;
      const hit = cluster.requests.filter((q) => q.verb === verb && q.path.includes(`/namespaces/${ns}/`));
      expect(hit.length).toBeGreaterThan(0);
      if (answered !== undefined) expect(hit.map((q) => q.status)).toContain(answered);
    },
    20_000,
  );

  it.each([
    ['create', /snapshot create failed and the snapshot was not stored: trying again/, /HTTP 503|503/],
    [
      'exec',
      /exec upgrade failed before the command started: trying again/,
      /could not connect \(the command did not start\)/,
    ],
  ] as const)(
    'a persistent 503 on %s fails the run cleanly, after bounded retries',
    async (verb, retried, error) => {
      const ns = seedNamespace();
      cluster.faults.add({ verb, path: `/namespaces/${ns}/`, status: 503 });
      const r = await hookedBackup(ns).finally(() => cluster.faults.clear());
      expect(r.code).toBe(1);
      expect(r.logs.map((l) => l.msg).join('\n')).toMatch(retried);
      expect(summaryOf(r).error).toMatch(error);
      expect(goodSnapshotsIn(ns)).toEqual([]);
    },
    30_000,
  );
});
