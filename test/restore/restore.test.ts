// nsbackup restore on the emulator with s3rver: a realistic namespace exported by G1's export, restored into a
// new namespace, a second cluster, with a mapping; preferences, skip/update, damage, keys, dry run, interruption.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { exportNamespaceToS3, readBackupObjects } from '../../lib/export/index.js';
import { writeOutcome, type BackupOutcome } from '../../lib/resources/index.js';
import { connect } from '../../lib/kube/index.js';
import { Labels } from '../../lib/labels.js';
import { Logger } from '../../lib/log.js';
import type { RestoreReport } from '../../lib/restore/report.js';
import { canonicalize, writeExportDir, type KubeObject } from '../../lib/resources/index.js';
import { generateEncryptionKey, parseEncryptionKey } from '../../lib/crypto/index.js';
import { command as restoreCommand } from '../../scripts/restore.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { shopObjects } from '../export/shop.js';
import { startS3, type LocalS3 } from '../kit/index.js';

let source: Cluster;
let target: Cluster;
let s3: LocalS3;
let tmp: string;
const KEY = generateEncryptionKey();
/** The backup as stored: every object in canonical form, by API path. */
let backupObjects: Map<string, KubeObject>;

const PLAIN = '20261121-100000-aaaaaa';
const ENCRYPTED = '20261121-110000-bbbbbb';
/** A newer backup whose run failed (a type it could not read): never latest. */
const FAILED = '20261121-120000-dddddd';
const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];

beforeAll(async () => {
  [source, target, s3] = await Promise.all([startCluster(), startCluster(), startS3()]);
  tmp = mkdtempSync(join(tmpdir(), 'nsbackup-restore-test-'));
  source.seed(...shopObjects());
  const kube = connect({ kubeconfigPath: source.kubeconfigPath });
  const log = new Logger({ write: () => undefined });
  const store = s3.store();
  const plain = await exportNamespaceToS3({
    kube,
    store,
    namespace: 'shop',
    cluster: 'prod',
    backupId: PLAIN,
    log,
  });
  await exportNamespaceToS3({
    kube,
    store,
    namespace: 'shop',
    cluster: 'prod',
    backupId: ENCRYPTED,
    log,
    encryptionKey: parseEncryptionKey(KEY),
  });
  // The backup flow records how each run ended; these runs succeeded, in this order.
  await recordOutcome('prod', PLAIN, 'succeeded', '2026-11-21T10:00:00Z');
  await recordOutcome('prod', ENCRYPTED, 'succeeded', '2026-11-21T11:00:00Z');
  source.faults.add({ verb: 'list', path: /\/widgets$/, status: 403 });
  try {
    await exportNamespaceToS3({ kube, store, namespace: 'shop', cluster: 'prod', backupId: FAILED, log });
  } finally {
    source.faults.clear();
  }
  await recordOutcome('prod', FAILED, 'failed', '2026-11-21T12:00:00Z', [
    'resource export incomplete, could not read: widgets.example.com (forbidden)',
  ]);
  backupObjects = new Map();
  let i = 0;
  for await (const obj of readBackupObjects(store, plain.folderKey, plain.manifest)) {
    backupObjects.set(plain.manifest.paths[i++], obj);
  }
}, 60_000);
afterAll(async () => {
  await Promise.all([source?.close(), target?.close(), s3?.close()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function recordOutcome(
  cluster: string,
  backupId: string,
  outcome: BackupOutcome['outcome'],
  startedAt: string,
  failures: string[] = [],
) {
  await writeOutcome(s3.store(), `nsbackup/${cluster}/shop/${backupId}/`, {
    formatVersion: 1,
    backupId,
    outcome,
    startedAt,
    finishedAt: startedAt,
    failures,
  });
}

async function restore(cluster: Cluster, args: string[], extraEnv: Record<string, string> = {}) {
  const lines: string[] = [];
  const reportFile = join(tmp, `report-${Math.random().toString(36).slice(2)}.json`);
  const code = await runCommand(restoreCommand, {
    argv: [...args, '--report', reportFile],
    env: {
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'prod',
      NSBACKUP_NAMESPACE: 'shop',
      NSBACKUP_LOG_FORMAT: 'json',
      ...s3.env,
      ...extraEnv,
    },
    write: (line) => lines.push(line),
    out: () => undefined,
  });
  let report: RestoreReport | undefined;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8'));
  } catch {
    report = undefined;
  }
  return { code, lines, report, text: lines.join('\n') };
}

const paths = (entries: { path: string }[]) => entries.map((e) => e.path).sort();
const mapPath = (path: string, ns: string) =>
  path === '/api/v1/namespaces/shop'
    ? `/api/v1/namespaces/${ns}`
    : path.replace('/namespaces/shop/', `/namespaces/${ns}/`);
/** Objects of the backup in the namespace (the Namespace object aside). */
const NAMESPACED = 18;

/** The backup object with exactly the documented changes of a restore into `ns`. */
function expectedAfterRestore(obj: KubeObject, ns: string, backupId: string): KubeObject {
  const out = structuredClone(obj);
  if (out.metadata.namespace) out.metadata.namespace = ns;
  if (out.kind === 'Namespace') out.metadata.name = ns;
  out.metadata.labels = { ...(out.metadata.labels ?? {}), [Labels.restoredFrom]: backupId };
  const spec = out.spec as any;
  if (out.kind === 'Job') {
    // The server generates the selector and these pod labels from the new Job's uid.
    delete spec.selector;
    for (const key of [
      'controller-uid',
      'batch.kubernetes.io/controller-uid',
      'job-name',
      'batch.kubernetes.io/job-name',
    ])
      delete spec.template.metadata.labels[key];
  }
  if (out.kind === 'Service' && spec.clusterIP !== 'None') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  if (out.kind === 'PersistentVolumeClaim') {
    delete spec.volumeName;
    delete out.metadata.annotations?.['pv.kubernetes.io/bind-completed'];
    if (out.metadata.annotations && !Object.keys(out.metadata.annotations).length)
      delete out.metadata.annotations;
  }
  if (out.kind === 'RoleBinding')
    for (const s of (out as any).subjects) if (s.namespace === 'shop') s.namespace = ns;
  return out;
}

function liveObject(cluster: Cluster, obj: KubeObject, ns: string): KubeObject | undefined {
  const name = obj.kind === 'Namespace' ? ns : obj.metadata.name!;
  return cluster.get(obj.apiVersion, obj.kind, obj.metadata.namespace ? ns : undefined, name);
}

/** Every restored object equals the backup's canonical form plus the documented changes (server defaults aside). */
function expectRestoredFaithfully(cluster: Cluster, ns: string, backupId: string, clusterScoped = false) {
  let checked = 0;
  for (const [path, obj] of backupObjects) {
    // PVs are not restored (no rebinding asked); the CRD and StorageClass only where the cluster lacked them.
    if (obj.kind === 'PersistentVolume') continue;
    if (!obj.metadata.namespace && obj.kind !== 'Namespace' && !clusterScoped) continue;
    const live = liveObject(cluster, obj, ns);
    expect(live, path).toBeDefined();
    // Without managedFields canonicalize keeps every node port: the live object is compared as it is.
    const restored = canonicalize({ ...live!, metadata: { ...live!.metadata, managedFields: undefined } });
    expect(restored, path).toMatchObject(expectedAfterRestore(obj, ns, backupId) as any);
    if (obj.kind === 'PersistentVolumeClaim') {
      // A fresh volume from the StorageClass, not the old one (the binder fills in the new one).
      expect((live!.spec as any).volumeName).not.toBe('pvc-0a1b2c');
      expect((live!.spec as any).dataSource).toBeUndefined();
    }
    if (obj.kind === 'Job') {
      expect((live!.spec as any).selector.matchLabels).toEqual({
        'batch.kubernetes.io/controller-uid': live!.metadata.uid,
      });
    }
    checked++;
  }
  // The namespace's objects and the Namespace itself; the CRD and StorageClass too where they were restored.
  expect(checked).toBe(NAMESPACED + 1 + (clusterScoped ? 2 : 0));
}

describe('restore from S3', () => {
  it('restores into a new namespace of the same cluster with a mapping, faithfully, and reports it', async () => {
    const { code, report, text, lines } = await restore(source, [
      '--backup',
      PLAIN,
      '--namespace-mapping',
      'shop=shop-copy',
    ]);
    expect(code, text).toBe(0);
    expect(report!.counts.failed).toBe(0);
    const expectedCreated = [...backupObjects.keys()]
      .filter((p) => !p.includes('/persistentvolumes/'))
      .map((p) => mapPath(p, 'shop-copy'))
      .filter((p) => !p.includes('/customresourcedefinitions/') && !p.includes('/storageclasses/'));
    // The CRD and StorageClass exist in the source cluster already: reported, not touched.
    expect(paths(report!.created)).toEqual(expectedCreated.sort());
    expect(paths(report!.alreadyExisted)).toEqual([
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com',
      '/apis/storage.k8s.io/v1/storageclasses/fast',
    ]);
    expect(report!.excluded).toEqual([
      expect.objectContaining({
        path: '/api/v1/persistentvolumes/pvc-0a1b2c',
        rule: 'preferences',
        reason: expect.stringContaining('rebindStorageClasses'),
      }),
    ]);
    expectRestoredFaithfully(source, 'shop-copy', PLAIN);
    // The source namespace is untouched; the RoleBinding follows the mapping; the headless Service stays headless.
    expect(
      source.get('rbac.authorization.k8s.io/v1', 'RoleBinding', 'shop-copy', 'web-reader').subjects,
    ).toEqual([{ kind: 'ServiceAccount', name: 'web', namespace: 'shop-copy' }]);
    expect(source.get('v1', 'Service', 'shop-copy', 'db').spec.clusterIP).toBe('None');
    expect(source.get('v1', 'Service', 'shop-copy', 'web-public').spec.ports[0].nodePort).toBe(30080);
    expect(source.get('v1', 'Service', 'shop-copy', 'web').spec.clusterIP).not.toBe(
      source.get('v1', 'Service', 'shop', 'web').spec.clusterIP,
    );
    // The namespace comes back under its new name with its labels and annotations (the server sets the name label).
    expect(source.get('v1', 'Namespace', undefined, 'shop-copy').metadata).toMatchObject({
      labels: {
        team: 'payments',
        'pod-security.kubernetes.io/enforce': 'restricted',
        'kubernetes.io/metadata.name': 'shop-copy',
      },
      annotations: { 'example.com/owner': 'payments@example.com' },
    });
    expect(text).toMatch(/"created":\d+/);
    // Progress in objects, with the total known up front (the last line is always written).
    const planned = report!.counts.created + report!.counts.alreadyExisted;
    const finished = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'restore finished');
    expect(finished).toMatchObject({ done: planned, total: planned, unit: 'objects' });
  });

  it('restores into a second cluster, CRDs and StorageClass included; a second run only reports', async () => {
    const first = await restore(target, ['--backup', PLAIN]);
    expect(first.code, first.text).toBe(0);
    expect(first.report!.created.map((e) => e.path)).toContain(
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com',
    );
    expectRestoredFaithfully(target, 'shop', PLAIN, true);
    const created = target.requests.filter((r) => r.verb === 'create').map((r) => r.path);
    expect(created.indexOf('/apis/apiextensions.k8s.io/v1/customresourcedefinitions')).toBe(0);

    const again = await restore(target, ['--backup', PLAIN]);
    expect(again.code, again.text).toBe(0);
    expect(again.report!.counts.created).toBe(0);
    expect(again.report!.counts.alreadyExisted).toBe(first.report!.counts.created);
    expect(target.list('v1', 'ConfigMap', 'shop').map((c) => c.metadata.name)).toEqual(['settings']);
  });
});

describe('Jobs', () => {
  it('the API server refuses a Job that brings its selector without manualSelector (why the restore drops it)', async () => {
    const kube = connect({ kubeconfigPath: target.kubeconfigPath });
    const job = backupObjects.get('/apis/batch/v1/namespaces/shop/jobs/migrate')!;
    await expect(
      kube.create('/apis/batch/v1/namespaces/default/jobs', {
        ...job,
        metadata: { ...job.metadata, namespace: 'default' },
      }),
    ).rejects.toMatchObject({ code: 422, message: expect.stringContaining('`selector` not auto-generated') });
    const manual = structuredClone(job) as any;
    manual.metadata.namespace = 'default';
    manual.spec.manualSelector = true;
    await expect(kube.create('/apis/batch/v1/namespaces/default/jobs', manual)).resolves.toBeDefined();
  });
});

describe('keys, damage and dry run: nothing is written unless the backup is whole and readable', () => {
  const writes = (cluster: Cluster) => cluster.requests.filter((r) => WRITE_VERBS.includes(r.verb));

  it('latest is the newest finished backup; encrypted, it needs its key, and a wrong key fails clearly', async () => {
    source.clearRequests();
    const none = await restore(source, ['--backup', 'latest', '--namespace-mapping', 'shop=shop-enc']);
    expect(none.code).toBe(1);
    expect(none.text).toContain(`backup ${ENCRYPTED} is encrypted`);
    const wrong = await restore(source, ['--backup', 'latest', '--namespace-mapping', 'shop=shop-enc'], {
      NSBACKUP_ENCRYPTION_KEY: generateEncryptionKey(),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.text).toMatch(
      /wrong encryption key: backup 20261121-110000-bbbbbb was encrypted with key id \w{16}/,
    );
    expect(wrong.text).not.toContain(KEY);
    expect(writes(source)).toEqual([]);
    const right = await restore(source, ['--backup', 'latest', '--namespace-mapping', 'shop=shop-enc'], {
      NSBACKUP_ENCRYPTION_KEY: KEY,
    });
    expect(right.code, right.text).toBe(0);
    expect(right.report!.backupId).toBe(ENCRYPTED);
    expectRestoredFaithfully(source, 'shop-enc', ENCRYPTED);
  });

  it('a changed byte in the stored archive stops the restore before anything is created', async () => {
    const store = s3.store();
    const folder = `nsbackup/prod/shop/${PLAIN}/`;
    const damaged = `nsbackup/prod/shop/20261121-090000-cccccc/`;
    for (const name of ['manifest.json', 'resources.ndjson.gz']) {
      const res = await (
        await store.connect()
      ).client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: folder + name }));
      const body = Buffer.from(await res.Body!.transformToByteArray());
      if (name !== 'manifest.json') body[body.length - 20] ^= 0x01;
      await (
        await store.connect()
      ).client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: damaged + name, Body: body }));
    }
    source.clearRequests();
    const { code, text, report } = await restore(source, [
      '--backup',
      '20261121-090000-cccccc',
      '--namespace-mapping',
      'shop=shop-damaged',
    ]);
    expect(code).toBe(1);
    expect(text).toMatch(
      /is damaged, nothing was restored: manifest: resources.ndjson.gz: SHA-256 \w+, manifest says/,
    );
    expect(report).toBeUndefined();
    expect(writes(source)).toEqual([]);
    expect(source.get('v1', 'Namespace', undefined, 'shop-damaged')).toBeUndefined();
  });

  it('--dry-run sends every write with dryRun=All and stores nothing', async () => {
    source.clearRequests();
    const { code, report, text } = await restore(source, [
      '--backup',
      PLAIN,
      '--namespace-mapping',
      'shop=shop-dry',
      '--dry-run',
    ]);
    expect(code, text).toBe(0);
    const sent = writes(source);
    expect(sent.length).toBeGreaterThan(0);
    for (const request of sent)
      expect(request.query, `${request.verb} ${request.path}`).toContain('dryRun=All');
    expect(source.get('v1', 'Namespace', undefined, 'shop-dry')).toBeUndefined();
    expect(report!.dryRun).toBe(true);
    // The namespace does not exist, so what goes into it is checked, dry run, in one that does: every object.
    expect(report!.created.map((e) => e.path)).toContain('/api/v1/namespaces/shop-dry');
    expect(report!.counts.notChecked).toBe(0);
    const checked = report!.created.filter((e) => e.path !== '/api/v1/namespaces/shop-dry');
    expect(checked).toHaveLength(NAMESPACED); // every namespaced object of the backup
    for (const e of checked)
      expect(e.reason).toMatch(/^checked in namespace default \(namespace shop-dry is created/);
    expect(sent.filter((r) => r.path.startsWith('/api/v1/namespaces/default/')).length).toBeGreaterThan(0);
  });

  it('a dry run into an existing namespace is checked by the server object by object', async () => {
    source.clearRequests();
    const { code, report } = await restore(source, [
      '--backup',
      PLAIN,
      '--namespace-mapping',
      'shop=shop-copy',
      '--dry-run',
    ]);
    expect(code).toBe(0);
    expect(report!.counts.notChecked).toBe(0);
    expect(report!.counts.created).toBe(0);
    expect(report!.counts.alreadyExisted).toBe(NAMESPACED + 3); // namespaced, CRD, StorageClass, namespace
    for (const request of writes(source)) expect(request.query).toContain('dryRun=All');
  });
});

describe('which backup: latest succeeded, a named one whatever its outcome', () => {
  it('latest refuses when no run succeeded, naming the newest failed ones and those without an outcome', async () => {
    const kube = connect({ kubeconfigPath: source.kubeconfigPath });
    const log = new Logger({ write: () => undefined });
    for (const backupId of ['staging-1', 'staging-2']) {
      await exportNamespaceToS3({
        kube,
        store: s3.store(),
        namespace: 'shop',
        cluster: 'staging',
        backupId,
        log,
      });
    }
    await recordOutcome('staging', 'staging-1', 'failed', '2026-11-20T02:00:00Z', [
      'snapshot data-db-0: timed out',
    ]);
    source.clearRequests();
    const { code, text } = await restore(
      source,
      ['--backup', 'latest', '--namespace-mapping', 'shop=shop-none'],
      {
        NSBACKUP_CLUSTER_NAME: 'staging',
      },
    );
    expect(code).toBe(1);
    expect(text).toContain('no backup whose run succeeded');
    expect(text).toContain(
      'newest failed: staging-1 (started 2026-11-20T02:00:00Z: snapshot data-db-0: timed out)',
    );
    expect(text).toMatch(/without an outcome record [^"]*: staging-2/);
    expect(source.requests.filter((r) => WRITE_VERBS.includes(r.verb))).toEqual([]);
  });

  it('a backup named by id is restored even if its run failed: warned, and what it lacks is in the report', async () => {
    const { code, report, lines, text } = await restore(source, [
      '--backup',
      FAILED,
      '--namespace-mapping',
      'shop=shop-failed',
    ]);
    expect(code, text).toBe(0);
    expect(report!.outcome).toBe('failed');
    expect(report!.warnings).toContainEqual(
      expect.stringContaining(`backup ${FAILED} comes from a run that failed`),
    );
    expect(report!.notExported).toEqual([
      { what: 'widgets.example.com', reason: expect.stringMatching(/^forbidden/) },
    ]);
    const summary = JSON.parse(lines.find((l) => l.includes('"summary":true'))!);
    expect(summary).toMatchObject({ backupOutcome: 'failed', notInBackup: ['widgets.example.com'] });
    expect(source.get('v1', 'ConfigMap', 'shop-failed', 'settings')).toBeDefined();
  });
});

describe('preferences and existing objects', () => {
  it('include/exclude and a label selector leave objects out, with reasons', async () => {
    const prefs = join(tmp, 'prefs.yaml');
    (await import('node:fs')).writeFileSync(
      prefs,
      'excludeResources: [Secret, "*.example.com"]\nexcludeApiPaths: [/apis/batch/]\n',
    );
    const { code, report } = await restore(source, [
      '--backup',
      PLAIN,
      '--namespace-mapping',
      'shop=shop-prefs',
      '--preferences',
      prefs,
    ]);
    expect(code).toBe(0);
    const excluded = Object.fromEntries(report!.excluded.map((e) => [e.path, e.reason]));
    expect(excluded['/api/v1/namespaces/shop/secrets/db-password']).toBe(
      'Secret matches excludeResources Secret',
    );
    expect(excluded['/apis/example.com/v1/namespaces/shop/widgets/blue']).toBe(
      'Widget matches excludeResources *.example.com',
    );
    expect(excluded['/apis/batch/v1/namespaces/shop/cronjobs/report']).toBe(
      'API path is under excludeApiPaths /apis/batch/',
    );
    expect(report!.counts.excludedByPreferences).toBe(5); // the Job too, and the PV (no rebinding asked)
    expect(source.get('v1', 'Secret', 'shop-prefs', 'db-password')).toBeUndefined();
    expect(source.get('v1', 'ConfigMap', 'shop-prefs', 'settings')).toBeDefined();
  });

  it('existing objects are skipped by default and replaced with `existing: update` for the chosen paths', async () => {
    const kube = connect({ kubeconfigPath: source.kubeconfigPath });
    const path = '/api/v1/namespaces/shop-copy/configmaps/settings';
    const live = await kube.get<KubeObject>(path);
    const backup = backupObjects.get('/api/v1/namespaces/shop/configmaps/settings')!;
    await kube.request('PUT', path, {
      body: { ...live, data: { changed: 'yes' }, metadata: { ...live.metadata, labels: { added: 'later' } } },
    });
    const skip = await restore(source, ['--backup', PLAIN, '--namespace-mapping', 'shop=shop-copy']);
    expect(skip.code).toBe(0);
    expect(skip.report!.alreadyExisted).toContainEqual(
      expect.objectContaining({
        path,
        sourcePath: '/api/v1/namespaces/shop/configmaps/settings',
        reason: 'skip (existing: skip)',
      }),
    );
    expect(source.get('v1', 'ConfigMap', 'shop-copy', 'settings').data).toEqual({ changed: 'yes' });

    const prefs = join(tmp, 'update.yaml');
    (await import('node:fs')).writeFileSync(
      prefs,
      'existing: update\nupdatePaths: [/api/v1/namespaces/shop/configmaps/, /api/v1/namespaces/shop/services/]\n',
    );
    source.clearRequests();
    const update = await restore(source, [
      '--backup',
      PLAIN,
      '--namespace-mapping',
      'shop=shop-copy',
      '--preferences',
      prefs,
    ]);
    expect(update.code, update.text).toBe(0);
    expect(paths(update.report!.updated)).toEqual([path]);
    // Services are unchanged (their cluster IPs are kept from the live object): nothing to write.
    expect(update.report!.alreadyExisted).toContainEqual(
      expect.objectContaining({
        path: '/api/v1/namespaces/shop-copy/services/web',
        reason: 'identical to the backup',
      }),
    );
    const after = source.get('v1', 'ConfigMap', 'shop-copy', 'settings');
    expect(after.data).toEqual(backup.data);
    expect(after.metadata.labels).toEqual({
      ...(backup.metadata.labels ?? {}),
      [Labels.restoredFrom]: PLAIN,
    });
    expect(source.requests.filter((r) => r.verb === 'update').map((r) => r.path)).toEqual([path]);
  });
});

describe('existing objects that already equal the backup', () => {
  it('`existing: update` writes nothing for an object that equals the backup but was never restored', async () => {
    // The source namespace itself: every object equals the backup, none carries the restored-from label.
    const prefs = join(tmp, 'update-all.yaml');
    writeFileSync(prefs, 'existing: update\n');
    // A label the platform put on the namespace since the backup: an existing namespace is never rewritten.
    const ns = source.get('v1', 'Namespace', undefined, 'shop')!;
    source.seed({
      ...ns,
      metadata: { ...ns.metadata, labels: { ...ns.metadata.labels, 'platform/tier': 'gold' } },
    });
    source.clearRequests();
    const { code, report, text } = await restore(source, ['--backup', PLAIN, '--preferences', prefs]);
    expect(code, text).toBe(0);
    // The live ServiceAccount still names its token Secret, which the backup leaves out: not a difference either.
    expect(report!.updated).toEqual([]);
    expect(report!.alreadyExisted).toContainEqual(
      expect.objectContaining({
        path: '/api/v1/namespaces/shop/configmaps/settings',
        reason: 'identical to the backup',
      }),
    );
    expect(report!.alreadyExisted).toContainEqual(
      expect.objectContaining({
        path: '/api/v1/namespaces/shop/serviceaccounts/web',
        reason: 'identical to the backup',
      }),
    );
    expect(report!.alreadyExisted).toContainEqual(
      expect.objectContaining({
        path: '/api/v1/namespaces/shop',
        reason: 'exists (an existing namespace is never changed)',
      }),
    );
    expect(source.requests.filter((r) => r.verb === 'update')).toEqual([]);
    expect(source.get('v1', 'Namespace', undefined, 'shop')!.metadata.labels['platform/tier']).toBe('gold');
  });
});

describe('interruption', () => {
  it('a restore that failed half-way completes when run again, without duplicates', async () => {
    source.faults.add({ verb: 'create', path: '/deployments', status: 500 });
    source.faults.add({ verb: 'create', path: '/statefulsets', status: 500 });
    const first = await restore(source, ['--backup', PLAIN, '--namespace-mapping', 'shop=shop-int']);
    source.faults.clear();
    expect(first.code).toBe(1);
    expect(paths(first.report!.failed)).toEqual([
      '/apis/apps/v1/namespaces/shop-int/deployments/web',
      '/apis/apps/v1/namespaces/shop-int/statefulsets/db',
    ]);
    expect(first.report!.failed[0].error!.length).toBeLessThanOrEqual(300);
    expect(first.text).toMatch(/"failed":2/);

    const second = await restore(source, ['--backup', PLAIN, '--namespace-mapping', 'shop=shop-int']);
    expect(second.code, second.text).toBe(0);
    expect(paths(second.report!.created)).toEqual(paths(first.report!.failed));
    expect(second.report!.counts.alreadyExisted).toBe(first.report!.counts.created + 2);
    expectRestoredFaithfully(source, 'shop-int', PLAIN);
  });

  it('a connection dropped after a create was sent is resolved by looking, not by a duplicate or a failure', async () => {
    source.faults.add({ verb: 'create', path: '/configmaps', drop: true, times: 1 });
    const { code, report, text } = await restore(source, [
      '--backup',
      PLAIN,
      '--namespace-mapping',
      'shop=shop-drop',
    ]);
    source.faults.clear();
    expect(code, text).toBe(0);
    expect(report!.created.map((e) => e.path)).toContain('/api/v1/namespaces/shop-drop/configmaps/settings');
    expect(source.list('v1', 'ConfigMap', 'shop-drop').map((c) => c.metadata.name)).toEqual(['settings']);
  });
});

describe('one API hiccup on a get or a create does not fail the restore (issue 11)', () => {
  let withoutFault: Record<string, number>;
  it('without a fault', async () => {
    const { code, report, text } = await restore(source, [
      '--backup',
      PLAIN,
      '--namespace-mapping',
      'shop=shop-hiccup-none',
    ]);
    expect(code, text).toBe(0);
    withoutFault = report!.counts as unknown as Record<string, number>;
  });

  const KINDS = [
    ['429 with Retry-After', { retryAfterSeconds: 1 }, 429],
    ['500', { status: 500 }, 500],
    ['503', { status: 503 }, 503],
    ['a 2 s delay', { delayMs: 2_000 }, undefined],
    ['a dropped connection', { drop: true }, 0],
  ] as const;

  it.each(
    (['create', 'get'] as const).flatMap((verb) =>
      KINDS.map(([what, fault, answered]) => [verb, what, fault, answered] as const),
    ),
  )(
    'one fault on %s (%s): exit 0, restored as without it',
    async (verb, what, fault, answered) => {
      const ns = `shop-hic-${verb}-${what.replace(/\W+/g, '-').toLowerCase()}`.slice(0, 40).replace(/-$/, '');
      source.clearRequests();
      // The target namespace's own path too (the restore looks for the Namespace before creating it).
      source.faults.add({ verb, path: new RegExp(`/namespaces/${ns}(/|$)`), times: 1, ...fault });
      const { code, report, text } = await restore(source, [
        '--backup',
        PLAIN,
        '--namespace-mapping',
        `shop=${ns}`,
      ]);
      source.faults.clear();
      expect(code, text).toBe(0);
      expect(report!.failed).toEqual([]);
      expect(report!.counts).toEqual(withoutFault);
      expectRestoredFaithfully(source, ns, PLAIN);
      const hit = source.requests.filter(
        (q) => q.verb === verb && new RegExp(`/namespaces/${ns}(/|$)`).test(q.path),
      );
      expect(hit.length).toBeGreaterThan(0);
      if (answered !== undefined) expect(hit.map((q) => q.status)).toContain(answered);
    },
    20_000,
  );
});

describe('restore from an export folder', () => {
  it('reads the YAML files, finds paths by discovery, labels with the folder name', async () => {
    const dir = join(tmp, 'shop-export');
    await writeExportDir(
      dir,
      [...backupObjects].map(([path, object]) => ({ path, object })),
    );
    const { code, report, text } = await restore(target, [
      '--from-dir',
      dir,
      '--namespace-mapping',
      'shop=from-dir',
    ]);
    expect(code, text).toBe(0);
    expect(report!.backupId).toBe('shop-export');
    expectRestoredFaithfully(target, 'from-dir', 'shop-export');
  });

  it('canonicalizes hand-edited files: a leftover resourceVersion, uid or status does not fail the create', async () => {
    const dir = join(tmp, 'edited-export');
    await writeExportDir(dir, [
      {
        path: '/api/v1/namespaces/shop/configmaps/settings',
        object: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 'settings',
            namespace: 'shop',
            resourceVersion: '4711',
            uid: '0b5c7d2e-0000-4000-8000-000000000001',
            creationTimestamp: '2026-11-20T10:00:00Z',
          },
          data: { mode: 'fast' },
        },
      },
    ]);
    const { code, report, text } = await restore(target, [
      '--from-dir',
      dir,
      '--namespace-mapping',
      'shop=edited',
    ]);
    expect(code, text).toBe(0);
    expect(report!.created.map((e) => e.path)).toContain('/api/v1/namespaces/edited/configmaps/settings');
    expect(target.get('v1', 'ConfigMap', 'edited', 'settings').data).toEqual({ mode: 'fast' });
  });

  it('a claim whose snapshot source will not exist loses it and comes up empty, with a warning; others keep theirs', async () => {
    const claim = (name: string, snapshot: string) => ({
      path: `/api/v1/namespaces/shop/persistentvolumeclaims/${name}`,
      object: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: 'shop' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
          dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshot },
          dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshot },
        },
      },
    });
    const dir = join(tmp, 'claims-export');
    // data: restored by restore-pvc from a snapshot retention has deleted since; scratch: from one that is there.
    await writeExportDir(dir, [
      claim('data', 'data-20261101-020000-ab12cd'),
      claim('scratch', 'scratch-manual'),
    ]);
    target.seed({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'scratch-manual', namespace: 'claims' },
      spec: { source: { volumeSnapshotContentName: 'scratch-content' } },
      status: { readyToUse: true, restoreSize: '1Gi' },
    });
    const { code, report, text } = await restore(target, [
      '--from-dir',
      dir,
      '--namespace-mapping',
      'shop=claims',
    ]);
    expect(code, text).toBe(0);
    expect(report!.warnings).toEqual([
      expect.stringMatching(
        /^PVC claims\/data: its data source, VolumeSnapshot data-20261101-020000-ab12cd, is neither in the backup nor in namespace claims; .*EMPTY volume/,
      ),
    ]);
    const data = target.get('v1', 'PersistentVolumeClaim', 'claims', 'data');
    expect(data.spec.dataSource).toBeUndefined();
    expect(data.spec.dataSourceRef).toBeUndefined();
    expect(target.get('v1', 'PersistentVolumeClaim', 'claims', 'scratch').spec.dataSource.name).toBe(
      'scratch-manual',
    );
    await target.controllers.idle();
    expect(target.get('v1', 'PersistentVolumeClaim', 'claims', 'data').status.phase).toBe('Bound');
  });

  it('refuses --backup with --from-dir, and neither (exit 2)', async () => {
    expect((await restore(target, ['--from-dir', tmp, '--backup', PLAIN])).code).toBe(2);
    expect((await restore(target, [])).code).toBe(2);
    expect((await restore(target, ['--backup', PLAIN, '--namespace-mapping', 'a=b,c=b'])).code).toBe(2);
  });
});
