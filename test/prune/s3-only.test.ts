// S3-only backups (no VolumeSnapshot: NSBACKUP_PVC empty) on the emulator and a local S3: real backups over
// simulated nights, then mark-and-delete removes exactly what the policy drops, behind the valve, and leaves alone
// every folder it has no usable record of, and those that go with their snapshots.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Labels } from '../../lib/labels.js';
import { Logger } from '../../lib/log.js';
import { namespacesInStore, type S3OnlyDeletion } from '../../lib/prune/s3-only.js';
import { sweepS3Only } from '../../lib/prune/s3-only-sweep.js';
import type { S3Store } from '../../lib/s3/index.js';
import { createBackupCommand } from '../../scripts/backup.js';
import { createMarkAndDeleteCommand } from '../../scripts/mark-and-delete.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { runNsbackup, seedSnapshots, snapshotNames, startS3, type LocalS3 } from '../kit/index.js';

let cluster: Cluster;
let s3: LocalS3;
let env: Record<string, string>;

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startCluster(), startS3()]);
  cluster.seed({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'web' },
    data: { a: '1' },
  });
  env = {
    ...s3.env,
    NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    NSBACKUP_CLUSTER_NAME: 'prod',
    NSBACKUP_NAMESPACE: 'web',
    TZ: 'UTC',
  };
});
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
});

/** A backup as the CronJob runs it, at `at` (the clock moves on from there). */
async function backupAt(at: string): Promise<string> {
  const offset = Date.parse(at) - Date.now();
  const command = createBackupCommand({ now: () => new Date(Date.now() + offset) });
  const r = await runNsbackup(command, {
    ...env,
    NSBACKUP_PVC: '',
    NSBACKUP_DB: 'none',
    NSBACKUP_EXPORT: 'true',
    NSBACKUP_LOCK: 'false',
    NSBACKUP_TYPE: 'scheduled',
  });
  expect(r.code, r.text).toBe(0);
  return r.summary!.backupId;
}

async function markAndDelete(now: string, argv: string[] = [], extra: Record<string, string> = {}) {
  const command = createMarkAndDeleteCommand({ now: () => new Date(now) });
  const r = await runNsbackup(
    command,
    {
      ...env,
      NSBACKUP_DELETE_PAUSE: '0s',
      NSBACKUP_KEEP_DAILY: '3',
      NSBACKUP_KEEP_WEEKLY: '1',
      NSBACKUP_KEEP_MONTHLY: '1',
      ...extra,
    },
    argv,
  );
  await cluster.controllers.idle();
  return r;
}

const store = () => s3.store();
const folder = (id: string) => store().key('prod', 'web', id) + '/';

async function put(id: string, files: Record<string, unknown>) {
  for (const [name, body] of Object.entries(files))
    await store().upload(folder(id) + name, typeof body === 'string' ? body : JSON.stringify(body));
}

/** The backup ids with objects in S3, sorted. */
async function folders(): Promise<string[]> {
  const ids = new Set<string>();
  const parent = store().key('prod', 'web') + '/';
  for await (const o of store().list(parent)) {
    const [id, file] = o.key.slice(parent.length).split('/');
    if (file !== undefined) ids.add(id);
  }
  return [...ids].sort();
}

const outcome = (backupId: string, startedAt: string, extra: Record<string, unknown>) => ({
  formatVersion: 1,
  backupId,
  outcome: 'succeeded',
  startedAt,
  finishedAt: startedAt,
  failures: [],
  ...extra,
});

describe('mark-and-delete and S3-only backups', () => {
  const nights: Record<string, string> = {}; // date -> backup id
  const others: Record<string, string> = {};

  it('real backups without a PVC record snapshots: [], their type and policy', async () => {
    // 2026-03-01 is a Sunday (2026-w09); Mar 2..8 is w10, Mar 9..12 w11.
    for (let day = 1; day <= 12; day++) {
      const date = `2026-03-${String(day).padStart(2, '0')}`;
      nights[date] = await backupAt(`${date}T01:30:00Z`);
    }
    const recorded = JSON.parse(await store().downloadText(folder(nights['2026-03-05']) + 'outcome.json'));
    expect(recorded).toMatchObject({
      outcome: 'succeeded',
      snapshots: [],
      type: 'scheduled',
      retain: { policy: 'gfs' },
    });
    expect(recorded.keepUntil).toBeUndefined();

    // A failed run on Mar 10 before that night's good one: had it taken the day, the good one would lose it.
    others.failed = '20260310-003000-failed';
    await put(others.failed, {
      'outcome.json': outcome(others.failed, '2026-03-10T00:30:00Z', {
        outcome: 'failed',
        failures: ['export incomplete'],
        snapshots: [],
        type: 'scheduled',
        retain: { policy: 'gfs' },
      }),
    });
    // Old folders nothing here may delete: with a snapshot (the snapshot path's), of an older version, without
    // an outcome (a run killed), with an outcome that is not JSON, and one whose name nsbackup never makes.
    others.withSnapshot = '20260201-013000-snapsh';
    others.olderFormat = '20260202-013000-oldfmt';
    others.noOutcome = '20260203-013000-killed';
    others.unreadable = '20260204-013000-broken';
    others.handMade = 'before-upgrade';
    await put(others.withSnapshot, {
      'manifest.json': '{}',
      'outcome.json': outcome(others.withSnapshot, '2026-02-01T01:30:00Z', {
        snapshots: ['data-20260201-013000-snapsh'],
        retain: { policy: 'gfs' },
      }),
    });
    await put(others.olderFormat, {
      'outcome.json': outcome(others.olderFormat, '2026-02-02T01:30:00Z', {}),
    });
    await put(others.noOutcome, { 'dump-app.sql.gz': 'x' });
    await put(others.unreadable, { 'outcome.json': '{not json' });
    await put(others.handMade, {
      'outcome.json': outcome(others.handMade, '2026-01-01T00:00:00Z', {
        snapshots: [],
        retain: { policy: 'gfs' },
      }),
    });
    // A backup with a snapshot, expired on the snapshot path: its folder goes with it, by that path alone.
    others.expiredSnap = '20260215-013000-expire';
    await put(others.expiredSnap, {
      'outcome.json': outcome(others.expiredSnap, '2026-02-15T01:30:00Z', {
        snapshots: ['data-expired'],
        retain: { policy: 'gfs' },
      }),
    });
    seedSnapshots(cluster, [
      {
        namespace: 'web',
        name: 'data-expired',
        pvc: 'data',
        createdAt: '2026-02-15T01:30:00Z',
        s3Location: `s3://${s3.bucket}/${folder(others.expiredSnap)}`,
        labels: {
          [Labels.retain]: 'gfs',
          [Labels.backup]: others.expiredSnap,
          [Labels.outcome]: 'succeeded',
          [Labels.deleteAfter]: '2026-02-20',
        },
      },
      {
        namespace: 'web',
        name: 'data-newest',
        pvc: 'data',
        createdAt: '2026-03-01T01:30:00Z',
        labels: {
          [Labels.retain]: 'gfs',
          [Labels.backup]: 'newest',
          [Labels.outcome]: 'succeeded',
          [Labels.daily]: '2026-03-01',
        },
      },
    ]);
  });

  // What the policy drops on Mar 12 (keep 3 daily, 1 weekly, 1 monthly): Mar 2..8 and the failed run (its grace,
  // Mar 11, is over). Kept: Mar 1 (month), Mar 9 (week 11), Mar 10..12 (days).
  const dropped = () => [
    ...['02', '03', '04', '05', '06', '07', '08'].map((d) => nights[`2026-03-${d}`]),
    others.failed,
  ];

  it('the safety valve refuses 8 of 12 at once: nothing deleted, of either set, exit 1', async () => {
    const before = await folders();
    const r = await markAndDelete('2026-03-12T12:00:00Z');
    expect(r.code, r.text).toBe(1);
    expect(r.summary).toMatchObject({
      refused: true,
      refusals: [
        expect.stringContaining('web/s3-only backups: would delete 7 of 12 good snapshots and 1 of failed'),
      ],
      s3OnlyDeleted: 0,
      s3OnlyRefused: 8,
      s3OnlyKept: 5,
      s3OnlyLeftAlone: 4,
      deleted: 0,
    });
    expect(await folders()).toEqual(before);
    expect(snapshotNames(cluster, 'web')).toEqual(['data-expired', 'data-newest']);
  });

  it('a dry run with --force lists exactly what would go and deletes nothing', async () => {
    const before = await folders();
    const r = await markAndDelete('2026-03-12T12:00:00Z', ['--dry-run', '--force']);
    expect(r.code, r.text).toBe(0);
    const listed = r.out
      .split('\n')
      .filter((l) => l.startsWith('would delete S3-only backup'))
      .map((l) => /\/web\/([^/]+)\//.exec(l)![1]);
    expect(listed.sort()).toEqual(dropped().sort());
    expect(r.out).toContain(`would delete web/data-expired (pvc data)`);
    expect(await folders()).toEqual(before);
  });

  it('with --force: exactly the dropped folders go; the newest, the period holders and every folder without a usable record stay', async () => {
    const before = await folders();
    const r = await markAndDelete('2026-03-12T12:00:00Z', ['--force']);
    expect(r.code, r.text).toBe(0);
    expect(r.summary).toMatchObject({
      s3OnlyDeleted: 8,
      s3OnlyKept: 5,
      s3OnlyRefused: 0,
      s3OnlyLeftAlone: 4,
      deleted: 1,
    });
    // The snapshot path took its own folder with its snapshot; the S3-only path nothing but what it planned.
    const gone = [...dropped(), others.expiredSnap].sort();
    expect(await folders()).toEqual(before.filter((id) => !gone.includes(id)));
    for (const id of ['01', '09', '10', '11', '12'].map((d) => nights[`2026-03-${d}`]))
      expect(await folders()).toContain(id);
    for (const id of [
      others.withSnapshot,
      others.olderFormat,
      others.noOutcome,
      others.unreadable,
      others.handMade,
    ])
      expect(await folders()).toContain(id);
    expect(snapshotNames(cluster, 'web')).toEqual(['data-newest']);

    // Running again changes nothing: the plan is derived from the same records.
    const again = await markAndDelete('2026-03-12T12:00:00Z', ['--force']);
    expect(again.code, again.text).toBe(0);
    expect(again.summary).toMatchObject({ s3OnlyDeleted: 0, s3OnlyKept: 5 });
  });

  it('days later, with every backup past its keep: the newest good one is never deleted', async () => {
    const r = await markAndDelete('2027-06-01T12:00:00Z', ['--force'], {
      NSBACKUP_KEEP_DAILY: '0',
      NSBACKUP_KEEP_WEEKLY: '0',
      NSBACKUP_KEEP_MONTHLY: '0',
    });
    expect(r.code, r.text).toBe(0);
    expect(r.summary).toMatchObject({ s3OnlyDeleted: 4, s3OnlyKept: 1 });
    expect(await folders()).toContain(nights['2026-03-12']);
    expect(await folders()).not.toContain(nights['2026-03-11']);
  });
});

describe('the S3-only sweep', () => {
  it('with -A, finds the namespaces under this cluster only: not etcd, not restic repositories, not keys of their own', async () => {
    const s = store();
    for (const key of [
      'prod/_etcd/20260101-000000-aaaaaa/snapshot.db',
      'prod/web.restic/data/00/abc',
      'prod/web/.nsbackup-write-check',
      'prod/stray-key',
      'prod/api/20260101-000000-aaaaaa/outcome.json',
      'staging/other/20260101-000000-aaaaaa/outcome.json',
    ])
      await s.upload(s.key(key), 'x');
    expect(await namespacesInStore(s, 'prod')).toEqual(['api', 'web']);
  });

  it("with -A, a restic repository's packs cost one request, not one listing of all of them", async () => {
    const s = store();
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => s.upload(s.key(`prod/big.restic/data/${i % 16}/${i}`), 'x')),
    );
    await s.upload(s.key('prod/big/20260101-000000-aaaaaa/outcome.json'), 'x');
    const walk = vi.spyOn(s, 'firstKeyAfter');
    const list = vi.spyOn(s, 'list');
    expect(await namespacesInStore(s, 'prod')).toContain('big');
    expect(list).not.toHaveBeenCalled();
    // One request per top-level name and per key directly in a namespace's folder, and one that finds the end.
    expect(walk.mock.calls.length).toBeLessThan(20);
  });

  const deletion = (id: string, volumePvcs: string[] = []): S3OnlyDeletion => ({
    id,
    createdAt: '2026-03-01T01:30:00Z',
    deleteAfter: '2026-03-02',
    runFailed: false,
    namespace: 'web',
    key: `nsbackup/prod/web/${id}/`,
    volumePvcs,
  });
  const fakeStore = (deleted: string[]) =>
    ({
      url: (key: string) => `s3://backups/${key}`,
      deletePrefix: async (key: string) => {
        deleted.push(key);
        return 1;
      },
    }) as unknown as S3Store;
  const log = new Logger({ write: () => {} });

  it('forgets the copies before the folder goes; a forget that fails, or no way to forget, keeps the folder', async () => {
    const deleted: string[] = [];
    const forgotten: string[] = [];
    const result = await sweepS3Only(
      {
        store: fakeStore(deleted),
        log,
        signal: new AbortController().signal,
        forget: async (ns, id, pvcs) => {
          if (id === 'b') throw new Error('repository locked');
          forgotten.push(`${ns}/${id}:${pvcs.join(',')}:${deleted.length}`);
        },
      },
      [deletion('a', ['files']), deletion('b', ['files']), deletion('c')],
      0,
    );
    // a's copies were forgotten while no folder was deleted yet; b kept (its forget failed); c had no copies.
    expect(forgotten).toEqual(['web/a:files:0']);
    expect(deleted).toEqual(['nsbackup/prod/web/a/', 'nsbackup/prod/web/c/']);
    expect(result).toEqual({
      deleted: 2,
      stopped: false,
      failures: ['S3-only backup web/b: repository locked'],
    });
    const none: string[] = [];
    const noSecret = await sweepS3Only(
      { store: fakeStore(none), log, signal: new AbortController().signal },
      [deletion('d', ['files'])],
      0,
    );
    expect(none).toEqual([]);
    expect(noSecret.failures).toEqual([expect.stringContaining('no NSBACKUP_RESTIC_SECRET is configured')]);
  });

  it('SIGTERM stops between two deletions', async () => {
    const deleted: string[] = [];
    const stop = new AbortController();
    const result = await sweepS3Only(
      { store: fakeStore(deleted), log, signal: stop.signal, sleep: async () => stop.abort() },
      [deletion('a'), deletion('b'), deletion('c')],
      5000,
    );
    expect(deleted).toEqual(['nsbackup/prod/web/a/']);
    expect(result).toMatchObject({ deleted: 1, stopped: true });
  });
});
