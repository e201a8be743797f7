// retain, mark-and-delete and list against the emulator and a local S3, through runCommand.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { Labels } from '../../lib/labels.js';
import { S3_CLEANUP_FINALIZER } from '../../lib/snapshots/list.js';
import { command as listCommand } from '../../scripts/list.js';
import { createMarkAndDeleteCommand } from '../../scripts/mark-and-delete.js';
import { createRetainCommand } from '../../scripts/retain.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import {
  startS3,
  type LocalS3,
  labelsByName,
  SNAP_API,
  seedSnapshots,
  snapshotNames,
  snapshotObjects,
} from '../kit/index.js';
import { capture, s3Proxy, until, writes } from './fixtures.js';
import { dailyBackups } from './history.js';

let cluster: Cluster;
let s3: LocalS3;
let env: Record<string, string>;

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startCluster(), startS3()]);
  env = {
    NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    TZ: 'UTC',
    NSBACKUP_DELETE_PAUSE: '0',
    NSBACKUP_CLUSTER_NAME: 'test',
    ...s3.env,
  };
});
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
});
beforeEach(() => {
  cluster.faults.clear();
  cluster.clearRequests();
});

const at = (iso: string) => () => new Date(iso);

async function retain(args: string[], extraEnv: Record<string, string> = {}) {
  const c = capture();
  const code = await runCommand(createRetainCommand(), {
    argv: args,
    env: { ...env, ...extraEnv },
    write: c.write,
    out: c.out,
  });
  await cluster.controllers.idle();
  return { code, ...c };
}

async function markAndDelete(now: string, args: string[], extraEnv: Record<string, string> = {}, deps = {}) {
  const c = capture();
  const code = await runCommand(createMarkAndDeleteCommand({ now: at(now), ...deps }), {
    argv: args,
    env: { ...env, ...extraEnv },
    write: c.write,
    out: c.out,
  });
  await cluster.controllers.idle(); // the snapshot controller finishes deletions after the command returns
  return { code, ...c };
}

/** The deletionPolicy of a snapshot's content as seeded (snapcontent-uid-<ns>-<name>); undefined once gone. */
function contentPolicy(namespace: string, name: string): string | undefined {
  return cluster.get(SNAP_API, 'VolumeSnapshotContent', undefined, `snapcontent-uid-${namespace}-${name}`)
    ?.spec.deletionPolicy;
}

async function putBackupFiles(namespace: string, backupId: string) {
  const store = s3.store('nsbackup');
  await store.upload(store.key('test', namespace, backupId, 'manifest.json'), Buffer.from('{}'));
  await store.upload(store.key('test', namespace, backupId, 'resources.yaml.gz'), Buffer.from('x'));
}

async function backupFiles(namespace: string, backupId: string): Promise<number> {
  const store = s3.store('nsbackup');
  let n = 0;
  for await (const _ of store.list(store.key('test', namespace, backupId) + '/')) n++;
  return n;
}

/** a, b, c expired on 2026-01-05 (delete-after), d the newest, kept by its daily label: one PVC `data`. */
function threeExpiredOneKept(namespace: string) {
  return ['a', 'b', 'c', 'd'].map((name, i) => ({
    namespace,
    name,
    pvc: 'data',
    createdAt: `2026-01-0${i + 1}T01:00:00Z`,
    labels: {
      [Labels.retain]: 'gfs',
      ...(name === 'd' ? { [Labels.daily]: '2026-01-04' } : { [Labels.deleteAfter]: '2026-01-05' }),
    },
  }));
}

describe('retain', () => {
  it('removes only the labels beyond the kept counts, patching only the snapshots that change', async () => {
    // 2026-03-01 is a Sunday: weekly labels go to 03-01 (w09), 03-02 (w10), 03-09 (w11).
    seedSnapshots(cluster, dailyBackups('r1', ['data'], '2026-03-01', 10));
    const run = await retain(['-n', 'r1']);
    expect(run.code).toBe(0);
    const patches = writes(cluster);
    expect(patches.map((r) => `${r.verb} ${r.path.split('/').pop()} ${r.contentType}`).sort()).toEqual([
      'patch data-20260301-01 application/merge-patch+json',
      'patch data-20260302-01 application/merge-patch+json',
      'patch data-20260303-01 application/merge-patch+json',
    ]);
    const labels = labelsByName(cluster, 'r1');
    expect(labels['data-20260301-01']).toMatchObject({
      [Labels.weekly]: '2026-w09',
      [Labels.monthly]: '2026-03',
    });
    expect(labels['data-20260301-01'][Labels.daily]).toBeUndefined();
    expect(labels['data-20260303-01'][Labels.daily]).toBeUndefined();
    expect(labels['data-20260304-01'][Labels.daily]).toBe('2026-03-04');

    cluster.clearRequests();
    expect((await retain(['-n', 'r1'])).code).toBe(0);
    expect(writes(cluster)).toEqual([]);
  });

  it('dry run prints the plan and writes nothing', async () => {
    seedSnapshots(cluster, dailyBackups('r2', ['data'], '2026-03-01', 10));
    const run = await retain(['--namespace', 'r2', '--dry-run']);
    expect(run.code).toBe(0);
    expect(writes(cluster)).toEqual([]);
    expect(run.output.join('')).toContain('would remove daily from r2/data-20260301-01 (pvc data)');
    expect(labelsByName(cluster, 'r2')['data-20260301-01'][Labels.daily]).toBe('2026-03-01');
  });
});

describe('mark-and-delete', () => {
  it('marks unkept snapshots, then deletes them after the grace with their content and S3 folder', async () => {
    const specs = dailyBackups('m1', ['data', 'wal'], '2026-03-01', 10, { s3Location: true });
    specs.find((s) => s.name === 'wal-20260303-01')!.contentPolicy = 'Delete';
    seedSnapshots(cluster, specs);
    await putBackupFiles('m1', 'b20260303');
    expect((await retain(['-n', 'm1'])).code).toBe(0);

    const marked = await markAndDelete('2026-03-10T12:00:00Z', ['-n', 'm1']);
    expect(marked.code).toBe(0);
    const labels = labelsByName(cluster, 'm1');
    expect(labels['data-20260303-01'][Labels.deleteAfter]).toBe('2026-03-11');
    expect(labels['wal-20260303-01'][Labels.deleteAfter]).toBe('2026-03-11');
    expect(Object.values(labels).filter((l) => l[Labels.deleteAfter]).length).toBe(2);
    expect(marked.summary()).toMatchObject({ marked: 2, deleted: 0 });

    // Still within its delete-after day: kept.
    expect((await markAndDelete('2026-03-11T23:00:00Z', ['-n', 'm1'])).summary()).toMatchObject({
      deleted: 0,
    });
    cluster.clearRequests();
    // S3 goes through a proxy that notes where each call falls in the emulator's request log. (s3rver sometimes
    // answers a DeleteObjects 500 and the SDK retries it: the deletion is the call that succeeded.)
    const timeline: { at: number; what: string }[] = [];
    const proxy = await s3Proxy(s3.endpoint, (method, url, status) => {
      if (method === 'POST' && /[?&]delete(=|&|$)/.test(url) && status === 200)
        timeline.push({ at: cluster.requests.length, what: 'S3 DeleteObjects' });
    });
    const swept = await markAndDelete('2026-03-12T00:30:00Z', ['-n', 'm1'], {
      NSBACKUP_S3_ENDPOINT: proxy.endpoint,
    }).finally(() => proxy.close());
    expect(swept.code).toBe(0);
    // Per snapshot: its content set to Delete (wal's already was), then the snapshot deleted, then the S3 folder
    // (with the last snapshot of the backup, which holds our finalizer meanwhile).
    writes(cluster).forEach((r) => {
      const at = cluster.requests.indexOf(r);
      timeline.push({ at: at + 0.5, what: `${r.verb} ${r.path.split('/').slice(-2).join('/')}` });
    });
    expect(timeline.sort((a, b) => a.at - b.at).map((e) => e.what)).toEqual([
      'patch volumesnapshotcontents/snapcontent-uid-m1-data-20260303-01',
      'delete volumesnapshots/data-20260303-01',
      'patch volumesnapshots/wal-20260303-01', // our finalizer
      'delete volumesnapshots/wal-20260303-01',
      'S3 DeleteObjects',
      'patch volumesnapshots/wal-20260303-01', // our finalizer off: the snapshot goes
    ]);
    expect(swept.summary()).toMatchObject({ deleted: 2, s3FoldersDeleted: 1 });
    expect(snapshotNames(cluster, 'm1')).not.toContain('data-20260303-01');
    expect(snapshotNames(cluster, 'm1')).not.toContain('wal-20260303-01');
    expect(snapshotNames(cluster, 'm1')).toHaveLength(18);
    // The content already set to Delete is not patched again; the other one is.
    const contentPatches = writes(cluster).filter((r) => r.path.includes('volumesnapshotcontents'));
    expect(contentPatches.map((r) => r.path.split('/').pop())).toEqual([
      'snapcontent-uid-m1-data-20260303-01',
    ]);
    expect(cluster.list(SNAP_API, 'VolumeSnapshotContent').map((c) => c.metadata.name)).not.toContain(
      'snapcontent-uid-m1-data-20260303-01',
    );
    expect(await backupFiles('m1', 'b20260303')).toBe(0);
    const log = swept.logs().find((l) => l.msg === 'deleting snapshot' && l.snapshot === 'data-20260303-01');
    expect(log).toMatchObject({ pvc: 'data', reason: 'delete-after 2026-03-11 is over' });
  });

  it('keeps the S3 folder while another snapshot of the same backup remains (label + layout)', async () => {
    const specs = dailyBackups('m2', ['data', 'wal'], '2026-03-01', 3);
    for (const s of specs) if (s.name.includes('0301')) s.labels![Labels.deleteAfter] = '2026-03-02';
    specs.find((s) => s.name === 'wal-20260301-01')!.labels![Labels.pin] = 'true';
    seedSnapshots(cluster, specs);
    await putBackupFiles('m2', 'b20260301');
    const run = await markAndDelete('2026-03-05T00:00:00Z', ['-n', 'm2']);
    expect(run.code).toBe(0);
    expect(snapshotNames(cluster, 'm2')).not.toContain('data-20260301-01');
    expect(snapshotNames(cluster, 'm2')).toContain('wal-20260301-01');
    expect(await backupFiles('m2', 'b20260301')).toBe(2);

    // Unpinned, the last snapshot of the backup goes and takes the folder with it.
    cluster.seed({
      ...cluster.get(SNAP_API, 'VolumeSnapshot', 'm2', 'wal-20260301-01'),
      metadata: {
        ...cluster.get(SNAP_API, 'VolumeSnapshot', 'm2', 'wal-20260301-01').metadata,
        labels: {
          ...cluster.get(SNAP_API, 'VolumeSnapshot', 'm2', 'wal-20260301-01').metadata.labels,
          [Labels.pin]: 'false',
        },
      },
    });
    expect((await markAndDelete('2026-03-05T00:00:00Z', ['-n', 'm2'])).code).toBe(0);
    expect(snapshotNames(cluster, 'm2')).not.toContain('wal-20260301-01');
    expect(await backupFiles('m2', 'b20260301')).toBe(0);
  });

  it("never touches pinned, foreign, erroring, unready or newest snapshots, nor another namespace; a failed run's goes when due", async () => {
    const due = { [Labels.deleteAfter]: '2026-01-01' };
    seedSnapshots(cluster, [
      {
        namespace: 'p1',
        name: 'old',
        pvc: 'data',
        createdAt: '2026-01-01T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', ...due },
      },
      {
        namespace: 'p1',
        name: 'pinned',
        pvc: 'data',
        createdAt: '2026-01-02T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', [Labels.pin]: 'true', ...due },
      },
      {
        namespace: 'p1',
        name: 'foreign',
        pvc: 'data',
        createdAt: '2026-01-03T01:00:00Z',
        labels: { ...due },
      },
      {
        namespace: 'p1',
        name: 'failed',
        pvc: 'data',
        createdAt: '2026-01-04T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', ...due },
        error: 'boom',
      },
      {
        namespace: 'p1',
        name: 'labelled-failed',
        pvc: 'data',
        createdAt: '2026-01-04T02:00:00Z',
        labels: { [Labels.retain]: 'gfs', [Labels.failed]: 'true', ...due },
      },
      {
        namespace: 'p1',
        name: 'unready',
        pvc: 'data',
        createdAt: '2026-01-05T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', ...due },
        ready: false,
      },
      {
        namespace: 'p1',
        name: 'newest',
        pvc: 'data',
        createdAt: '2026-01-06T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', ...due },
      },
      {
        namespace: 'p1',
        name: 'keeper',
        pvc: 'data',
        createdAt: '2025-12-30T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', [Labels.daily]: '2025-12-30' },
      },
      {
        namespace: 'p2',
        name: 'other',
        pvc: 'data',
        createdAt: '2026-01-01T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', ...due },
      },
      {
        namespace: 'p2',
        name: 'other-newest',
        pvc: 'data',
        createdAt: '2026-01-06T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', [Labels.daily]: '2026-01-06' },
      },
    ]);
    const run = await markAndDelete('2026-02-01T00:00:00Z', ['-n', 'p1', '--force']);
    expect(run.code).toBe(0);
    // `labelled-failed` was left by a failed backup run (nsbackup.io/failed=true): swept like an unkept one. A
    // status.error alone (`failed`) may clear, and is left alone.
    expect(snapshotNames(cluster, 'p1')).toEqual([
      'failed',
      'foreign',
      'keeper',
      'newest',
      'pinned',
      'unready',
    ]);
    expect(
      writes(cluster).every((r) =>
        [
          '/namespaces/p1/volumesnapshots/old',
          'snapcontent-uid-p1-old',
          '/volumesnapshots/labelled-failed',
          'snapcontent-uid-p1-labelled-failed',
        ].some((p) => r.path.includes(p)),
      ),
    ).toBe(true);
    expect(snapshotNames(cluster, 'p2')).toEqual(['other', 'other-newest']);

    const all = await markAndDelete('2026-02-01T00:00:00Z', ['-A', '--force']);
    expect(all.code).toBe(0);
    expect(snapshotNames(cluster, 'p2')).toEqual(['other-newest']);
  });

  it('dry run plans marks and deletions and writes nothing', async () => {
    seedSnapshots(cluster, dailyBackups('d1', ['data'], '2026-03-01', 10));
    for (const vs of cluster.list(SNAP_API, 'VolumeSnapshot', 'd1').slice(0, 2)) {
      vs.metadata.labels[Labels.deleteAfter] = '2026-03-05';
      delete vs.metadata.labels[Labels.daily];
      cluster.seed(vs);
    }
    cluster.clearRequests();
    const run = await markAndDelete('2026-03-10T12:00:00Z', ['-n', 'd1', '--dry-run']);
    expect(run.code).toBe(0);
    expect(writes(cluster)).toEqual([]);
    expect(run.output.join('\n')).toMatch(
      /would delete d1\/data-20260301-01 \(pvc data\) delete-after=2026-03-05 < 2026-03-10/,
    );
    expect(snapshotNames(cluster, 'd1')).toHaveLength(10);
  });

  it('safety valve: refuses the whole run (exit 1, nothing deleted) unless forced', async () => {
    seedSnapshots(cluster, threeExpiredOneKept('v1'));
    const refused = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'v1'], {
      NSBACKUP_MAX_DELETE_COUNT: '2',
    });
    expect(refused.code).toBe(1);
    expect(writes(cluster).filter((r) => r.verb === 'delete')).toEqual([]);
    expect(snapshotNames(cluster, 'v1')).toEqual(['a', 'b', 'c', 'd']);
    expect(refused.summary()).toMatchObject({
      refused: true,
      refusals: ['v1/data: would delete 3 of 4 snapshots, more than 2'],
    });

    const share = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'v1']); // 3 of 4 > 50%
    expect(share.code).toBe(1);
    expect(snapshotNames(cluster, 'v1')).toEqual(['a', 'b', 'c', 'd']);

    const forced = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'v1', '--force']);
    expect(forced.code).toBe(0);
    expect(snapshotNames(cluster, 'v1')).toEqual(['d']);
  });

  it('a snapshot pinned between listing and its deletion keeps its storage: the content policy goes back', async () => {
    seedSnapshots(cluster, threeExpiredOneKept('g1'));
    // The pause before b's deletion is after the listing: someone pins b there (kubectl label vs/b pin=true).
    let pinned = false;
    const sleep = async () => {
      if (pinned) return;
      pinned = true;
      const b = cluster.get(SNAP_API, 'VolumeSnapshot', 'g1', 'b');
      cluster.seed({
        ...b,
        metadata: { ...b.metadata, labels: { ...b.metadata.labels, [Labels.pin]: 'true' } },
      });
    };
    const run = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'g1', '--force'], {}, { sleep });
    expect(run.code).toBe(0);
    expect(run.summary()).toMatchObject({ deleted: 2, deleteSkipped: 1 });
    expect(snapshotNames(cluster, 'g1')).toEqual(['b', 'd']);
    expect(contentPolicy('g1', 'b')).toBe('Retain');
    expect(contentPolicy('g1', 'a')).toBeUndefined(); // deleted with its snapshot: storage freed
    expect(run.logs()).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        snapshot: 'b',
        content: 'snapcontent-uid-g1-b',
        msg: expect.stringMatching(/not deleted: its content's deletionPolicy is Retain again/),
      }),
    );
  });

  it('a refused run deletes nothing, not even the S3 folder an earlier run left to finish', async () => {
    seedSnapshots(cluster, threeExpiredOneKept('v2'));
    // Left by a run killed between deleting the last snapshot of backup b0 and its S3 folder.
    const [pending] = snapshotObjects({
      namespace: 'v2',
      name: 'pending',
      pvc: 'data',
      createdAt: '2025-12-20T01:00:00Z',
      s3Location: 's3://backups/nsbackup/test/v2/b0/',
      labels: { [Labels.retain]: 'gfs', [Labels.backup]: 'b0', [Labels.deleteAfter]: '2025-12-21' },
    });
    pending.metadata.deletionTimestamp = '2026-01-09T01:00:00Z';
    pending.metadata.finalizers = [S3_CLEANUP_FINALIZER];
    cluster.seed(pending);
    await putBackupFiles('v2', 'b0');
    cluster.clearRequests();

    const refused = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'v2'], {
      NSBACKUP_MAX_DELETE_COUNT: '2',
    });
    expect(refused.code).toBe(1);
    expect(refused.summary()).toMatchObject({ refused: true, deleted: 0 });
    expect(writes(cluster)).toEqual([]);
    expect(await backupFiles('v2', 'b0')).toBe(2);
    expect(cluster.get(SNAP_API, 'VolumeSnapshot', 'v2', 'pending')?.metadata.finalizers).toEqual([
      S3_CLEANUP_FINALIZER,
    ]);

    const forced = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'v2', '--force']);
    expect(forced.code).toBe(0);
    expect(await backupFiles('v2', 'b0')).toBe(0);
    expect(snapshotNames(cluster, 'v2')).toEqual(['d']);
  });

  it('a snapshot whose backup named a bucket that no longer exists no longer blocks every run', async () => {
    // Left terminating by an earlier run: its backup's bucket was a typo, or has been migrated since.
    const [pending] = snapshotObjects({
      namespace: 'nb1',
      name: 'gone-bucket',
      pvc: 'data',
      createdAt: '2025-12-20T01:00:00Z',
      s3Location: 's3://no-such-bucket/nsbackup/test/nb1/b0/',
      labels: { [Labels.retain]: 'gfs', [Labels.backup]: 'b0', [Labels.deleteAfter]: '2025-12-21' },
    });
    pending.metadata.deletionTimestamp = '2026-01-09T01:00:00Z';
    pending.metadata.finalizers = [S3_CLEANUP_FINALIZER];
    cluster.seed(pending);

    const run = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'nb1']);
    expect(run.code, JSON.stringify(run.logs())).toBe(0);
    expect(cluster.get(SNAP_API, 'VolumeSnapshot', 'nb1', 'gone-bucket')).toBeUndefined();
    expect(run.logs()).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'bucket no-such-bucket does not exist: its backup objects count as deleted',
      }),
    );
  });

  it('a bucket that does not exist holds no S3-only backup: the run warns and succeeds (an unreachable S3 fails it, below)', async () => {
    seedSnapshots(cluster, threeExpiredOneKept('nb3'));
    const run = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'nb3', '--force'], {
      NSBACKUP_S3_BUCKET: 'no-such-bucket',
    });
    expect(run.code, JSON.stringify(run.logs())).toBe(0);
    expect(run.logs()).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'bucket no-such-bucket does not exist: no S3-only backups to plan',
      }),
    );
    expect(run.summary().s3OnlyFailures).toBeUndefined();
  });

  it(`with S3 unreachable (nothing listens at its endpoint), the error names the folder and the finalizer; ${Labels.forgetS3}=true is the way out`, async () => {
    seedSnapshots(cluster, threeExpiredOneKept('nb2'));
    const [pending] = snapshotObjects({
      namespace: 'nb2',
      name: 'pending',
      pvc: 'data',
      createdAt: '2025-12-20T01:00:00Z',
      s3Location: 's3://backups/nsbackup/test/nb2/b0/',
      labels: { [Labels.retain]: 'gfs', [Labels.backup]: 'b0', [Labels.deleteAfter]: '2025-12-21' },
    });
    pending.metadata.deletionTimestamp = '2026-01-09T01:00:00Z';
    pending.metadata.finalizers = [S3_CLEANUP_FINALIZER];
    cluster.seed(pending);
    await putBackupFiles('nb2', 'b0');

    const denied = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'nb2', '--force'], {
      NSBACKUP_S3_ENDPOINT: 'http://127.0.0.1:9',
    });
    expect(denied.code).toBe(1);
    const failure = JSON.stringify(denied.summary());
    expect(failure).toContain('s3://backups/nsbackup/test/nb2/b0/');
    expect(failure).toContain(`the ${S3_CLEANUP_FINALIZER} finalizer keeps the snapshot`);
    expect(failure).toContain(`${Labels.forgetS3}=true`);
    expect(cluster.get(SNAP_API, 'VolumeSnapshot', 'nb2', 'pending')?.metadata.finalizers).toEqual([
      S3_CLEANUP_FINALIZER,
    ]);

    const labelled = cluster.get(SNAP_API, 'VolumeSnapshot', 'nb2', 'pending');
    labelled.metadata.labels[Labels.forgetS3] = 'true';
    cluster.seed(labelled);
    const forgotten = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'nb2', '--force'], {
      NSBACKUP_S3_ENDPOINT: 'http://127.0.0.1:9',
    });
    // The snapshot path succeeds; the run still fails: with S3 unreachable, its S3-only backups cannot be planned.
    expect(forgotten.code, JSON.stringify(forgotten.logs())).toBe(1);
    expect(forgotten.summary()).toMatchObject({
      deleteFailed: 0,
      s3OnlyFailures: [
        expect.stringContaining('S3-only backups not planned: reading s3://backups/nsbackup/test/nb2/'),
      ],
    });
    expect(cluster.get(SNAP_API, 'VolumeSnapshot', 'nb2', 'pending')).toBeUndefined();
    // Left in place, as asked.
    expect(await backupFiles('nb2', 'b0')).toBe(2);
  });

  it('a mark the server applied before answering 503 is recognised on the retry, not counted as skipped', async () => {
    seedSnapshots(cluster, [
      {
        namespace: 'w1',
        name: 'old',
        pvc: 'data',
        createdAt: '2026-01-01T01:00:00Z',
        labels: { [Labels.retain]: 'gfs' },
      },
      {
        namespace: 'w1',
        name: 'new',
        pvc: 'data',
        createdAt: '2026-01-05T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', [Labels.daily]: '2026-01-05' },
      },
    ]);
    // The emulator fails a request before handling it, so the test applies the write during the fault's delay,
    // as a server that wrote it to etcd and then failed would have: the client's retry then gets 409.
    const path = '/namespaces/w1/volumesnapshots/old';
    cluster.faults.add({ verb: 'patch', path, status: 503, delayMs: 200, times: 1 });
    const running = markAndDelete('2026-01-10T00:00:00Z', ['-n', 'w1']);
    await until(() => cluster.requests.some((r) => r.verb === 'patch' && r.path.endsWith(path)));
    const old = cluster.get(SNAP_API, 'VolumeSnapshot', 'w1', 'old');
    old.metadata.labels[Labels.deleteAfter] = '2026-01-11';
    cluster.seed(old);
    const run = await running;

    expect(run.code).toBe(0);
    const statuses = cluster.requests.filter((r) => r.verb === 'patch').map((r) => r.status);
    expect(statuses).toEqual([503, 409]);
    expect(run.summary()).toMatchObject({ marked: 1, markSkipped: 0 });
    expect(run.logs().filter((l) => l.level === 'warn')).toEqual([]);
    expect(labelsByName(cluster, 'w1').old[Labels.deleteAfter]).toBe('2026-01-11');
  });

  it('the last snapshot of a backup deleted by someone else mid-run still takes its S3 folder with it', async () => {
    seedSnapshots(
      cluster,
      ['a', 'b', 'c'].map((n, i) => ({
        namespace: 'z1',
        name: n,
        pvc: 'data',
        createdAt: `2026-01-0${i + 1}T01:00:00Z`,
        s3Location: n === 'c' ? undefined : `s3://backups/nsbackup/test/z1/b-${n}/`,
        labels: {
          [Labels.retain]: 'gfs',
          ...(n === 'c' ? { [Labels.daily]: '2026-01-03' } : { [Labels.deleteAfter]: '2026-01-05' }),
        },
      })),
    );
    await putBackupFiles('z1', 'b-a');
    await putBackupFiles('z1', 'b-b');
    // Before b's turn, someone deletes b; another finalizer holds it, so it is there, being deleted. Our
    // finalizer can no longer be added (409 on the listed version; 422 on a current one).
    const sleep = async () => {
      const b = cluster.get(SNAP_API, 'VolumeSnapshot', 'z1', 'b');
      if (b.metadata.deletionTimestamp) return;
      b.metadata.deletionTimestamp = '2026-01-10T00:00:00Z';
      b.metadata.finalizers = ['example.com/hold'];
      cluster.seed(b);
    };
    const run = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'z1', '--force'], {}, { sleep });
    expect(run.code).toBe(0);
    expect(run.summary()).toMatchObject({ deleted: 2, deleteSkipped: 0, s3FoldersDeleted: 2 });
    expect(await backupFiles('z1', 'b-b')).toBe(0);
    expect(cluster.get(SNAP_API, 'VolumeSnapshot', 'z1', 'b')?.metadata.finalizers).toEqual([
      'example.com/hold',
    ]);
  });

  it('without rights on VolumeSnapshotContents, deletes the snapshot and leaves its content as it is', async () => {
    seedSnapshots(
      cluster,
      ['old', 'new'].map((n, i) => ({
        namespace: 'c1',
        name: n,
        pvc: 'data',
        createdAt: `2026-01-0${i + 1}T01:00:00Z`,
        contentPolicy: 'Retain' as const,
        labels: {
          [Labels.retain]: 'gfs',
          ...(n === 'new' ? { [Labels.daily]: '2026-01-02' } : { [Labels.deleteAfter]: '2026-01-05' }),
        },
      })),
    );
    cluster.faults.add({ path: '/volumesnapshotcontents/', status: 403 });
    const run = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'c1', '--force']);
    expect(run.code, JSON.stringify(run.summary())).toBe(0);
    expect(snapshotNames(cluster, 'c1')).toEqual(['new']);
    const content = cluster.get(SNAP_API, 'VolumeSnapshotContent', undefined, 'snapcontent-uid-c1-old');
    expect(content?.spec.deletionPolicy).toBe('Retain');
    expect(run.logs().some((l) => /may not read the bound VolumeSnapshotContent/.test(l.msg))).toBe(true);
  });

  it('-A without the right to list some namespaces refuses the run and changes nothing', async () => {
    seedSnapshots(cluster, dailyBackups('x1', ['data'], '2026-03-01', 10));
    cluster.faults.add({
      verb: 'list',
      path: /^\/apis\/snapshot\.storage\.k8s\.io\/v1\/volumesnapshots$/,
      status: 403,
    });
    cluster.faults.add({ verb: 'list', path: '/namespaces/x1/volumesnapshots', status: 403 });
    const run = await retain(['-A']);
    expect(run.code).toBe(1);
    expect(run.summary().error).toMatch(
      /may not list VolumeSnapshots in 1 namespace\(s\): x1; nothing was changed/,
    );
    expect(writes(cluster)).toEqual([]);
  });

  it('one failing deletion does not stop the others; the run ends non-zero with a summary', async () => {
    seedSnapshots(cluster, threeExpiredOneKept('f1'));
    cluster.faults.add({ verb: 'delete', path: '/namespaces/f1/volumesnapshots/b', status: 403 });
    const run = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 'f1', '--force']);
    expect(run.code).toBe(1);
    expect(snapshotNames(cluster, 'f1')).toEqual(['b', 'd']);
    expect(run.summary()).toMatchObject({
      deleted: 2,
      deleteFailed: 1,
      failures: [expect.objectContaining({ snapshot: 'b', pvc: 'data' })],
    });
    // b stays, so its storage must too: the content it was given Delete on is back on Retain.
    expect(contentPolicy('f1', 'b')).toBe('Retain');
    expect(run.logs()).toContainEqual(
      expect.objectContaining({
        snapshot: 'b',
        msg: expect.stringMatching(/deletionPolicy is Retain again/),
      }),
    );
  });

  it('retries 429, 5xx and dropped connections on list, patch and delete', async () => {
    seedSnapshots(cluster, dailyBackups('t1', ['data'], '2026-03-01', 10));
    const vs = cluster.get(SNAP_API, 'VolumeSnapshot', 't1', 'data-20260310-01');
    const old = cluster.get(SNAP_API, 'VolumeSnapshot', 't1', 'data-20260303-01');
    old.metadata.labels = { ...old.metadata.labels, [Labels.deleteAfter]: '2026-03-05' };
    delete old.metadata.labels[Labels.daily];
    cluster.seed(old);
    expect(vs).toBeDefined();
    cluster.faults.add({ verb: 'list', path: '/namespaces/t1/', retryAfterSeconds: 0, times: 1 });
    cluster.faults.add({ verb: 'list', path: '/namespaces/t1/', status: 500, times: 1 });
    cluster.faults.add({ verb: 'patch', path: '/namespaces/t1/', status: 503, times: 1 });
    cluster.faults.add({ verb: 'patch', path: '/namespaces/t1/', retryAfterSeconds: 0, times: 1 });
    cluster.faults.add({ verb: 'delete', path: '/namespaces/t1/', drop: true, times: 1 });
    cluster.faults.add({ verb: 'delete', path: '/namespaces/t1/', status: 502, times: 1 });
    cluster.faults.add({ verb: 'delete', path: '/namespaces/t1/', retryAfterSeconds: 0, times: 1 });
    expect((await retain(['-n', 't1'])).code).toBe(0);
    const run = await markAndDelete('2026-03-10T12:00:00Z', ['-n', 't1']);
    expect(run.code).toBe(0);
    const statuses = (verb: string) =>
      cluster.requests.filter((r) => r.verb === verb && r.path.includes('/t1/')).map((r) => r.status);
    expect(statuses('list').slice(0, 3)).toEqual([429, 500, 200]);
    expect(statuses('patch').slice(0, 3)).toEqual([503, 429, 200]);
    expect(statuses('delete')).toEqual([0, 502, 429, 200]); // 0: connection dropped, no answer
    expect(snapshotNames(cluster, 't1')).not.toContain('data-20260303-01');
    expect(labelsByName(cluster, 't1')['data-20260302-01']).toEqual(
      expect.not.objectContaining({ [Labels.daily]: expect.anything() }),
    );
  });

  it('a run stopped half-way and started again ends where an uninterrupted run ends', async () => {
    for (const ns of ['k1', 'k2']) {
      seedSnapshots(
        cluster,
        dailyBackups(ns, ['data', 'wal'], '2026-03-01', 10, { s3Location: true }).map((s) =>
          s.name.endsWith('0301-01') || s.name.endsWith('0302-01') || s.name.endsWith('0303-01')
            ? {
                ...s,
                labels: {
                  [Labels.retain]: 'gfs',
                  [Labels.backup]: s.labels![Labels.backup],
                  [Labels.deleteAfter]: '2026-03-04',
                },
              }
            : s,
        ),
      );
      for (const day of ['0301', '0302', '0303']) await putBackupFiles(ns, `b2026${day}`);
    }
    const now = '2026-03-10T12:00:00Z';
    expect((await markAndDelete(now, ['-n', 'k1', '--force'])).code).toBe(0);

    const stop = new AbortController();
    let pauses = 0;
    const sleep = async () => {
      if (++pauses === 3) stop.abort();
    };
    const stopped = await markAndDelete(now, ['-n', 'k2', '--force'], {}, { sleep, signal: stop.signal });
    expect(stopped.code).toBe(1);
    expect(stopped.summary()).toMatchObject({ stopped: true, deleted: 3 });
    expect((await markAndDelete(now, ['-n', 'k2', '--force'])).code).toBe(0);

    const state = async (ns: string) => ({
      labels: Object.fromEntries(
        Object.entries(labelsByName(cluster, ns)).map(([k, v]) => [k.replace(ns, ''), v]),
      ),
      files: [
        await backupFiles(ns, 'b20260301'),
        await backupFiles(ns, 'b20260302'),
        await backupFiles(ns, 'b20260303'),
      ],
    });
    expect(await state('k2')).toEqual(await state('k1'));
    expect((await state('k1')).files).toEqual([0, 0, 0]);
    expect(Object.keys(labelsByName(cluster, 'k1'))).toHaveLength(14);
  });

  it('a run that dies between deleting the last snapshot of a backup and its S3 folder is finished by the next', async () => {
    seedSnapshots(cluster, [
      {
        namespace: 's1',
        name: 'old',
        pvc: 'data',
        createdAt: '2026-01-01T01:00:00Z',
        s3Location: 's3://backups/nsbackup/test/s1/b1/',
        labels: { [Labels.retain]: 'gfs', [Labels.backup]: 'b1', [Labels.deleteAfter]: '2026-01-02' },
      },
      {
        namespace: 's1',
        name: 'new',
        pvc: 'data',
        createdAt: '2026-01-05T01:00:00Z',
        labels: { [Labels.retain]: 'gfs', [Labels.daily]: '2026-01-05' },
      },
    ]);
    await putBackupFiles('s1', 'b1');
    const broken = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 's1', '--force'], {
      NSBACKUP_S3_ENDPOINT: 'http://127.0.0.1:9',
    });
    expect(broken.code).toBe(1);
    const left = cluster.get(SNAP_API, 'VolumeSnapshot', 's1', 'old');
    expect(left.metadata.deletionTimestamp).toBeDefined();
    expect(left.metadata.finalizers).toEqual([S3_CLEANUP_FINALIZER]);
    expect(await backupFiles('s1', 'b1')).toBe(2);

    const list = capture();
    await runCommand(listCommand, { argv: ['-n', 's1'], env, write: list.write, out: list.out });
    expect(list.output.join('')).toMatch(/old\s+2026-01-01 01:00\s+deleting/);

    const again = await markAndDelete('2026-01-10T00:00:00Z', ['-n', 's1', '--force']);
    expect(again.code).toBe(0);
    expect(snapshotNames(cluster, 's1')).toEqual(['new']);
    expect(await backupFiles('s1', 'b1')).toBe(0);
  });
});

describe('list', () => {
  it('prints a table per PVC, and JSON for scripts', async () => {
    const specs = dailyBackups('l1', ['data', 'wal'], '2026-03-01', 2);
    specs[0].labels![Labels.pin] = 'true';
    seedSnapshots(cluster, specs);
    const table = capture();
    expect(
      await runCommand(listCommand, { argv: ['-n', 'l1'], env, write: table.write, out: table.out }),
    ).toBe(0);
    const text = table.output.join('');
    expect(text).toContain('NAMESPACE l1  PVC data');
    expect(text).toContain('NAMESPACE l1  PVC wal');
    expect(text).toMatch(
      /SNAPSHOT\s+CREATED\s+READY\s+OUTCOME\s+SIZE\s+TYPE\s+DAILY\s+WEEKLY\s+MONTHLY\s+YEARLY\s+DELETE-AFTER\s+PINNED/,
    );
    expect(text).toMatch(
      /data-20260301-01\s+2026-03-01 01:00\s+true\s+-\s+1Gi\s+scheduled\s+2026-03-01\s+2026-w09\s+2026-03\s+2026\s+-\s+true/,
    );
    expect(table.lines).toEqual([]); // quiet: no summary line on success

    const json = capture();
    expect(
      await runCommand(listCommand, {
        argv: ['-n', 'l1', '-o', 'json'],
        env: { ...env, TZ: 'Europe/Berlin' },
        write: json.write,
        out: json.out,
      }),
    ).toBe(0);
    const rows = JSON.parse(json.output.join(''));
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({
      namespace: 'l1',
      pvc: 'data',
      snapshot: 'data-20260301-01',
      pinned: true,
      daily: '2026-03-01',
      ready: true,
      outcome: 'unrecorded', // seeded like an older nsbackup's snapshot, without nsbackup.io/outcome
    });
  });

  it('rejects a bad time zone as bad configuration', async () => {
    const c = capture();
    expect(
      await runCommand(listCommand, {
        argv: ['-n', 'l1'],
        env: { ...env, TZ: 'Mars/Olympus' },
        write: c.write,
        out: c.out,
      }),
    ).toBe(2);
  });
});

describe('stopping', () => {
  it('retain stopped before it is done exits non-zero; the next run finishes the job', async () => {
    seedSnapshots(cluster, dailyBackups('x1', ['data'], '2026-03-01', 12));
    const stop = new AbortController();
    stop.abort();
    const c = capture();
    const code = await runCommand(createRetainCommand({ signal: stop.signal }), {
      argv: ['-n', 'x1'],
      env,
      write: c.write,
      out: c.out,
    });
    expect(code).toBe(1);
    expect(c.summary()).toMatchObject({ stopped: true, patched: 0, planned: 5 });
    expect(writes(cluster)).toEqual([]);
    expect((await retain(['-n', 'x1'])).summary()).toMatchObject({ patched: 5, stopped: false });
  });
});
