// verify --level rehearsal on the emulator with s3rver: a realistic namespace backed up, then restored into a scratch
// namespace by the verify, compared with the backup and deleted. What a user would notice: a good backup passes and
// leaves no namespace behind; nothing restored runs; a restore the API server refuses fails the verify and still
// deletes the namespace; a namespace of that name that nsbackup did not make is refused and left as it was; the
// result is stored and shown by `backups`/`describe`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportNamespaceToS3 } from '../../lib/export/index.js';
import { writeOutcome } from '../../lib/resources/index.js';
import { connect } from '../../lib/kube/index.js';
import { Logger } from '../../lib/log.js';
import { command as verifyCommand } from '../../scripts/verify.js';
import { command as describeCommand } from '../../scripts/describe.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { startS3, type LocalS3, runNsbackup } from '../kit/index.js';

let cluster: Cluster;
let s3: LocalS3;
const BACKUP = '20261207-010000-reh001';
const SCRATCH = 'shop-rehearsal-reh001';

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startCluster(), startS3()]);
  const kube = connect({ kubeconfigPath: cluster.kubeconfigPath });
  // Created through the API, as an application's objects are: the server's defaults are in the backup too.
  for (const obj of smallShop()) await kube.create(collectionOf(obj), obj);
  const store = s3.store();
  await exportNamespaceToS3({
    kube,
    store,
    namespace: 'shop',
    cluster: 'prod',
    backupId: BACKUP,
    log: new Logger({ write: () => undefined }),
  });
  await writeOutcome(store, `nsbackup/prod/shop/${BACKUP}/`, {
    formatVersion: 1,
    backupId: BACKUP,
    outcome: 'succeeded',
    startedAt: '2026-12-07T01:00:00Z',
    finishedAt: '2026-12-07T01:00:00Z',
    failures: [],
  });
}, 60_000);
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
});

const app = { app: 'web' };
const podSpec = { containers: [{ name: 'web', image: 'nginx:1.27' }] };
/** A small application namespace: what `kubectl apply` of an app would make. */
function smallShop(): any[] {
  const ns = 'shop';
  const meta = (name: string, extra: object = {}) => ({ name, namespace: ns, ...extra });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: 'payments' } } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('settings'), data: { mode: 'production' } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('db'),
      type: 'Opaque',
      data: { password: 'aHVudGVyMg==' },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('web') },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('web', { labels: app }),
      spec: {
        replicas: 3,
        selector: { matchLabels: app },
        template: { metadata: { labels: app }, spec: podSpec },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('web'),
      spec: { selector: app, ports: [{ port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta('web'),
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host: 'shop.example.com',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'web', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta('mailer'),
      spec: {
        schedule: '0 * * * *',
        jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: 'OnFailure' } } } },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta('uploads'),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta('reader'),
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta('web-reader'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: ns }],
    },
  ];
}

function collectionOf(obj: any): string {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const plural =
    { Ingress: 'ingresses', Namespace: 'namespaces' }[obj.kind as string] ?? `${obj.kind.toLowerCase()}s`;
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return obj.metadata.namespace
    ? `${base}/namespaces/${obj.metadata.namespace}/${plural}`
    : `${base}/${plural}`;
}

const env = () => ({
  ...s3.env,
  NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
  NSBACKUP_CLUSTER_NAME: 'prod',
  NSBACKUP_NAMESPACE: 'shop',
  NSBACKUP_VERIFY_LEVEL: 'rehearsal',
});

async function verificationRecord(): Promise<any> {
  const store = s3.store();
  return JSON.parse(await store.downloadText(store.key(`prod/shop/${BACKUP}/verification.json`)));
}

const namespaces = () => cluster.list('v1', 'Namespace').map((n) => n.metadata.name);

describe('verify --level rehearsal', () => {
  it('restores a good backup into a scratch namespace where nothing runs, finds it equal, and deletes it', async () => {
    // The scratch namespace watched while the verify runs (the emulator is in this process): what was restored there.
    const seen = new Map<string, any>();
    const watch = setInterval(() => {
      for (const [apiVersion, kind] of [
        ['apps/v1', 'Deployment'],
        ['batch/v1', 'CronJob'],
        ['networking.k8s.io/v1', 'Ingress'],
      ])
        for (const o of cluster.list(apiVersion, kind, SCRATCH)) seen.set(`${kind}/${o.metadata.name}`, o);
    }, 2);
    cluster.clearRequests();
    const started = Date.now();
    const r = await runNsbackup(verifyCommand, env(), ['latest']).finally(() => clearInterval(watch));
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.text + r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`^rehearsal in namespace ${SCRATCH}:$`, 'm'));
    expect(r.out).toMatch(
      /^ok {6}\d+ objects restored, \d+ equal to the backup, \d+ left out by design; namespace deleted/m,
    );
    expect(r.out).toMatch(/^verified \(level rehearsal\)/m);
    expect(namespaces()).not.toContain(SCRATCH);
    expect(namespaces()).toContain('shop');

    // Nothing restored could run or take traffic: workloads at zero, CronJob and Jobs suspended, no Ingress class.
    const of = (kind: string) =>
      [...seen.entries()].filter(([k]) => k.startsWith(`${kind}/`)).map(([, o]) => o);
    expect(of('Deployment').length).toBeGreaterThan(0);
    for (const d of of('Deployment')) expect(d.spec.replicas).toBe(0);
    expect(of('CronJob').length).toBe(1);
    for (const j of of('CronJob')) expect(j.spec.suspend).toBe(true);
    expect(of('Ingress').map((i) => i.spec.ingressClassName)).toEqual(['nsbackup-rehearsal-none']);
    // Production's objects are as they were.
    expect(cluster.get('apps/v1', 'Deployment', 'shop', 'web').spec.replicas).toBe(3);
    // Nothing cluster-scoped was created by the rehearsal but its namespace.
    const clusterScoped = cluster.requests.filter(
      (q) => q.verb === 'create' && !q.path.includes('/namespaces/'),
    );
    expect(clusterScoped.map((q) => q.path)).toEqual(['/api/v1/namespaces']);
    // Production was only read.
    const prodWrites = cluster.requests.filter(
      (q) =>
        q.verb !== 'get' && q.verb !== 'list' && q.verb !== 'watch' && q.path.includes('/namespaces/shop/'),
    );
    expect(prodWrites.map((q) => `${q.verb} ${q.path}`)).toEqual([]);

    const record = await verificationRecord();
    expect(record).toMatchObject({ ok: true, level: 'rehearsal' });
    expect(record.rehearsal).toMatchObject({
      ok: true,
      namespace: SCRATCH,
      failed: [],
      differences: [],
      namespaceDeleted: true,
    });
    // The ten objects of the namespace (the Namespace is made by the rehearsal itself).
    expect(record.rehearsal.objectsRestored).toBe(10);
    const described = await runNsbackup(describeCommand, { ...env(), NSBACKUP_VERIFY_LEVEL: undefined }, [
      BACKUP,
    ]);
    expect(described.out).toMatch(
      /^Rehearsed: {3}ok at \S+ \(\d+ objects restored, 0 failed, 0 differing\)$/m,
    );
    console.log(`rehearsal of the shop namespace on the emulator: ${seconds.toFixed(1)} s`);
  });

  it('a restore the API server refuses fails the verify, names the object, and still deletes the namespace', async () => {
    cluster.faults.add({
      verb: 'create',
      path: new RegExp(`/namespaces/${SCRATCH}/configmaps$`),
      status: 422,
    });
    try {
      const r = await runNsbackup(verifyCommand, env(), [BACKUP]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(
        new RegExp(`^FAILED {2}not restored /api/v1/namespaces/${SCRATCH}/configmaps/\\S+: `, 'm'),
      );
      expect(r.out).toMatch(/^NOT verified \(level rehearsal\)/m);
      expect(namespaces()).not.toContain(SCRATCH);
      const record = await verificationRecord();
      expect(record.ok).toBe(false);
      expect(record.rehearsal.failed.length).toBeGreaterThan(0);
      // Each refused object is reported once, with the server's message, not again as missing.
      expect(r.out).not.toMatch(/^DIFFERS removed .*\/configmaps\//m);
      expect(record.rehearsal.namespaceDeleted).toBe(true);
    } finally {
      cluster.faults.clear();
    }
  });

  it('a namespace an interrupted rehearsal left is deleted first; a kind it may not read back is reported, not missing', async () => {
    // Left by a rehearsal killed with -9 (its label says so), with something in it.
    cluster.seed(
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: SCRATCH, labels: { 'nsbackup.io/rehearsal-of': 'shop' } },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'stale', namespace: SCRATCH },
        data: { a: '1' },
      },
    );
    // As under the chart's grant: Secrets may be created in the scratch namespace, not listed.
    cluster.faults.add({ verb: 'list', path: new RegExp(`/namespaces/${SCRATCH}/secrets$`), status: 403 });
    try {
      const r = await runNsbackup(verifyCommand, env(), [BACKUP]);
      expect(r.code, r.text + r.out).toBe(0);
      expect(r.text).toMatch(/was left by an earlier rehearsal of shop that did not finish: deleted first/);
      expect(r.out).toMatch(/^note {4}restored, not compared \(may not be read back\): secrets$/m);
      expect((await verificationRecord()).rehearsal).toMatchObject({ ok: true, notCompared: ['secrets'] });
      expect(namespaces()).not.toContain(SCRATCH);
    } finally {
      cluster.faults.clear();
    }
  });

  it('SIGTERM during the restore: the run stops and the scratch namespace is still deleted', async () => {
    // Slow writes into the scratch namespace, and SIGTERM as soon as it exists.
    cluster.faults.add({ verb: 'create', path: `/namespaces/${SCRATCH}/`, delayMs: 200 });
    let sent = false;
    const poll = setInterval(() => {
      if (!sent && cluster.get('v1', 'Namespace', undefined, SCRATCH)) {
        sent = true;
        process.emit('SIGTERM');
      }
    }, 5);
    try {
      const r = await runNsbackup(verifyCommand, env(), [BACKUP]);
      expect(sent).toBe(true);
      expect(r.code).not.toBe(0);
      expect(r.text).toMatch(/received SIGTERM/);
      expect(r.summary!.error).toMatch(/restore stopped before it finished/);
      expect(r.text).toMatch(/rehearsal namespace deleted/);
      expect(namespaces()).not.toContain(SCRATCH);
    } finally {
      clearInterval(poll);
      cluster.faults.clear();
    }
  });

  it('refuses a namespace of that name nsbackup did not make, and leaves it and its content untouched', async () => {
    cluster.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SCRATCH, labels: { team: 'someone' } } },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'precious', namespace: SCRATCH },
        data: { a: '1' },
      },
    );
    cluster.clearRequests();
    const r = await runNsbackup(verifyCommand, env(), [BACKUP]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`namespace ${SCRATCH} exists and nsbackup did not create it`);
    expect(cluster.get('v1', 'Namespace', undefined, SCRATCH)).toBeDefined();
    expect(cluster.get('v1', 'ConfigMap', SCRATCH, 'precious').data).toEqual({ a: '1' });
    const writes = cluster.requests.filter(
      (q) => ['create', 'update', 'patch', 'delete'].includes(q.verb) && q.path.includes(SCRATCH),
    );
    expect(writes.map((q) => `${q.verb} ${q.path}`)).toEqual([]);
    // The production namespace itself is refused as the rehearsal namespace, whatever it holds.
    const self = await runNsbackup(verifyCommand, { ...env(), NSBACKUP_VERIFY_REHEARSAL_NAMESPACE: 'shop' }, [
      BACKUP,
    ]);
    expect(self.code).toBe(1);
    expect(self.out).toContain('is the backed-up namespace itself');
    expect(namespaces()).toContain('shop');
  });
});
