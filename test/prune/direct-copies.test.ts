// The volume data of NSBACKUP_PVC_DATA_DIRECT has no VolumeSnapshot of its own: mark-and-delete reports it for
// forgetting (by namespace, PVC and backup id, as any other) only with the last snapshot of its backup, never while
// another snapshot of that backup is kept, and never a PVC the backup's recorded configuration does not name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type KubeClient } from '../../lib/kube/index.js';
import { Annotations, Labels } from '../../lib/labels.js';
import { Logger } from '../../lib/log.js';
import { markAndDelete } from '../../lib/prune/mark-and-delete.js';
import { directPvcsOf } from '../../lib/snapshots/list.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { seedSnapshots, type SnapshotSpec } from '../kit/index.js';

let cluster: Cluster;
let kube: KubeClient;

beforeAll(async () => {
  cluster = await startCluster();
  kube = connect({ kubeconfigPath: cluster.kubeconfigPath, env: {} });
});
afterAll(() => cluster?.close());

const config = (direct: unknown) => ({
  [Annotations.config]: JSON.stringify({ pvcs: ['db', 'wal'], pvcDataDirect: direct }),
});

function snapshot(
  name: string,
  pvc: string,
  backup: string,
  createdAt: string,
  deleteAfter?: string,
): SnapshotSpec {
  return {
    namespace: 'nfs',
    name,
    pvc,
    createdAt,
    labels: {
      [Labels.backup]: backup,
      [Labels.retain]: 'gfs',
      [Labels.outcome]: 'succeeded',
      ...(deleteAfter ? { [Labels.deleteAfter]: deleteAfter } : {}),
    },
    annotations: config(['shared', 'home']),
  };
}

async function sweep() {
  const result = await markAndDelete(
    {
      kube,
      log: new Logger({ write: () => {} }),
      out: () => {},
      signal: new AbortController().signal,
      s3: () => undefined,
      layout: undefined,
    },
    {
      namespace: 'nfs',
      now: new Date('2026-03-20T12:00:00Z'),
      timeZone: 'UTC',
      graceDays: 1,
      pauseMs: 0,
      maxDeleteShare: 1,
      maxDeleteCount: 100,
      force: true,
      dryRun: false,
    },
  );
  await cluster.controllers.idle();
  return result.deletedBackups.map((d) => `${d.namespace}/${d.pvc}/${d.backupId}`);
}

describe('direct copies in mark-and-delete', () => {
  it('go with the last snapshot of their backup, not before', async () => {
    seedSnapshots(cluster, [
      snapshot('db-1', 'db', 'b1', '2026-03-01T02:00:00Z', '2026-03-02'),
      snapshot('wal-1', 'wal', 'b1', '2026-03-01T02:00:00Z'),
      // Newer good snapshots of each PVC: the newest is never deleted.
      snapshot('db-2', 'db', 'b2', '2026-03-19T02:00:00Z'),
      snapshot('wal-2', 'wal', 'b2', '2026-03-19T02:00:00Z'),
    ]);
    // wal-1 keeps backup b1 alive (pinned): only db's copy is forgotten.
    await cluster.controllers.idle();
    const wal = cluster.get('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'nfs', 'wal-1');
    cluster.seed({
      ...wal,
      metadata: { ...wal.metadata, labels: { ...wal.metadata.labels, [Labels.pin]: 'true' } },
    });
    expect(await sweep()).toEqual(['nfs/db/b1']);

    // Then the last one of b1 goes: its own copy, and the backup's direct copies.
    const vs = cluster.get('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'nfs', 'wal-1');
    const { [Labels.pin]: _, ...unpinned } = vs.metadata.labels;
    cluster.seed({
      ...vs,
      metadata: { ...vs.metadata, labels: { ...unpinned, [Labels.deleteAfter]: '2026-03-02' } },
    });
    expect(await sweep()).toEqual(['nfs/wal/b1', 'nfs/shared/b1', 'nfs/home/b1']);
  });

  it('reads only PVC names from the recorded configuration (a hand-edited annotation widens nothing)', () => {
    expect(directPvcsOf(JSON.stringify({ pvcDataDirect: ['shared', '../x', 'Home', 7, 'a,b'] }))).toEqual([
      'shared',
    ]);
    expect(directPvcsOf(JSON.stringify({ pvcDataDirect: 'shared' }))).toEqual([]);
    expect(directPvcsOf('{not json')).toEqual([]);
    expect(directPvcsOf(undefined)).toEqual([]);
  });
});
