// The emulator through @kubernetes/client-node, the client nsbackup itself uses.
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './index.js';

let cluster: Cluster;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;

beforeAll(async () => {
  cluster = await startCluster();
  kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: 'app' } } });
});

afterAll(async () => {
  await cluster?.close();
});

beforeEach(() => {
  cluster.faults.clear();
});

/** The Status body of a failed call. */
async function failure(call: Promise<unknown>): Promise<{ code: number; status: any }> {
  try {
    await call;
  } catch (e) {
    if (e instanceof ApiException) return { code: e.code, status: JSON.parse(e.body as string) };
    throw e;
  }
  throw new Error('the call succeeded');
}

const deployment = (name: string) => ({
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          { name: 'app', image: 'busybox', env: [{ name: 'A', value: '1' }] },
          { name: 'sidecar', image: 'busybox' },
        ],
      },
    },
  },
});

describe('objects through client-node', () => {
  it('creates, reads, replaces and deletes with server-set metadata', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: 'app',
      body: { metadata: { name: 'crud' }, data: { a: '1' } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const rv1 = Number(created.metadata?.resourceVersion);
    const read = await core.readNamespacedConfigMap({ namespace: 'app', name: 'crud' });
    expect(read.data).toEqual({ a: '1' });
    const replaced = await core.replaceNamespacedConfigMap({
      namespace: 'app',
      name: 'crud',
      body: { ...read, data: { a: '2' } },
    });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(rv1);
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);
    await core.deleteNamespacedConfigMap({ namespace: 'app', name: 'crud' });
    const gone = await failure(core.readNamespacedConfigMap({ namespace: 'app', name: 'crud' }));
    expect(gone.code).toBe(404);
    expect(gone.status).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'configmaps "crud" not found',
    });
  });

  it('answers API convention errors with the Status a real server sends', async () => {
    await core.createNamespacedConfigMap({ namespace: 'app', body: { metadata: { name: 'dup' } } });
    const dup = await failure(
      core.createNamespacedConfigMap({ namespace: 'app', body: { metadata: { name: 'dup' } } }),
    );
    expect(dup).toMatchObject({
      code: 409,
      status: { reason: 'AlreadyExists', message: 'configmaps "dup" already exists' },
    });
    const noNs = await failure(
      core.createNamespacedConfigMap({ namespace: 'nope', body: { metadata: { name: 'x' } } }),
    );
    expect(noNs).toMatchObject({
      code: 404,
      status: { reason: 'NotFound', message: 'namespaces "nope" not found' },
    });
    const noName = await failure(
      core.createNamespacedConfigMap({ namespace: 'app', body: { metadata: {} } }),
    );
    expect(noName.code).toBe(422);
    expect(noName.status.reason).toBe('Invalid');
    expect(noName.status.details.causes[0].field).toBe('metadata.name');
    const mismatch = await failure(
      core.createNamespacedConfigMap({
        namespace: 'app',
        body: { metadata: { name: 'm', namespace: 'default' } },
      }),
    );
    expect(mismatch).toMatchObject({ code: 400, status: { reason: 'BadRequest' } });
    const withRv = await failure(
      core.createNamespacedConfigMap({
        namespace: 'app',
        body: { metadata: { name: 'rv', resourceVersion: '5' } },
      }),
    );
    expect(withRv).toMatchObject({
      code: 500,
      status: { message: 'resourceVersion should not be set on objects to be created' },
    });
  });

  it('rejects an update carrying a stale resourceVersion with 409 Conflict', async () => {
    const cm = await core.createNamespacedConfigMap({
      namespace: 'app',
      body: { metadata: { name: 'conflict' }, data: { v: '1' } },
    });
    await core.replaceNamespacedConfigMap({
      namespace: 'app',
      name: 'conflict',
      body: { ...cm, data: { v: '2' } },
    });
    const stale = await failure(
      core.replaceNamespacedConfigMap({
        namespace: 'app',
        name: 'conflict',
        body: { ...cm, data: { v: '3' } },
      }),
    );
    expect(stale.code).toBe(409);
    expect(stale.status.reason).toBe('Conflict');
    expect(stale.status.message).toContain('the object has been modified');
    expect((await core.readNamespacedConfigMap({ namespace: 'app', name: 'conflict' })).data).toEqual({
      v: '2',
    });
  });

  it('gives generateName a random suffix', async () => {
    const a = await core.createNamespacedConfigMap({
      namespace: 'app',
      body: { metadata: { generateName: 'gen-' } },
    });
    expect(a.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it('removes a label with a merge patch null and keeps the others', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'app',
      body: { metadata: { name: 'labels', labels: { a: '1', b: '2' } } },
    });
    const patched = await core.patchNamespacedConfigMap(
      { namespace: 'app', name: 'labels', body: { metadata: { labels: { a: null, c: '3' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.metadata?.labels).toEqual({ b: '2', c: '3' });
  });

  it('applies JSON patches (client-node default) and fails a test op with 422', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'app',
      body: { metadata: { name: 'jp' }, data: { a: '1' } },
    });
    const patched = await core.patchNamespacedConfigMap({
      namespace: 'app',
      name: 'jp',
      body: [
        { op: 'add', path: '/data/b', value: '2' },
        { op: 'remove', path: '/data/a' },
      ],
    });
    expect(patched.data).toEqual({ b: '2' });
    const bad = await failure(
      core.patchNamespacedConfigMap({
        namespace: 'app',
        name: 'jp',
        body: [{ op: 'test', path: '/data/b', value: 'x' }],
      }),
    );
    expect(bad.code).toBe(422);
  });

  it('merges a strategic merge patch into containers by name', async () => {
    await apps.createNamespacedDeployment({ namespace: 'app', body: deployment('smp') });
    const patched = await apps.patchNamespacedDeployment(
      {
        namespace: 'app',
        name: 'smp',
        body: {
          spec: {
            template: {
              spec: { containers: [{ name: 'app', image: 'nginx', env: [{ name: 'B', value: '2' }] }] },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const containers = patched.spec!.template.spec!.containers;
    expect(containers.map((c) => c.name)).toEqual(['app', 'sidecar']);
    expect(containers[0].image).toBe('nginx');
    expect(containers[0].env?.map((e) => e.name)).toEqual(['A', 'B']);
    expect(patched.metadata?.generation).toBe(2);
  });

  it('does not persist dryRun=All writes', async () => {
    const dry = await core.createNamespacedConfigMap({
      namespace: 'app',
      dryRun: 'All',
      body: { metadata: { name: 'dry' } },
    });
    expect(dry.metadata?.name).toBe('dry');
    expect(cluster.get('v1', 'ConfigMap', 'app', 'dry')).toBeUndefined();
  });

  it('holds deletion while finalizers remain', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'app',
      body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } },
    });
    await core.deleteNamespacedConfigMap({ namespace: 'app', name: 'fin' });
    const held = await core.readNamespacedConfigMap({ namespace: 'app', name: 'fin' });
    expect(held.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    await core.patchNamespacedConfigMap(
      { namespace: 'app', name: 'fin', body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect((await failure(core.readNamespacedConfigMap({ namespace: 'app', name: 'fin' }))).code).toBe(404);
  });

  it('separates the main resource from the status subresource', async () => {
    const d = await apps.createNamespacedDeployment({
      namespace: 'app',
      body: { ...deployment('st'), status: { replicas: 9 } },
    });
    expect(d.status?.replicas).not.toBe(9);
    await cluster.controllers.idle();
    const current = await apps.readNamespacedDeployment({ namespace: 'app', name: 'st' });
    const viaMain = await apps.replaceNamespacedDeployment({
      namespace: 'app',
      name: 'st',
      body: { ...current, status: { ...current.status, replicas: 7 } },
    });
    expect(viaMain.status?.replicas).toBe(1);
    const viaStatus = await apps.replaceNamespacedDeploymentStatus({
      namespace: 'app',
      name: 'st',
      body: {
        ...viaMain,
        spec: { ...viaMain.spec!, replicas: 5 },
        status: { ...viaMain.status, replicas: 7 },
      },
    });
    expect(viaStatus.status?.replicas).toBe(7);
    expect(viaStatus.spec?.replicas).toBe(1);
  });
});

describe('per-kind rules', () => {
  it('folds Secret stringData into base64 data', async () => {
    const s = await core.createNamespacedSecret({
      namespace: 'app',
      body: { metadata: { name: 's' }, stringData: { pw: 'hunter2' } },
    });
    expect(s.data).toEqual({ pw: Buffer.from('hunter2').toString('base64') });
    expect(s.stringData).toBeUndefined();
    expect(s.type).toBe('Opaque');
  });

  it('refuses to change an immutable ConfigMap and a Service clusterIP', async () => {
    const cm = await core.createNamespacedConfigMap({
      namespace: 'app',
      body: { metadata: { name: 'frozen' }, immutable: true, data: { a: '1' } },
    });
    const change = await failure(
      core.replaceNamespacedConfigMap({
        namespace: 'app',
        name: 'frozen',
        body: { ...cm, data: { a: '2' } },
      }),
    );
    expect(change).toMatchObject({ code: 422, status: { reason: 'Invalid' } });
    const svc = await core.createNamespacedService({
      namespace: 'app',
      body: { metadata: { name: 'svc' }, spec: { ports: [{ port: 80 }] } },
    });
    expect(svc.spec?.clusterIP).toMatch(/^10\.96\./);
    const moved = await failure(
      core.replaceNamespacedService({
        namespace: 'app',
        name: 'svc',
        body: { ...svc, spec: { ...svc.spec, clusterIP: '10.0.0.9', clusterIPs: ['10.0.0.9'] } },
      }),
    );
    expect(moved.code).toBe(422);
  });

  it('gives a Job the selector and pod labels the Job strategy generates', async () => {
    const res = await fetch(`${cluster.url}/apis/batch/v1/namespaces/app/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        metadata: { name: 'j' },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } },
      }),
    });
    const job = (await res.json()) as any;
    expect(res.status).toBe(201);
    expect(job.spec.selector.matchLabels).toEqual({ 'batch.kubernetes.io/controller-uid': job.metadata.uid });
    expect(job.spec.template.metadata.labels['job-name']).toBe('j');
    expect(job.spec.backoffLimit).toBe(6);
  });
});

describe('lists', () => {
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: 'many' } } });
    for (let i = 0; i < 25; i++) {
      await core.createNamespacedConfigMap({
        namespace: 'many',
        body: {
          metadata: {
            name: `cm-${String(i).padStart(2, '0')}`,
            labels: { parity: i % 2 ? 'odd' : 'even', ...(i < 3 ? { low: 'yes' } : {}) },
          },
        },
      });
    }
  });

  it('paginates with limit and continue, in name order, with remainingItemCount', async () => {
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: 'many', limit: 10, _continue: token });
      pages++;
      names.push(...page.items.map((i) => i.metadata!.name!));
      if (pages === 1) expect(page.metadata?.remainingItemCount).toBe(15);
      token = page.metadata?._continue;
    } while (token);
    expect(pages).toBe(3);
    expect(names).toEqual(Array.from({ length: 25 }, (_, i) => `cm-${String(i).padStart(2, '0')}`));
  });

  it('serves later pages from the snapshot of the first page, and 410 once it is gone', async () => {
    const first = await core.listNamespacedConfigMap({ namespace: 'many', limit: 20 });
    await core.deleteNamespacedConfigMap({ namespace: 'many', name: 'cm-22' });
    await core.createNamespacedConfigMap({ namespace: 'many', body: { metadata: { name: 'cm-99' } } });
    const rest = await core.listNamespacedConfigMap({
      namespace: 'many',
      limit: 20,
      _continue: first.metadata?._continue,
    });
    expect(rest.items.map((i) => i.metadata?.name)).toEqual(['cm-20', 'cm-21', 'cm-22', 'cm-23', 'cm-24']);
    expect(rest.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    await core.createNamespacedConfigMap({
      namespace: 'many',
      body: { metadata: { name: 'cm-22', labels: { parity: 'even' } } },
    });
    await core.deleteNamespacedConfigMap({ namespace: 'many', name: 'cm-99' });
    const again = await core.listNamespacedConfigMap({ namespace: 'many', limit: 20 });
    const token = JSON.parse(Buffer.from(again.metadata!._continue!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...token, snapshot: 'gone' })).toString('base64url');
    const expired = await failure(
      core.listNamespacedConfigMap({ namespace: 'many', limit: 20, _continue: forged }),
    );
    expect(expired).toMatchObject({ code: 410, status: { reason: 'Expired' } });
  });

  it('filters with label selectors as the real grammar reads them', async () => {
    const count = async (labelSelector: string) =>
      (await core.listNamespacedConfigMap({ namespace: 'many', labelSelector })).items.length;
    expect(await count('parity=odd')).toBe(12);
    expect(await count('parity==even,low')).toBe(2);
    expect(await count('parity!=odd')).toBe(13);
    expect(await count('parity in (odd,even),!low')).toBe(22);
    expect(await count('parity notin (odd)')).toBe(13);
    const bad = await failure(core.listNamespacedConfigMap({ namespace: 'many', labelSelector: 'a in b' }));
    expect(bad).toMatchObject({ code: 400, status: { reason: 'BadRequest' } });
  });

  it('filters with field selectors and refuses unsupported fields', async () => {
    const one = await core.listNamespacedConfigMap({
      namespace: 'many',
      fieldSelector: 'metadata.name=cm-07',
    });
    expect(one.items.map((i) => i.metadata?.name)).toEqual(['cm-07']);
    const bad = await failure(core.listNamespacedConfigMap({ namespace: 'many', fieldSelector: 'data.x=1' }));
    expect(bad.code).toBe(400);
  });

  it('returns typed list items without apiVersion/kind, like a real server', async () => {
    const res = await fetch(`${cluster.url}/api/v1/namespaces/many/configmaps?limit=1`);
    const list = (await res.json()) as any;
    expect(list.kind).toBe('ConfigMapList');
    expect(list.items[0].kind).toBeUndefined();
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThan(0);
  });

  it('deletes a collection by label selector', async () => {
    await core.deleteCollectionNamespacedConfigMap({ namespace: 'many', labelSelector: 'low=yes' });
    expect((await core.listNamespacedConfigMap({ namespace: 'many' })).items).toHaveLength(22);
  });
});

describe('custom resources', () => {
  it('serves VolumeSnapshots through CustomObjectsApi with label selectors and merge patches', async () => {
    const group = 'snapshot.storage.k8s.io';
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'app',
      plural: 'volumesnapshots',
      body: {
        apiVersion: `${group}/v1`,
        kind: 'VolumeSnapshot',
        metadata: { name: 'snap', labels: { pvc: 'data' } },
        spec: { source: { persistentVolumeClaimName: 'missing' } },
      },
    });
    const list: any = await custom.listNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'app',
      plural: 'volumesnapshots',
      labelSelector: 'pvc=data',
    });
    expect(list.items.map((i: any) => [i.kind, i.metadata.name])).toEqual([['VolumeSnapshot', 'snap']]);
    const patched: any = await custom.patchNamespacedCustomObject(
      {
        group,
        version: 'v1',
        namespace: 'app',
        plural: 'volumesnapshots',
        name: 'snap',
        body: { metadata: { labels: { keep: 'true' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.metadata.labels).toEqual({ pvc: 'data', keep: 'true' });
    const smp = await failure(
      custom.patchNamespacedCustomObject(
        {
          group,
          version: 'v1',
          namespace: 'app',
          plural: 'volumesnapshots',
          name: 'snap',
          body: { metadata: { labels: { x: 'y' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(smp.code).toBe(415);
  });
});

describe('faults and the request log', () => {
  it('fails a verb on a path N times, then recovers', async () => {
    cluster.faults.add({ verb: 'get', path: '/configmaps/flaky', status: 503, times: 2 });
    await core.createNamespacedConfigMap({ namespace: 'app', body: { metadata: { name: 'flaky' } } });
    expect((await failure(core.readNamespacedConfigMap({ namespace: 'app', name: 'flaky' }))).code).toBe(503);
    expect((await failure(core.readNamespacedConfigMap({ namespace: 'app', name: 'flaky' }))).code).toBe(503);
    expect((await core.readNamespacedConfigMap({ namespace: 'app', name: 'flaky' })).metadata?.name).toBe(
      'flaky',
    );
  });

  it('answers 429 with Retry-After, adds latency, and drops connections', async () => {
    cluster.faults.add({ verb: 'list', path: /\/secrets$/, retryAfterSeconds: 3, times: 1 });
    const res = await fetch(`${cluster.url}/api/v1/namespaces/app/secrets`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    cluster.faults.add({ verb: 'list', path: '/services', delayMs: 150, times: 1 });
    const t0 = Date.now();
    await core.listNamespacedService({ namespace: 'app' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    cluster.faults.add({ verb: 'list', path: '/endpoints', drop: true, times: 1 });
    await expect(core.listNamespacedEndpoints({ namespace: 'app' })).rejects.toThrow();
  });

  it('logs verb, path, query, content type and status of each request', async () => {
    await core.createNamespacedConfigMap({ namespace: 'app', body: { metadata: { name: 'logged' } } });
    cluster.clearRequests();
    await core.patchNamespacedConfigMap(
      { namespace: 'app', name: 'logged', body: { metadata: { labels: { a: 'b' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await core.listNamespacedConfigMap({ namespace: 'app', labelSelector: 'a=b' });
    await core.deleteNamespacedConfigMap({ namespace: 'app', name: 'logged' });
    expect(cluster.requests).toEqual([
      {
        verb: 'patch',
        path: '/api/v1/namespaces/app/configmaps/logged',
        query: '',
        contentType: 'application/merge-patch+json',
        status: 200,
      },
      { verb: 'list', path: '/api/v1/namespaces/app/configmaps', query: 'labelSelector=a%3Db', status: 200 },
      expect.objectContaining({
        verb: 'delete',
        path: '/api/v1/namespaces/app/configmaps/logged',
        status: 200,
      }),
    ]);
  });

  it('refuses a wrong bearer token with 401', async () => {
    const res = await fetch(`${cluster.url}/api/v1/namespaces`, {
      headers: { Authorization: 'Bearer wrong' },
    });
    expect(res.status).toBe(401);
  });
});

describe('watch', () => {
  it('streams changes to client-node Watch from a list resourceVersion', { timeout: 10_000 }, async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'app' });
    const seen: string[] = [];
    let deleted!: () => void;
    const done = new Promise<void>((resolve) => (deleted = resolve));
    const ctl = await new Watch(kc).watch(
      '/api/v1/namespaces/app/configmaps',
      { resourceVersion: list.metadata?.resourceVersion },
      (type, obj) => {
        seen.push(`${type} ${obj.metadata.name}`);
        if (type === 'DELETED') deleted();
      },
      () => {},
    );
    await core.createNamespacedConfigMap({ namespace: 'app', body: { metadata: { name: 'watched' } } });
    await core.deleteNamespacedConfigMap({ namespace: 'app', name: 'watched' });
    await done;
    ctl.abort();
    expect(seen).toEqual(['ADDED watched', 'DELETED watched']);
  });

  it(
    'reports objects entering and leaving a label selection as ADDED and DELETED',
    { timeout: 10_000 },
    async () => {
      const seen: string[] = [];
      let left!: () => void;
      const done = new Promise<void>((resolve) => (left = resolve));
      const ctl = await new Watch(kc).watch(
        '/api/v1/namespaces/app/configmaps',
        { labelSelector: 'watched=yes' },
        (type, obj) => {
          seen.push(`${type} ${obj.metadata.name}`);
          if (type === 'DELETED') left();
        },
        () => {},
      );
      const label = (value: string | null) =>
        core.patchNamespacedConfigMap(
          { namespace: 'app', name: 'mover', body: { metadata: { labels: { watched: value } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      await core.createNamespacedConfigMap({ namespace: 'app', body: { metadata: { name: 'mover' } } });
      await label('yes');
      await label(null);
      await done;
      ctl.abort();
      expect(seen).toEqual(['ADDED mover', 'DELETED mover']);
    },
  );
});
