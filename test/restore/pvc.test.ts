// restore-pvc and whole-namespace restores of PVCs from the backup's snapshots, on the emulator.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { exportNamespaceToS3 } from '../../lib/export/index.js';
import { connect, corePath, groupPath, volumeSnapshotPath, type KubeClient } from '../../lib/kube/index.js';
import { Labels } from '../../lib/labels.js';
import { Logger } from '../../lib/log.js';
import { pvcFromSnapshot, replacedVolumes } from '../../lib/restore/pvc.js';
import { command as restorePvcCommand } from '../../scripts/restore-pvc.js';
import { command as restoreCommand } from '../../scripts/restore.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { startS3, type LocalS3 } from '../kit/index.js';

const BACKUP = '20261121-120000-pvcpvc';
const SNAP_API = 'snapshot.storage.k8s.io/v1';
let cluster: Cluster;
let s3: LocalS3;
let kube: KubeClient;
let tmp: string;

const deployment = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'app' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [{ name: 'app', image: 'nginx', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [
          { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
          { name: 'cache', emptyDir: {} },
        ],
      },
    },
  },
});

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startCluster(), startS3()]);
  tmp = mkdtempSync(join(tmpdir(), 'nsbackup-restore-pvc-'));
  kube = connect({ kubeconfigPath: cluster.kubeconfigPath });
  await kube.create('/apis/storage.k8s.io/v1/storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'fast' },
    provisioner: 'csi.example.com',
  });
  await kube.create(corePath('namespaces'), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'app' },
  });
  await kube.create(corePath('persistentvolumeclaims', 'app'), {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'app' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast',
      volumeMode: 'Filesystem',
      resources: { requests: { storage: '2Gi' } },
    },
  });
  await cluster.controllers.idle();
  await kube.create(volumeSnapshotPath('app'), {
    apiVersion: SNAP_API,
    kind: 'VolumeSnapshot',
    metadata: {
      name: 'data-snap',
      namespace: 'app',
      labels: { [Labels.backup]: BACKUP, [Labels.pvc]: 'data' },
    },
    spec: { source: { persistentVolumeClaimName: 'data' } },
  });
  await kube.create(groupPath('apps', 'v1', 'deployments', 'app'), deployment(1));
  await cluster.controllers.idle();
  await exportNamespaceToS3({
    kube,
    store: s3.store(),
    namespace: 'app',
    cluster: 'prod',
    backupId: BACKUP,
    log: new Logger({ write: () => undefined }),
  });
}, 60_000);
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function run(command: any, argv: string[], extraEnv: Record<string, string> = {}) {
  const lines: string[] = [];
  const code = await runCommand(command, {
    argv,
    env: {
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'prod',
      ...s3.env,
      ...extraEnv,
    },
    write: (line) => lines.push(line),
    out: () => undefined,
  });
  await cluster.controllers.idle();
  return { code, text: lines.join('\n') };
}

describe('pure decisions', () => {
  const vs = {
    apiVersion: SNAP_API,
    kind: 'VolumeSnapshot',
    metadata: { name: 's1', labels: { [Labels.backup]: 'b1' } },
    spec: { source: { persistentVolumeClaimName: 'data' } },
    status: { restoreSize: '3Gi', readyToUse: true },
  };
  it('sizes the claim at least the snapshot restoreSize, class and modes from the source claim', () => {
    const source = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: {
        accessModes: ['ReadWriteMany'],
        storageClassName: 'nfs',
        resources: { requests: { storage: '1Gi' } },
      },
    };
    const pvc = pvcFromSnapshot(vs, source, { name: 'new', namespace: 'x' }) as any;
    expect(pvc.spec).toEqual({
      accessModes: ['ReadWriteMany'],
      storageClassName: 'nfs',
      resources: { requests: { storage: '3Gi' } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 's1' },
      dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 's1' },
    });
    expect(pvc.metadata.labels).toEqual({ [Labels.restoredFrom]: 'b1' });
    const unknownSource = pvcFromSnapshot(vs, undefined, {
      name: 'new',
      namespace: 'x',
      storageClass: 'fast',
    }) as any;
    expect(unknownSource.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(unknownSource.spec.storageClassName).toBe('fast');
  });
  it('refuses to switch a running workload or a claim of volumeClaimTemplates', () => {
    expect(replacedVolumes(deployment(2) as any, 'data', 'new')).toEqual({
      problem:
        'deployment/web has 2 replicas; scale it to 0 first (kubectl scale deployment/web --replicas=0)',
    });
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: { replicas: 0, template: { spec: {} }, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
    };
    expect(replacedVolumes(sts as any, 'data-db-0', 'new')).toEqual({
      problem: expect.stringContaining('claims of volumeClaimTemplates cannot be switched'),
    });
  });
});

describe('nsbackup restore-pvc', () => {
  it('creates a claim from the snapshot with its restoreSize', async () => {
    const { code, text } = await run(restorePvcCommand, ['data-snap', '--as', 'data-copy', '-n', 'app']);
    expect(code, text).toBe(0);
    const pvc = cluster.get('v1', 'PersistentVolumeClaim', 'app', 'data-copy');
    expect(pvc.spec.dataSource).toEqual({
      apiGroup: 'snapshot.storage.k8s.io',
      kind: 'VolumeSnapshot',
      name: 'data-snap',
    });
    expect(pvc.spec.resources.requests.storage).toBe('2Gi');
    expect(pvc.spec.storageClassName).toBe('fast');
    expect(pvc.status.phase).toBe('Bound');
    // Run again: the claim exists from this snapshot, nothing else happens.
    expect((await run(restorePvcCommand, ['data-snap', '--as', 'data-copy', '-n', 'app'])).code).toBe(0);
  });

  it('switches a workload only when it is scaled to 0, and writes nothing otherwise', async () => {
    const refused = await run(restorePvcCommand, [
      'data-snap',
      '--as',
      'data-v2',
      '-n',
      'app',
      '--replace-in',
      'deployment/web',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.text).toContain('deployment/web has 1 replicas; scale it to 0 first');
    expect(cluster.get('v1', 'PersistentVolumeClaim', 'app', 'data-v2')).toBeUndefined();

    await kube.mergePatch(groupPath('apps', 'v1', 'deployments', 'app', 'web'), { spec: { replicas: 0 } });
    const done = await run(restorePvcCommand, [
      'data-snap',
      '--as',
      'data-v2',
      '-n',
      'app',
      '--replace-in',
      'deployment/web',
    ]);
    expect(done.code, done.text).toBe(0);
    const volumes = cluster.get('apps/v1', 'Deployment', 'app', 'web').spec.template.spec.volumes;
    expect(volumes).toEqual([
      { name: 'data', persistentVolumeClaim: { claimName: 'data-v2' } },
      { name: 'cache', emptyDir: {} },
    ]);
  });
});

describe('whole-namespace restore with NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS', () => {
  it('into another namespace: the snapshot is recreated there from its content, the claim starts from it', async () => {
    const { code, text } = await run(
      restoreCommand,
      ['--backup', BACKUP, '-n', 'app', '--namespace-mapping', 'app=app2'],
      {
        NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS: 'true',
      },
    );
    expect(code, text).toBe(0);
    const original = cluster.get(SNAP_API, 'VolumeSnapshot', 'app', 'data-snap');
    const originalContent = cluster.get(
      SNAP_API,
      'VolumeSnapshotContent',
      undefined,
      original.status.boundVolumeSnapshotContentName,
    );
    const copy = cluster.get(SNAP_API, 'VolumeSnapshot', 'app2', 'data-snap');
    expect(copy.spec.source).toEqual({ volumeSnapshotContentName: 'nsbackup-app2-data-snap' });
    expect(copy.status.readyToUse).toBe(true);
    const content = cluster.get(SNAP_API, 'VolumeSnapshotContent', undefined, 'nsbackup-app2-data-snap');
    expect(content.spec.source).toEqual({ snapshotHandle: originalContent.status.snapshotHandle });
    expect(content.spec.deletionPolicy).toBe('Retain');
    expect(content.spec.volumeSnapshotRef).toMatchObject({ namespace: 'app2', name: 'data-snap' });
    const pvc = cluster.get('v1', 'PersistentVolumeClaim', 'app2', 'data');
    expect(pvc.spec.dataSource.name).toBe('data-snap');
    expect(pvc.spec.volumeName).not.toBe(
      cluster.get('v1', 'PersistentVolumeClaim', 'app', 'data').spec.volumeName,
    );
    expect(pvc.status.phase).toBe('Bound');
  });

  it('in another cluster without the snapshot: an empty claim and a warning', async () => {
    const other = await startCluster();
    try {
      const lines: string[] = [];
      const code = await runCommand(restoreCommand, {
        argv: ['--backup', BACKUP, '-n', 'app', '--report', join(tmp, 'r.json')],
        env: {
          NSBACKUP_KUBECONFIG: other.kubeconfigPath,
          NSBACKUP_CLUSTER_NAME: 'prod',
          NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS: 'true',
          ...s3.env,
        },
        write: (line) => lines.push(line),
      });
      expect(code, lines.join('\n')).toBe(0);
      expect(lines.join('\n')).toContain(
        `PVC app/data: no VolumeSnapshot of backup ${BACKUP} in this cluster`,
      );
      expect(other.get('v1', 'PersistentVolumeClaim', 'app', 'data').spec.dataSource).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});
