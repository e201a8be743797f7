// Retention on a real control plane: backups labelled on three days, retain and mark-and-delete as the nights
// pass, and the deletion carried through by the real snapshot-controller and csi-snapshotter down to the storage
// (the snapshot's folder on the test node), including a snapshot class that retains its contents.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupCommand } from '../../scripts/backup.js';
import { createMarkAndDeleteCommand } from '../../scripts/mark-and-delete.js';
import { createRetainCommand } from '../../scripts/retain.js';
import { DRIVER, startRealCluster, type RealCluster } from './index.js';
import { runNsbackup, until } from '../kit/index.js';
import { claim } from './shop.js';

const NS = 'ledger';
let cluster: RealCluster;
const json = (args: string[]) => JSON.parse(cluster.kubectl([...args, '-o', 'json']));
const snapshots = () => json(['-n', NS, 'get', 'volumesnapshots']).items as any[];
/** The snapshots our CSI driver holds (a folder each, beside its record). */
const storedSnapshots = () =>
  readdirSync(join(cluster.dir, 'node', 'snapshots')).filter((f) => !f.endsWith('.json'));
const at = (iso: string) => () => new Date(iso);

beforeAll(async () => {
  cluster = await startRealCluster();
  cluster.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
        claim(NS, 'data'),
        // A class that keeps the storage when a snapshot is deleted: mark-and-delete must switch it to Delete.
        {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshotClass',
          metadata: { name: 'csi-retain' },
          driver: DRIVER,
          deletionPolicy: 'Retain',
        },
      ],
    }),
  );
  cluster.kubectl(['-n', NS, 'wait', 'pvc/data', '--for=jsonpath={.status.phase}=Bound', '--timeout=60s']);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
});

const env = () => ({
  NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
  NSBACKUP_NAMESPACE: NS,
  NSBACKUP_KEEP_DAILY: '1',
  NSBACKUP_KEEP_WEEKLY: '0',
  NSBACKUP_KEEP_MONTHLY: '0',
});

describe('retain and mark-and-delete on a real control plane', () => {
  it('keeps the newest daily, marks the others, and frees their storage through the snapshot controller', async () => {
    for (const day of ['2026-11-02', '2026-11-03', '2026-11-04']) {
      const r = await runNsbackup(createBackupCommand({ now: at(`${day}T01:00:00Z`) }), {
        ...env(),
        NSBACKUP_PVC: 'data',
        NSBACKUP_DB: 'none',
        NSBACKUP_LOCK: 'false',
        NSBACKUP_SNAPSHOT_CLASS: 'csi-retain',
        // Nightly runs: a run from outside a cluster counts as ad-hoc, which is kept 30 days.
        NSBACKUP_TYPE: 'scheduled',
      });
      expect(r.code, r.text).toBe(0);
    }
    expect(snapshots()).toHaveLength(3);
    expect(storedSnapshots()).toHaveLength(3);
    const newest = snapshots().find((s) => s.metadata.labels['nsbackup.io/daily'] === '2026-11-04')!.metadata
      .name;

    const retain = await runNsbackup(createRetainCommand(), env());
    expect(retain.code, retain.text).toBe(0);
    const mark = await runNsbackup(createMarkAndDeleteCommand({ now: at('2026-11-04T03:00:00Z') }), env());
    expect(mark.code, mark.text).toBe(0);
    const marked = snapshots().filter((s) => s.metadata.labels['nsbackup.io/delete-after']);
    expect(marked.map((s) => s.metadata.name)).not.toContain(newest);
    expect(marked).toHaveLength(2);

    // Two nights later the grace day has passed: deleted, contents switched from Retain to Delete first, so the
    // real controllers delete the stored snapshots too.
    // Two of three is over the safety valve's default share: the run refuses and deletes nothing...
    const refused = await runNsbackup(createMarkAndDeleteCommand({ now: at('2026-11-06T03:00:00Z') }), env());
    expect(refused.code).toBe(1);
    expect(refused.text).toContain('safety valve');
    expect(snapshots()).toHaveLength(3);
    // ... until the share is allowed.
    const sweep = await runNsbackup(createMarkAndDeleteCommand({ now: at('2026-11-06T03:00:00Z') }), {
      ...env(),
      NSBACKUP_MAX_DELETE_SHARE: '0.7',
    });
    expect(sweep.code, sweep.text).toBe(0);
    // The assertions below say what is left if it never gets there.
    await until(
      'one snapshot left',
      () => snapshots().length === 1 && storedSnapshots().length === 1,
      30_000,
    ).catch(() => undefined);
    expect(
      snapshots().map((s) => s.metadata.name),
      sweep.text,
    ).toEqual([newest]);
    expect(json(['get', 'volumesnapshotcontents']).items).toHaveLength(1);
    expect(storedSnapshots()).toHaveLength(1);
    const kept = json(['get', 'volumesnapshotcontents']).items[0];
    expect(existsSync(join(cluster.dir, 'node', 'snapshots', kept.status.snapshotHandle))).toBe(true);
  });
});
