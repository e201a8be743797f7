// The export to S3 on the emulator and s3rver: what an archive holds, its manifest, encryption, faults.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectNamespace,
  discover,
  exportNamespaceToS3,
  readBackupObjects,
  readManifest,
} from '../../lib/export/index.js';
import { connect, type KubeClient } from '../../lib/kube/index.js';
import { Logger } from '../../lib/log.js';
import { parseManifest, readResourceArchive, type KubeObject } from '../../lib/resources/index.js';
import {
  DecryptionError,
  digestOf,
  generateEncryptionKey,
  parseEncryptionKey,
} from '../../lib/crypto/index.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { S3Store } from '../../lib/s3/index.js';
import { TEST_S3_CREDENTIALS, startS3, type LocalS3 } from '../kit/index.js';
import { SHOP_EXPORT_PATHS, shopObjects } from './shop.js';

let cluster: Cluster;
let s3: LocalS3;
let kube: KubeClient;
const lines: string[] = [];
const log = new Logger({ write: (line) => lines.push(line) });

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startCluster(), startS3()]);
  cluster.seed(...shopObjects());
  kube = connect({ kubeconfigPath: cluster.kubeconfigPath });
});
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
});

async function readAll(source: AsyncIterable<KubeObject>): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for await (const obj of source) out.push(obj);
  return out;
}

describe('exportNamespaceToS3', () => {
  it('stores exactly the objects a restore needs, canonical, with the manifest last', async () => {
    const store = s3.store();
    cluster.clearRequests();
    const result = await exportNamespaceToS3({
      kube,
      store,
      namespace: 'shop',
      cluster: 'prod',
      backupId: '20261121-100000-aaaaaa',
      log,
      pageSize: 2,
    });

    expect(result.folderKey).toBe('nsbackup/prod/shop/20261121-100000-aaaaaa/');
    expect(result.manifest.paths.slice().sort()).toEqual(SHOP_EXPORT_PATHS);
    expect(result.objectCount).toBe(SHOP_EXPORT_PATHS.length);
    // Services first (their selectors decide which Endpoints are kept), dependencies last.
    expect(result.manifest.paths[0]).toMatch(/\/services\//);
    expect(result.manifest.paths.at(-1)).toBe('/api/v1/persistentvolumes/pvc-0a1b2c');
    expect(result.manifest.counts).toMatchObject({
      Service: 4,
      'Deployment.apps': 1,
      'Widget.example.com': 1,
    });
    expect(Object.keys(result.manifest.listResourceVersions)).toEqual(
      expect.arrayContaining(['ConfigMap', 'Deployment.apps', 'Widget.example.com']),
    );

    // Lists went page by page; events and leases were never listed at all.
    const lists = cluster.requests.filter((r) => r.verb === 'list');
    expect(lists.some((r) => r.path.endsWith('/services') && r.query.includes('continue='))).toBe(true);
    expect(lists.every((r) => r.query.includes('limit=2'))).toBe(true);
    expect(lists.some((r) => /\/(events|leases)$/.test(r.path))).toBe(false);
    expect(lists.some((r) => r.path.includes('/namespaces/other/'))).toBe(false);

    const objects = await readAll(readBackupObjects(store, result.folderKey, result.manifest));
    expect(objects).toHaveLength(SHOP_EXPORT_PATHS.length);
    for (const obj of objects) {
      expect(obj).not.toHaveProperty('status');
      for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation']) {
        expect(obj.metadata).not.toHaveProperty(field);
      }
      expect(Object.keys(obj).slice(0, 3)).toEqual(['apiVersion', 'kind', 'metadata']);
    }
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    expect(deployment.metadata.annotations).toBeUndefined();
    const nodePort = objects.find((o) => o.metadata.name === 'web-public')!;
    expect((nodePort.spec as any).type).toBe('NodePort');
    // The namespace's own labels and annotations, without the name label the server sets.
    expect(objects.find((o) => o.kind === 'Namespace')).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'shop',
        annotations: { 'example.com/owner': 'payments@example.com' },
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted', team: 'payments' },
      },
      spec: { finalizers: ['kubernetes'] },
    });
    // The token Secret is left out, so the ServiceAccount no longer names it; the user's Secret stays listed.
    expect(objects.find((o) => o.kind === 'ServiceAccount')!.secrets).toEqual([{ name: 'db-password' }]);
  });

  it("records every stored file's size and SHA-256, and never replaces a backup", async () => {
    const store = s3.store();
    const result = await exportNamespaceToS3({
      kube,
      store,
      namespace: 'shop',
      cluster: 'prod',
      backupId: '20261121-110000-bbbbbb',
      log,
    });
    const manifest = parseManifest(await store.downloadText(result.manifestKey));
    expect(manifest).toEqual(result.manifest);
    for (const file of manifest.files) {
      const digest = await digestOf(await store.download(result.folderKey + file.name));
      expect(digest).toEqual({ size: file.size, sha256: file.sha256 });
    }
    // A backup id names one backup: the export refuses to replace it.
    await expect(
      exportNamespaceToS3({
        kube,
        store,
        namespace: 'shop',
        cluster: 'prod',
        backupId: result.manifest.backupId,
        log,
      }),
    ).rejects.toThrow(/already exists/);
  });

  it('reading a backup checks the stored archive against the manifest', async () => {
    const store = s3.store();
    const a = await exportNamespaceToS3({
      kube,
      store,
      namespace: 'shop',
      cluster: 'prod',
      backupId: 'sum-a',
      log,
    });
    cluster.seed({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'later', namespace: 'shop' },
      data: {},
    });
    try {
      const b = await exportNamespaceToS3({
        kube,
        store,
        namespace: 'shop',
        cluster: 'prod',
        backupId: 'sum-b',
        log,
      });
      // A valid archive, but not the one b's manifest describes.
      await store.upload(
        b.folderKey + 'resources.ndjson.gz',
        await store.download(a.folderKey + 'resources.ndjson.gz'),
      );
      await expect(readAll(readBackupObjects(store, b.folderKey, b.manifest))).rejects.toThrow(
        /SHA-256|size/,
      );
    } finally {
      await kube.delete('/api/v1/namespaces/shop/configmaps/later');
    }
  });

  it('encrypts: unreadable without the key or with another, readable with it', async () => {
    const store = s3.store();
    const key = parseEncryptionKey(generateEncryptionKey());
    const result = await exportNamespaceToS3({
      kube,
      store,
      namespace: 'shop',
      cluster: 'prod',
      backupId: 'encrypted-1',
      encryptionKey: key,
      log,
    });
    expect(result.manifest.encryption).toMatchObject({ keyId: key.id });
    expect(result.manifest.files[0].name).toBe('resources.ndjson.gz.enc');
    const stored = await store.download(result.folderKey + 'resources.ndjson.gz.enc');
    const chunks: Buffer[] = [];
    for await (const chunk of stored) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    expect(bytes.toString('latin1')).not.toContain('db-password');

    await expect(readAll(readResourceArchive([bytes]))).rejects.toBeInstanceOf(DecryptionError);
    const other = parseEncryptionKey(generateEncryptionKey());
    await expect(readAll(readResourceArchive([bytes], { encryptionKey: other }))).rejects.toThrow(/key/);
    const manifest = await readManifest(store, result.folderKey);
    const objects = await readAll(readBackupObjects(store, result.folderKey, manifest, key));
    const secret = objects.find((o) => o.kind === 'Secret')!;
    expect(Buffer.from((secret.data as any).password, 'base64').toString()).toBe('s3cr3t-pa55');
  });

  it('completes under 429 and 5xx answers with the same contents', async () => {
    cluster.faults.add({ verb: 'list', path: /\/configmaps$/, retryAfterSeconds: 0, times: 2 });
    cluster.faults.add({ verb: 'list', path: /\/deployments$/, status: 503, times: 2 });
    cluster.faults.add({ verb: 'get', path: /\/persistentvolumes\//, status: 500, times: 1 });
    cluster.clearRequests();
    try {
      const result = await exportNamespaceToS3({
        kube,
        store: s3.store(),
        namespace: 'shop',
        cluster: 'prod',
        backupId: 'faults-1',
        log,
      });
      expect(result.manifest.paths.slice().sort()).toEqual(SHOP_EXPORT_PATHS);
      const answered = (status: number) => cluster.requests.filter((r) => r.status === status).length;
      expect(answered(429)).toBe(2);
      expect(answered(503)).toBe(2);
      expect(answered(500)).toBe(1);
    } finally {
      cluster.faults.clear();
    }
  });

  it('leaves no manifest when it is stopped', async () => {
    const store = s3.store();
    const abort = new AbortController();
    cluster.faults.add({ verb: 'list', path: /\/secrets$/, delayMs: 300, times: 1 });
    setTimeout(() => abort.abort(new Error('stopped by SIGTERM')), 100);
    try {
      await expect(
        exportNamespaceToS3({
          kube,
          store,
          namespace: 'shop',
          cluster: 'prod',
          backupId: 'stopped-1',
          log,
          signal: abort.signal,
          concurrency: 1,
        }),
      ).rejects.toThrow(/stopped/);
    } finally {
      cluster.faults.clear();
    }
    expect(await store.exists('nsbackup/prod/shop/stopped-1/manifest.json')).toBe(false);
  });

  it('fails, without hanging, when the upload fails', async () => {
    const location = { ...s3.store().location, bucket: 'no-such-bucket' };
    const store = new S3Store(location, TEST_S3_CREDENTIALS);
    await expect(
      exportNamespaceToS3({ kube, store, namespace: 'shop', cluster: 'prod', backupId: 'nobucket-1', log }),
    ).rejects.toThrow(/bucket/i);
  });

  it('refuses a namespace that does not exist instead of storing an empty backup', async () => {
    const store = s3.store();
    await expect(
      exportNamespaceToS3({ kube, store, namespace: 'shpo', cluster: 'prod', backupId: 'typo-1', log }),
    ).rejects.toThrow('namespace "shpo" not found');
    expect(await store.exists('nsbackup/prod/shpo/typo-1/manifest.json')).toBe(false);
  });

  it('records a forbidden resource type in the manifest (the backup step then fails the run)', async () => {
    cluster.faults.add({ verb: 'list', path: /\/widgets$/, status: 403 });
    lines.length = 0;
    try {
      const result = await exportNamespaceToS3({
        kube,
        store: s3.store(),
        namespace: 'shop',
        cluster: 'prod',
        backupId: 'forbidden-1',
        log,
      });
      expect(result.manifest.paths).not.toContain('/apis/example.com/v1/namespaces/shop/widgets/blue');
      expect(result.stats.skipped).toEqual([expect.objectContaining({ what: 'widgets.example.com' })]);
      expect(result.manifest.notExported).toEqual([
        expect.objectContaining({ what: 'widgets.example.com', reason: expect.stringMatching(/^forbidden/) }),
      ]);
      expect(
        lines.some((line) => line.includes('not exported') && line.includes('widgets.example.com')),
      ).toBe(true);
    } finally {
      cluster.faults.clear();
    }
  });

  it('records a StorageClass the namespace names but the cluster lacks, without failing the export', async () => {
    cluster.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone-class' } },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: 'gone-class' },
        spec: {
          storageClassName: 'deleted-class',
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    );
    const result = await exportNamespaceToS3({
      kube,
      store: s3.store(),
      namespace: 'gone-class',
      cluster: 'prod',
      backupId: 'gone-class-1',
      log,
    });
    // Nothing to store and nothing unreadable: the backup step, which fails on stats.skipped, succeeds.
    expect(result.stats.skipped).toEqual([]);
    expect(result.manifest.paths).toContain('/api/v1/namespaces/gone-class/persistentvolumeclaims/data');
    expect(result.manifest.notExported).toEqual([
      { what: 'StorageClass deleted-class', reason: 'not found in the cluster' },
    ]);
  });

  it('does not even list a type excluded on purpose, and says so in the manifest', async () => {
    cluster.clearRequests();
    const result = await exportNamespaceToS3({
      kube,
      store: s3.store(),
      namespace: 'shop',
      cluster: 'prod',
      backupId: 'excluded-1',
      exclude: ['secrets', 'widgets.example.com'],
      log,
    });
    expect(result.manifest.paths.filter((p) => p.includes('/secrets/') || p.includes('/widgets/'))).toEqual(
      [],
    );
    expect(cluster.requests.filter((r) => r.verb === 'list' && /\/(secrets|widgets)$/.test(r.path))).toEqual(
      [],
    );
    expect(result.manifest.notExported?.map((n) => n.what).sort()).toEqual([
      'secrets',
      'widgets.example.com',
    ]);
    expect(result.stats.skipped).toEqual([]);
  });
});

describe('discovery', () => {
  const crd = (plural: string, kind: string, versions: string[]) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.example.org` },
    spec: {
      group: 'example.org',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope: 'Namespaced',
      versions: versions.map((name, i) => ({
        name,
        served: true,
        storage: i === 0,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      })),
    },
  });

  it("exports a kind that only a version other than its group's preferred one serves, each kind once", async () => {
    // Group example.org: gadgets in v2 (preferred) and v1, gizmos only in v1.
    cluster.seed(crd('gadgets', 'Gadget', ['v2', 'v1']), crd('gizmos', 'Gizmo', ['v1']));
    cluster.seed(
      { apiVersion: 'example.org/v2', kind: 'Gadget', metadata: { name: 'g1', namespace: 'lab' }, spec: {} },
      { apiVersion: 'example.org/v1', kind: 'Gizmo', metadata: { name: 'z1', namespace: 'lab' }, spec: {} },
    );
    const group = (await kube.get<any>('/apis')).groups.find((g: any) => g.name === 'example.org');
    expect(group.preferredVersion.version).toBe('v2');

    const result = await exportNamespaceToS3({
      kube,
      store: s3.store(),
      namespace: 'lab',
      cluster: 'prod',
      backupId: 'versions-1',
      log,
    });
    expect(result.manifest.paths.filter((p) => p.includes('/namespaces/lab/'))).toEqual([
      '/apis/example.org/v2/namespaces/lab/gadgets/g1',
      '/apis/example.org/v1/namespaces/lab/gizmos/z1',
    ]);
    expect(result.manifest.paths).toEqual(
      expect.arrayContaining([
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.org',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.example.org',
      ]),
    );
    expect(result.manifest.notExported).toBeUndefined();
  });

  it('records an API group version that discovery could not read as not exported', async () => {
    // An aggregated API that is down answers 503; without retries, so the test does not wait for them.
    const impatient = connect({
      kubeconfigPath: cluster.kubeconfigPath,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 1 },
    });
    cluster.faults.add({ verb: 'get', path: /^\/apis\/example\.com\/v1$/, status: 503 });
    try {
      const result = await exportNamespaceToS3({
        kube: impatient,
        store: s3.store(),
        namespace: 'shop',
        cluster: 'prod',
        backupId: 'discovery-gap-1',
        log,
      });
      expect(result.manifest.paths).not.toContain('/apis/example.com/v1/namespaces/shop/widgets/blue');
      expect(result.manifest.notExported).toEqual([
        {
          what: 'API group version example.com/v1',
          reason: expect.stringMatching(/^discovery failed, its resource types are unknown: /),
        },
      ]);
      // The backup step fails the run on anything in stats.skipped.
      expect(result.stats.skipped.map((s) => s.what)).toEqual(['API group version example.com/v1']);
    } finally {
      cluster.faults.clear();
    }
  });
});

describe('collectNamespace', () => {
  /** The client with every GET traced: `start <path>` / `end <path>`, and the most lists in flight at once. */
  function traced() {
    const events: string[] = [];
    let inFlight = 0;
    let most = 0;
    const client = Object.create(kube) as KubeClient;
    client.get = async (path: string, query?: any) => {
      events.push(`start ${path}`);
      most = Math.max(most, ++inFlight);
      try {
        return await kube.get(path, query);
      } finally {
        inFlight--;
        events.push(`end ${path}`);
      }
    };
    return { client, events, most: () => most };
  }

  it('lists several types at once, never more than the concurrency, and yields them in a fixed order', async () => {
    const { resources } = await discover(kube);
    cluster.faults.add({ verb: 'list', path: /\/configmaps$/, delayMs: 300 });
    try {
      const orders: string[][] = [];
      for (const concurrency of [1, 3]) {
        const trace = traced();
        const { objects } = collectNamespace({
          kube: trace.client,
          namespace: 'shop',
          resources,
          concurrency,
        });
        const paths: string[] = [];
        for await (const item of objects) paths.push(item.path);
        orders.push(paths);
        const at = (event: string) => trace.events.indexOf(event);
        const configMapsDone = at('end /api/v1/namespaces/shop/configmaps');
        const endpointsStarted = at('start /api/v1/namespaces/shop/endpoints');
        if (concurrency === 1) expect(endpointsStarted).toBeGreaterThan(configMapsDone);
        else expect(endpointsStarted).toBeLessThan(configMapsDone);
        expect(trace.most()).toBeLessThanOrEqual(concurrency);
      }
      expect(orders[1]).toEqual(orders[0]);
    } finally {
      cluster.faults.clear();
    }
  });
});
