// Controllers of the emulated cluster, CRD registration and namespace lifecycle, seen through client-node.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ApiextensionsV1Api,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './index.js';

const G = 'snapshot.storage.k8s.io';
let cluster: Cluster;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let ext: ApiextensionsV1Api;

function clients(c: Cluster) {
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfigPath);
  return {
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    ext: kc.makeApiClient(ApiextensionsV1Api),
  };
}

beforeAll(async () => {
  cluster = await startCluster({ snapshotReadyDelayMs: 50 });
  ({ core, custom, ext } = clients(cluster));
  cluster.seed(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db' } },
    {
      apiVersion: `${G}/v1`,
      kind: 'VolumeSnapshotClass',
      metadata: { name: 'retain' },
      driver: 'csi.example.com',
      deletionPolicy: 'Retain',
    },
  );
});

afterAll(async () => {
  await cluster?.close();
});

const pvc = (name: string, extra: any = {}) => ({
  metadata: { name },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '3Gi' } }, ...extra },
});

const snapshot = (name: string, spec: any) => ({
  apiVersion: `${G}/v1`,
  kind: 'VolumeSnapshot',
  metadata: { name },
  spec,
});

async function createSnapshot(name: string, spec: any): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: G,
    version: 'v1',
    namespace: 'db',
    plural: 'volumesnapshots',
    body: snapshot(name, spec),
  });
}

const getVs = (name: string) => cluster.get(`${G}/v1`, 'VolumeSnapshot', 'db', name);
const getVsc = (name: string) => cluster.get(`${G}/v1`, 'VolumeSnapshotContent', undefined, name);

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('PVC binder', () => {
  it('binds a Pending claim to a new PV', async () => {
    const created = await core.createNamespacedPersistentVolumeClaim({ namespace: 'db', body: pvc('data') });
    expect(created.status?.phase).toBe('Pending');
    await cluster.controllers.idle();
    const bound = await core.readNamespacedPersistentVolumeClaim({ namespace: 'db', name: 'data' });
    expect(bound.status?.phase).toBe('Bound');
    expect(bound.status?.capacity?.storage).toBe('3Gi');
    const pv = await core.readPersistentVolume({ name: bound.spec!.volumeName! });
    expect(pv.spec?.claimRef).toMatchObject({ name: 'data', namespace: 'db', uid: bound.metadata?.uid });
    expect(pv.status?.phase).toBe('Bound');
  });

  it('leaves a claim Pending when told to fail, with a ProvisioningFailed event', async () => {
    cluster.controllers.pvcBinder.failNext('no capacity left');
    await core.createNamespacedPersistentVolumeClaim({ namespace: 'db', body: pvc('starved') });
    await cluster.controllers.idle();
    expect(cluster.get('v1', 'PersistentVolumeClaim', 'db', 'starved').status.phase).toBe('Pending');
    const events = await core.listNamespacedEvent({
      namespace: 'db',
      fieldSelector: 'involvedObject.name=starved',
    });
    expect(events.items.map((e) => [e.reason, e.message])).toEqual([
      ['ProvisioningFailed', 'no capacity left'],
    ]);
  });
});

describe('snapshot controller', () => {
  it('binds a content and turns readyToUse after the configured delay', async () => {
    await createSnapshot('s1', { source: { persistentVolumeClaimName: 'data' } });
    const bound = await until(
      'binding',
      () => getVs('s1')?.status?.boundVolumeSnapshotContentName && getVs('s1'),
    );
    expect(bound.status.readyToUse).toBe(false);
    const ready = await until('readyToUse', () => getVs('s1')?.status?.readyToUse && getVs('s1'));
    expect(ready.status.restoreSize).toBe('3Gi');
    expect(ready.status.creationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const content = getVsc(`snapcontent-${ready.metadata.uid}`);
    expect(content.spec).toMatchObject({
      deletionPolicy: 'Delete',
      volumeSnapshotRef: { name: 's1', namespace: 'db', uid: ready.metadata.uid },
    });
    expect(content.status.restoreSize).toBe(3 * 2 ** 30);
  });

  it('reports status.error for a missing PVC and on failNext', async () => {
    await createSnapshot('nopvc', { source: { persistentVolumeClaimName: 'ghost' } });
    await until('error', () => getVs('nopvc')?.status?.error);
    expect(getVs('nopvc').status.readyToUse).toBe(false);
    cluster.controllers.snapshot.failNext('driver exploded');
    await createSnapshot('failing', { source: { persistentVolumeClaimName: 'data' } });
    const failed = await until('error', () => getVs('failing')?.status?.error && getVs('failing'));
    expect(failed.status.error.message).toBe('driver exploded');
    expect(failed.status.readyToUse).toBe(false);
  });

  it('deletes the content with the snapshot only when the policy is Delete', async () => {
    await createSnapshot('gone', { source: { persistentVolumeClaimName: 'data' } });
    await createSnapshot('kept', {
      source: { persistentVolumeClaimName: 'data' },
      volumeSnapshotClassName: 'retain',
    });
    const gone = await until('ready', () => getVs('gone')?.status?.readyToUse && getVs('gone'));
    const kept = await until('ready', () => getVs('kept')?.status?.readyToUse && getVs('kept'));
    for (const name of ['gone', 'kept']) {
      await custom.deleteNamespacedCustomObject({
        group: G,
        version: 'v1',
        namespace: 'db',
        plural: 'volumesnapshots',
        name,
      });
    }
    await until('snapshots removed', () => !getVs('gone') && !getVs('kept'));
    await cluster.controllers.idle();
    expect(getVsc(gone.status.boundVolumeSnapshotContentName)).toBeUndefined();
    const retained = getVsc(kept.status.boundVolumeSnapshotContentName);
    expect(retained.spec.deletionPolicy).toBe('Retain');
    expect(retained.spec.volumeSnapshotRef.name).toBe('kept');
  });

  it('waits for an unbound claim without keeping the controllers busy', async () => {
    cluster.controllers.pvcBinder.enabled = false;
    await core.createNamespacedPersistentVolumeClaim({ namespace: 'db', body: pvc('late') });
    await createSnapshot('of-late', { source: { persistentVolumeClaimName: 'late' } });
    await cluster.controllers.idle();
    expect(getVs('of-late').status).toBeUndefined();
    cluster.controllers.pvcBinder.enabled = true;
    await until('ready', () => getVs('of-late')?.status?.readyToUse);
  });

  it('keeps a snapshot Terminating while the controller is off', async () => {
    await createSnapshot('held', { source: { persistentVolumeClaimName: 'data' } });
    await until('ready', () => getVs('held')?.status?.readyToUse);
    cluster.controllers.snapshot.enabled = false;
    try {
      await custom.deleteNamespacedCustomObject({
        group: G,
        version: 'v1',
        namespace: 'db',
        plural: 'volumesnapshots',
        name: 'held',
      });
      await cluster.controllers.idle();
      expect(getVs('held').metadata.deletionTimestamp).toBeTruthy();
    } finally {
      cluster.controllers.snapshot.enabled = true;
    }
    await until('removed once the controller is back', () => !getVs('held'));
  });

  it('restores: a claim from a ready snapshot comes up Bound, from a missing one stays Pending', async () => {
    await createSnapshot('src', { source: { persistentVolumeClaimName: 'data' } });
    await until('ready', () => getVs('src')?.status?.readyToUse);
    const dataSource = (name: string) => ({ dataSource: { apiGroup: G, kind: 'VolumeSnapshot', name } });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'db',
      body: pvc('restored', dataSource('src')),
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'db',
      body: pvc('orphan', dataSource('nothing')),
    });
    await cluster.controllers.idle();
    expect(cluster.get('v1', 'PersistentVolumeClaim', 'db', 'restored').status.phase).toBe('Bound');
    expect(cluster.get('v1', 'PersistentVolumeClaim', 'db', 'orphan').status.phase).toBe('Pending');
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'db',
      body: {
        ...pvc('too-small', dataSource('src')),
        spec: { ...pvc('x', dataSource('src')).spec, resources: { requests: { storage: '1Gi' } } },
      },
    });
    await cluster.controllers.idle();
    expect(cluster.get('v1', 'PersistentVolumeClaim', 'db', 'too-small').status.phase).toBe('Pending');
    const events = await core.listNamespacedEvent({
      namespace: 'db',
      fieldSelector: 'involvedObject.name=too-small',
    });
    expect(events.items[0]?.message).toContain('is less than the size');
  });
});

describe('workloads and pods', () => {
  it('reports Deployment and StatefulSet replicas ready, and starts created pods', async () => {
    cluster.seed(
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'pg', namespace: 'db' },
        spec: { replicas: 3, selector: {}, template: {} },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'seeded', namespace: 'db' },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      },
    );
    await core.createNamespacedPod({
      namespace: 'db',
      body: { metadata: { name: 'created' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    });
    await cluster.controllers.idle();
    expect(cluster.get('apps/v1', 'StatefulSet', 'db', 'pg').status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    for (const name of ['seeded', 'created']) {
      const pod = await core.readNamespacedPod({ namespace: 'db', name });
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });
});

describe('jobs', () => {
  const job = (name: string, backoffLimit: number) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'db' },
    spec: {
      backoffLimit,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'c', image: 'x', env: [{ name: 'EXIT', value: name === 'ok' ? '0' : '3' }] }],
        },
      },
    },
  });

  it('runs a Job through the registered runner and completes it with the exit code', async () => {
    const seen: string[] = [];
    cluster.controllers.jobs.runner = async (j, pod) => {
      seen.push(`${j.metadata.name} ${pod.metadata.labels['job-name']} ${pod.status.phase}`);
      return Number(pod.spec.containers[0].env[0].value);
    };
    try {
      const batch = await fetch(`${cluster.url}/apis/batch/v1/namespaces/db/jobs`, {
        method: 'POST',
        body: JSON.stringify(job('ok', 6)),
        headers: { 'Content-Type': 'application/json' },
      });
      expect(batch.status).toBe(201);
      await fetch(`${cluster.url}/apis/batch/v1/namespaces/db/jobs`, {
        method: 'POST',
        body: JSON.stringify(job('bad', 1)),
        headers: { 'Content-Type': 'application/json' },
      });
      await cluster.controllers.idle();
      const ok = cluster.get('batch/v1', 'Job', 'db', 'ok');
      expect(ok.status).toMatchObject({ succeeded: 1 });
      expect(ok.status.conditions.map((c: any) => c.type)).toContain('Complete');
      const bad = cluster.get('batch/v1', 'Job', 'db', 'bad');
      expect(bad.status).toMatchObject({ failed: 2 });
      expect(bad.status.conditions.find((c: any) => c.type === 'Failed').reason).toBe('BackoffLimitExceeded');
      const pods = cluster.list('v1', 'Pod', 'db').filter((p) => p.metadata.labels?.['job-name']);
      expect(pods.map((p) => [p.metadata.labels['job-name'], p.status.phase]).sort()).toEqual([
        ['bad', 'Failed'],
        ['bad', 'Failed'],
        ['ok', 'Succeeded'],
      ]);
      expect(seen).toContain('ok ok Running');
      await fetch(`${cluster.url}/apis/batch/v1/namespaces/db/jobs/bad`, { method: 'DELETE' });
      await cluster.controllers.idle();
      expect(
        cluster.list('v1', 'Pod', 'db').filter((p) => p.metadata.labels?.['job-name'] === 'bad'),
      ).toEqual([]);
    } finally {
      cluster.controllers.jobs.runner = undefined;
    }
  });
});

describe('garbage collector', () => {
  it('deletes dependents with their owner, and keeps them (without the reference) on Orphan', async () => {
    const owner = async (name: string) => {
      const cm = await core.createNamespacedConfigMap({ namespace: 'db', body: { metadata: { name } } });
      const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name, uid: cm.metadata!.uid! }];
      await core.createNamespacedConfigMap({
        namespace: 'db',
        body: { metadata: { name: `${name}-child`, ownerReferences } },
      });
    };
    await owner('parent');
    await owner('keeper');
    await core.deleteNamespacedConfigMap({ namespace: 'db', name: 'parent' });
    await core.deleteNamespacedConfigMap({ namespace: 'db', name: 'keeper', propagationPolicy: 'Orphan' });
    await cluster.controllers.idle();
    expect(cluster.get('v1', 'ConfigMap', 'db', 'parent-child')).toBeUndefined();
    const kept = cluster.get('v1', 'ConfigMap', 'db', 'keeper-child');
    expect(kept.metadata.ownerReferences).toBeUndefined();
  });
});

describe('CRDs', () => {
  it('registers a created CRD in discovery and unregisters it on deletion', async () => {
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: 'widgets.example.com' },
        spec: {
          group: 'example.com',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
          scope: 'Namespaced',
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
            },
          ],
        },
      },
    });
    const list = (await (await fetch(`${cluster.url}/apis/example.com/v1`)).json()) as any;
    expect(list.resources[0]).toMatchObject({
      name: 'widgets',
      kind: 'Widget',
      namespaced: true,
      shortNames: ['wd'],
    });
    await custom.createNamespacedCustomObject({
      group: 'example.com',
      version: 'v1',
      namespace: 'db',
      plural: 'widgets',
      body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
    });
    await ext.deleteCustomResourceDefinition({ name: 'widgets.example.com' });
    expect((await fetch(`${cluster.url}/apis/example.com/v1`)).status).toBe(404);
    const groups = (await (await fetch(`${cluster.url}/apis`)).json()) as any;
    expect(groups.groups.map((g: any) => g.name)).not.toContain('example.com');
  });

  it('serves no snapshot API on a cluster started without the snapshot CRDs', async () => {
    const bare = await startCluster({ snapshotCrds: false });
    try {
      const groups = (await (await fetch(`${bare.url}/apis`)).json()) as any;
      expect(groups.groups.map((g: any) => g.name)).not.toContain(G);
      const res = await fetch(`${bare.url}/apis/${G}/v1/namespaces/default/volumesnapshots`);
      expect(res.status).toBe(404);
    } finally {
      await bare.close();
    }
  });
});

describe('namespace deletion', () => {
  it('marks the namespace Terminating, removes its content, then the namespace', async () => {
    cluster.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'doomed' } },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'p', namespace: 'doomed' },
        spec: { resources: { requests: { storage: '1Gi' } } },
      },
    );
    await cluster.controllers.idle();
    await custom.createNamespacedCustomObject({
      group: G,
      version: 'v1',
      namespace: 'doomed',
      plural: 'volumesnapshots',
      body: { ...snapshot('s', { source: { persistentVolumeClaimName: 'p' } }) },
    });
    await until('ready', () => cluster.get(`${G}/v1`, 'VolumeSnapshot', 'doomed', 's')?.status?.readyToUse);
    cluster.controllers.namespaces.enabled = false;
    await core.deleteNamespace({ name: 'doomed' });
    expect((await core.readNamespace({ name: 'doomed' })).status?.phase).toBe('Terminating');
    let refused: unknown;
    await core
      .createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'late' } } })
      .catch((e) => (refused = e));
    expect((refused as ApiException<unknown>).code).toBe(403);
    cluster.controllers.namespaces.enabled = true;
    await until('namespace gone', () => !cluster.get('v1', 'Namespace', undefined, 'doomed'));
    expect(cluster.list('v1', 'ConfigMap', 'doomed')).toEqual([]);
    expect(cluster.list(`${G}/v1`, 'VolumeSnapshot', 'doomed')).toEqual([]);
  });
});
