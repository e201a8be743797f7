// The guarded writes against the emulator: a snapshot already being deleted, and the API server's 422 for a
// finalizer added to such an object (the emulator answers it too once stricter; a fault stands in for it here).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, type KubeClient } from '../../lib/kube/index.js';
import { Labels } from '../../lib/labels.js';
import { S3_CLEANUP_FINALIZER, toSnapshotInfo } from '../../lib/snapshots/list.js';
import { addCleanupFinalizer, deleteSnapshot } from '../../lib/prune/writes.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { writes } from './fixtures.js';
import { SNAP_API, snapshotObjects } from '../kit/index.js';

let cluster: Cluster;
let kube: KubeClient;

beforeAll(async () => {
  cluster = await startCluster();
  kube = connect({ kubeconfigPath: cluster.kubeconfigPath, env: {} });
});
afterAll(async () => {
  await cluster?.close();
});
beforeEach(() => {
  cluster.faults.clear();
  cluster.clearRequests();
});

const HOLD = 'example.com/hold';

/** A snapshot of ours, live or (with `deleting`) deleted by someone while another finalizer holds it. */
function seed(name: string, deleting: boolean, finalizers: string[] = [HOLD]) {
  const [vs, content] = snapshotObjects({
    namespace: 'fin',
    name,
    pvc: 'data',
    createdAt: '2026-01-01T01:00:00Z',
    labels: { [Labels.retain]: 'gfs', [Labels.deleteAfter]: '2026-01-02' },
  });
  vs.metadata.finalizers = finalizers;
  if (deleting) vs.metadata.deletionTimestamp = '2026-01-10T00:00:00Z';
  cluster.seed(vs, content);
}

const current = (name: string) => cluster.get(SNAP_API, 'VolumeSnapshot', 'fin', name);

describe('addCleanupFinalizer', () => {
  it('adds nothing to a snapshot listed while being deleted: gone for the sweep, done if ours is on it', async () => {
    seed('listed-deleting', true);
    expect(await addCleanupFinalizer(kube, toSnapshotInfo(current('listed-deleting')))).toEqual({
      outcome: 'gone',
    });
    seed('ours-deleting', true, [HOLD, S3_CLEANUP_FINALIZER]);
    expect(await addCleanupFinalizer(kube, toSnapshotInfo(current('ours-deleting')))).toMatchObject({
      outcome: 'done',
    });
    expect(writes(cluster)).toEqual([]);
    expect(current('listed-deleting').metadata.finalizers).toEqual([HOLD]);
  });

  it('takes the 422 for a snapshot deleted since it was listed as gone, and any other 422 as an error', async () => {
    seed('racing', false);
    const listed = toSnapshotInfo(current('racing'));
    seed('racing', true); // deleted by someone after the listing
    const path = '/namespaces/fin/volumesnapshots/racing';
    cluster.faults.add({ verb: 'patch', path, status: 422, times: 1 });
    expect(await addCleanupFinalizer(kube, listed)).toEqual({ outcome: 'gone' });
    // Without the fault: the listed version is stale, a 409, and the same answer.
    expect(await addCleanupFinalizer(kube, listed)).toEqual({ outcome: 'gone' });
    expect(current('racing').metadata.finalizers).toEqual([HOLD]);

    seed('live', false);
    cluster.faults.add({
      verb: 'patch',
      path: '/namespaces/fin/volumesnapshots/live',
      status: 422,
      times: 1,
    });
    await expect(addCleanupFinalizer(kube, toSnapshotInfo(current('live')))).rejects.toThrow();
  });
});

describe('a snapshot moved since it was listed', () => {
  const BOUND = 'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection';
  const path = (name: string) => `/apis/${SNAP_API}/namespaces/fin/volumesnapshots/${name}`;

  it('by the snapshot controller alone (its finalizer, labels as listed): guarded, finalized and deleted anyway', async () => {
    seed('moved', false, []);
    const listed = toSnapshotInfo(current('moved'));
    // What the real snapshot-controller does the moment the content's policy becomes Delete.
    await kube.mergePatch(path('moved'), { metadata: { finalizers: [BOUND] } });
    const guarded = await addCleanupFinalizer(kube, listed);
    expect(guarded.outcome).toBe('done');
    expect(current('moved').metadata.finalizers).toEqual([BOUND, S3_CLEANUP_FINALIZER]);
    const deleted = await deleteSnapshot(kube, listed, listed.resourceVersion);
    expect(deleted.outcome).toBe('done');
    expect(current('moved').metadata.deletionTimestamp).toBeDefined();
  });

  it('by a person who pinned it: kept', async () => {
    seed('pinned', false, []);
    const listed = toSnapshotInfo(current('pinned'));
    await kube.mergePatch(path('pinned'), { metadata: { labels: { [Labels.pin]: 'true' } } });
    expect(await addCleanupFinalizer(kube, listed)).toEqual({ outcome: 'changed' });
    expect(await deleteSnapshot(kube, listed, listed.resourceVersion)).toEqual({ outcome: 'changed' });
    expect(current('pinned').metadata.deletionTimestamp).toBeUndefined();
  });
});
