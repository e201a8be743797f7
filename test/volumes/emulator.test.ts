// The backup's volume data step and restore-pvc --from s3 through the emulator: the backup creates a clone of this
// run's snapshot and a mover Job; the emulator's Job runner plays the mover's container (the real `nsbackup
// volume-mover` with the Job's variables, Secrets resolved, the real restic against s3rver over HTTPS), with the
// claim's folder standing for its volume. What a user would notice: the manifest and outcome list each volume, the
// Job and clone are gone afterwards (also after a failure and a SIGTERM), a failed upload fails the run naming the
// PVC, the password is nowhere but in the Secret, and the files come back into another namespace.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { command as backupCommand, createBackupCommand } from '../../scripts/backup.js';
import { command as restorePvcCommand } from '../../scripts/restore-pvc.js';
import { command as restoreCommand } from '../../scripts/restore.js';
import { command as moverCommand } from '../../scripts/volume-mover.js';
import { command as checkCommand } from '../../scripts/volume-check.js';
import { command as verifyCommand } from '../../scripts/verify.js';
import { command as markAndDeleteCommand } from '../../scripts/mark-and-delete.js';
import { command as describeCommand } from '../../scripts/describe.js';
import { Repository } from '../../lib/volumes/repo-ops.js';
import { resticRunner } from '../../lib/volumes/restic.js';
import { repositoryUrl } from '../../lib/volumes/repository.js';
import { MOVER_LABEL } from '../../lib/volumes/mover-manifests.js';
import { startCluster, type Cluster, type JobRunner } from '../cluster/index.js';
import { startS3, type LocalS3, runNsbackup } from '../kit/index.js';
import { describeTree, makeKindTree } from './tree.js';

const PASSWORD = 'a restic password nobody logs';
let cluster: Cluster;
let s3: LocalS3;
let tmp: string;

/**
 * Makes a VolumeSnapshot due (delete-after in the past) and seeds a good one of the same PVC an hour later, of
 * another backup, so that retention may delete the first (the newest good snapshot of a PVC is never deleted).
 */
function expireBehindNewerGood(vs: any): void {
  const later = (time: string) => new Date(Date.parse(time) + 3_600_000).toISOString();
  cluster.seed({
    ...vs,
    metadata: { ...vs.metadata, labels: { ...vs.metadata.labels, 'nsbackup.io/delete-after': '2020-01-01' } },
  });
  cluster.seed({
    ...vs,
    metadata: {
      ...vs.metadata,
      name: `${vs.metadata.name}-later`,
      uid: `${vs.metadata.uid}-later`,
      creationTimestamp: later(vs.metadata.creationTimestamp),
      labels: { ...vs.metadata.labels, 'nsbackup.io/backup': 'later', 'nsbackup.io/outcome': 'succeeded' },
    },
    status: { ...vs.status, creationTime: later(vs.status.creationTime) },
  });
}

/** The restic repository of a namespace of cluster `prod`, as the test reads it back (real restic, s3rver over HTTPS). */
function namespaceRepository(namespace: string): Repository {
  return new Repository(
    {
      repository: repositoryUrl(
        {
          bucket: s3.bucket,
          prefix: 'nsbackup',
          endpoint: s3.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
        },
        'prod',
        namespace,
      ),
      cacert: s3.caFile,
      cacheDir: join(tmp, 'cache'),
    },
    resticRunner({ password: PASSWORD, env: { ...process.env, ...s3.env } }),
  );
}
/** `namespace/pvc` -> the folder that is its volume. */
const volumes = new Map<string, string>();
let jobsSeen: any[] = [];

const b64 = (s: string) => Buffer.from(s).toString('base64');

function seedNamespace(ns: string) {
  cluster.seed(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'restic', namespace: ns },
      data: { RESTIC_PASSWORD: b64(PASSWORD) },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3-credentials', namespace: ns },
      data: {
        AWS_ACCESS_KEY_ID: b64(s3.env.AWS_ACCESS_KEY_ID),
        AWS_SECRET_ACCESS_KEY: b64(s3.env.AWS_SECRET_ACCESS_KEY),
      },
    },
  );
}

function claim(ns: string, name: string) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: ns },
    spec: {
      storageClassName: 'standard',
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    },
    status: { phase: 'Bound', capacity: { storage: '1Gi' } },
  };
}

/** The folder a claim's volume is: a clone of a snapshot reads its PVC's folder; any other claim gets its own. */
function folderOf(ns: string, claimName: string): string {
  const pvc = cluster.get('v1', 'PersistentVolumeClaim', ns, claimName);
  const source = pvc?.spec?.dataSource;
  if (source?.kind === 'VolumeSnapshot') {
    const vs = cluster.get('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', ns, source.name);
    return volumes.get(`${ns}/${vs.spec.source.persistentVolumeClaimName}`)!;
  }
  const key = `${ns}/${claimName}`;
  if (!volumes.has(key)) {
    const dir = join(tmp, 'volumes', ns, claimName);
    mkdirSync(dir, { recursive: true });
    volumes.set(key, dir);
  }
  return volumes.get(key)!;
}

/** The container's environment as the kubelet would build it: values, Secret keys, Secrets as envFrom. */
function containerEnv(ns: string, c: any): Record<string, string> {
  const env: Record<string, string> = {};
  const secret = (name: string) => cluster.get('v1', 'Secret', ns, name)?.data ?? {};
  for (const from of c.envFrom ?? [])
    for (const [k, v] of Object.entries(secret(from.secretRef.name)))
      env[k] = Buffer.from(v as string, 'base64').toString();
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const v = secret(e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key];
      if (v === undefined) throw new Error(`secret key ${e.valueFrom.secretKeyRef.key} missing`);
      env[e.name] = Buffer.from(v, 'base64').toString();
    }
  }
  return env;
}

/** Plays the mover's container: `nsbackup volume-mover` with the Job's variables, its claim's folder at the mount. */
const moverRunner =
  (before?: (job: any) => Promise<void>): JobRunner =>
  async (job) => {
    jobsSeen.push(job);
    await before?.(job);
    const ns = job.metadata.namespace;
    const spec = job.spec.template.spec;
    const c = spec.containers[0];
    const claimName = spec.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName;
    const env = {
      ...containerEnv(ns, c),
      NSBACKUP_MOVER_PATH: folderOf(ns, claimName),
      TMPDIR: tmp,
      PATH: process.env.PATH!,
    };
    const lines: string[] = [];
    const code = await runCommand(moverCommand, { argv: c.args.slice(1), env, write: (l) => lines.push(l) });
    return { exitCode: code, log: lines.join('\n') + '\n' };
  };

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startCluster(), startS3('backups', { tls: true })]);
  tmp = mkdtempSync(join(tmpdir(), 'nsbackup-volumes-emu-'));
  seedNamespace('shop');
  cluster.seed(claim('shop', 'data'), claim('shop', 'uploads'), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'web', image: 'web' }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        },
      },
    },
  });
  const data = join(tmp, 'data');
  mkdirSync(data);
  makeKindTree(data);
  volumes.set('shop/data', data);
  const uploads = join(tmp, 'uploads');
  mkdirSync(uploads);
  writeFileSync(join(uploads, 'avatar.png'), 'not really a png');
  volumes.set('shop/uploads', uploads);
  cluster.controllers.jobs.runner = moverRunner();
}, 60_000);

afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const backupEnv = (over: Record<string, string> = {}) => ({
  ...s3.env,
  NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
  NSBACKUP_CLUSTER_NAME: 'prod',
  NSBACKUP_NAMESPACE: 'shop',
  NSBACKUP_DB: 'none',
  NSBACKUP_PVC: 'data,uploads',
  NSBACKUP_PVC_DATA: 'data,uploads',
  NSBACKUP_RESTIC_SECRET: 'restic',
  NSBACKUP_S3_SECRET: 's3-credentials',
  NSBACKUP_MOVER_IMAGE: 'nsbackup:test',
  NSBACKUP_EXPORT: 'true',
  NSBACKUP_LOCK: 'false',
  ...over,
});

const leftovers = () => [
  ...cluster.list('batch/v1', 'Job', 'shop').filter((j) => j.metadata.labels?.[MOVER_LABEL]),
  ...cluster.list('v1', 'PersistentVolumeClaim', 'shop').filter((p) => p.metadata.labels?.[MOVER_LABEL]),
];

async function readJson(key: string): Promise<any> {
  const store = s3.store();
  return JSON.parse(await store.downloadText(store.key(key)));
}

describe('volume data in the backup and back', () => {
  let backupId: string;

  it('stores each PVC from a clone of its snapshot; manifest and outcome list them; nothing left behind', async () => {
    cluster.clearRequests();
    jobsSeen = [];
    const r = await runNsbackup(backupCommand, backupEnv());
    expect(r.code, r.text).toBe(0);
    backupId = r.summary!.backupId;
    const manifest = await readJson(`prod/shop/${backupId}/manifest.json`);
    expect(manifest.volumes.map((v: any) => v.pvc)).toEqual(['data', 'uploads']);
    for (const v of manifest.volumes) {
      expect(v.resticSnapshotId).toMatch(/^[0-9a-f]{64}$/);
      expect(v.repository).toBe(`s3://backups/nsbackup/prod/shop.restic/`);
      expect(v.volumeSnapshot).toMatch(new RegExp(`^${v.pvc}-`));
      expect(v.files).toBeGreaterThan(0);
    }
    const outcome = await readJson(`prod/shop/${backupId}/outcome.json`);
    expect(outcome.outcome).toBe('succeeded');
    expect(outcome.volumes).toHaveLength(2);
    expect(leftovers()).toEqual([]);

    // The Jobs: read-only mount of a clone of this run's snapshot, non-root, the password by reference only.
    expect(jobsSeen).toHaveLength(2);
    for (const job of jobsSeen) {
      const pod = job.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(pod.containers[0].volumeMounts[0]).toMatchObject({ mountPath: '/data', readOnly: true });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(JSON.stringify(job)).not.toContain(PASSWORD);
      expect(
        pod.containers[0].env.find((e: any) => e.name === 'RESTIC_PASSWORD').valueFrom.secretKeyRef,
      ).toEqual({
        name: 'restic',
        key: 'RESTIC_PASSWORD',
      });
    }
    const clones = cluster.requests.filter(
      (q) => q.verb === 'create' && q.path.endsWith('/persistentvolumeclaims'),
    );
    expect(clones).toHaveLength(2);
    expect(r.text).not.toContain(PASSWORD);
    expect(JSON.stringify(cluster.requests)).not.toContain(PASSWORD);
  });

  it('a failed upload fails the run, names the PVC, and still removes the Job and the clone', async () => {
    cluster.controllers.jobs.runner = moverRunner(async (job) => {
      if (job.metadata.labels['nsbackup.io/pvc'] === 'uploads') throw new Error('OOMKilled');
    });
    try {
      const r = await runNsbackup(backupCommand, backupEnv());
      expect(r.code).toBe(1);
      expect(r.summary!.error).toMatch(/volume data of PVC uploads not stored/);
      expect(r.summary!.error).not.toMatch(/PVC data /);
      const outcome = await readJson(`prod/shop/${r.summary!.backupId}/outcome.json`);
      expect(outcome.outcome).toBe('failed');
      expect(outcome.volumes.map((v: any) => v.pvc)).toEqual(['data']);
      expect(leftovers()).toEqual([]);
    } finally {
      cluster.controllers.jobs.runner = moverRunner();
    }
  });

  it('SIGTERM while a mover runs: the run fails, the Job and the clone are deleted', async () => {
    let release!: () => void;
    cluster.controllers.jobs.runner = moverRunner(async () => {
      process.emit('SIGTERM');
      await new Promise<void>((r) => (release = r));
      // The pod is gone with its Job: its restic never runs (it would hold a lock while later tests check).
      throw new Error('pod deleted');
    });
    try {
      const r = await runNsbackup(backupCommand, backupEnv({ NSBACKUP_PVC_DATA: 'data' }));
      expect(r.code).toBe(1);
      expect(r.text).toMatch(/stopped by SIGTERM/);
      expect(leftovers()).toEqual([]);
    } finally {
      release?.();
      await cluster.controllers.idle();
      cluster.controllers.jobs.runner = moverRunner();
    }
  });

  it('dry run: says which volumes would go to S3, creates nothing', async () => {
    cluster.clearRequests();
    const r = await runNsbackup(backupCommand, backupEnv({ NSBACKUP_DRY_RUN: 'true' }));
    expect(r.code, r.text).toBe(0);
    expect(r.out).toMatch(
      /volume data: PVC data, from its snapshot, to the namespace's restic repository in S3/,
    );
    expect(r.out).toMatch(/volume data: PVC uploads/);
    expect(cluster.requests.filter((q) => !['get', 'list'].includes(q.verb))).toEqual([]);
  });

  it('a mover whose pod never starts (a quota refusing it) fails the run after NSBACKUP_MOVER_START_TIMEOUT, with the reason', async () => {
    cluster.controllers.jobs.runner = undefined; // the Job stays without a pod
    try {
      const r = await runNsbackup(
        backupCommand,
        backupEnv({ NSBACKUP_PVC_DATA: 'data', NSBACKUP_MOVER_START_TIMEOUT: '1s' }),
      );
      expect(r.code).toBe(1);
      expect(r.summary!.error).toMatch(
        /volume data of PVC data not stored: mover job \S+: no pod was created within 1 s/,
      );
      expect(leftovers()).toEqual([]);
    } finally {
      cluster.controllers.jobs.runner = moverRunner();
    }
  });

  it('bad volume settings: exit 2 naming them, nothing created', async () => {
    cluster.clearRequests();
    const r = await runNsbackup(
      backupCommand,
      backupEnv({ NSBACKUP_PVC_DATA: 'data,logs', NSBACKUP_RESTIC_SECRET: '', NSBACKUP_MOVER_IMAGE: '' }),
    );
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/NSBACKUP_PVC_DATA: logs not in NSBACKUP_PVC/);
    expect(r.text).toMatch(/NSBACKUP_RESTIC_SECRET/);
    expect(r.text).toMatch(/NSBACKUP_MOVER_IMAGE/);
    expect(cluster.requests.filter((q) => q.verb !== 'get' && q.verb !== 'list')).toEqual([]);
  });

  it('restore-pvc --from s3 into another namespace: a dry run says what and how big, then every file comes back', async () => {
    seedNamespace('shop-copy');
    const env = {
      ...s3.env,
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'prod',
      NSBACKUP_RESTIC_SECRET: 'restic',
      NSBACKUP_S3_SECRET: 's3-credentials',
      NSBACKUP_MOVER_IMAGE: 'nsbackup:test',
    };
    const argv = [
      '--from',
      's3',
      '--pvc',
      'data',
      '--source-namespace',
      'shop',
      '--backup',
      backupId,
      '--as',
      'data-restored',
      '-n',
      'shop-copy',
    ];
    const dry = await runNsbackup(restorePvcCommand, env, [...argv, '--dry-run']);
    expect(dry.code, dry.text).toBe(0);
    expect(dry.out).toMatch(
      new RegExp(
        `would restore snapshot [0-9a-f]{8} of PVC shop/data \\(backup ${backupId}, [^)]+\\): \\d+ files, 671\\d{5} bytes into a new PVC shop-copy/data-restored of 1Gi`,
      ),
    );
    expect(cluster.get('v1', 'PersistentVolumeClaim', 'shop-copy', 'data-restored')).toBeUndefined();

    const r = await runNsbackup(restorePvcCommand, env, argv);
    expect(r.code, r.text).toBe(0);
    const restored = cluster.get('v1', 'PersistentVolumeClaim', 'shop-copy', 'data-restored');
    expect(restored.metadata.labels['nsbackup.io/restored-from']).toBe(backupId);
    expect(describeTree(volumes.get('shop-copy/data-restored')!)).toEqual(
      describeTree(volumes.get('shop/data')!),
    );
    expect(cluster.list('batch/v1', 'Job', 'shop-copy')).toEqual([]);
    expect(r.text).not.toContain(PASSWORD);

    // An existing claim is never overwritten.
    const again = await runNsbackup(restorePvcCommand, env, argv);
    expect(again.code).toBe(1);
    expect(again.summary!.error).toMatch(/already exists/);
  });

  it('volume-check reads a slice of the repository', async () => {
    const r = await runNsbackup(
      checkCommand,
      {
        ...s3.env,
        NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
        NSBACKUP_CLUSTER_NAME: 'prod',
        NSBACKUP_NAMESPACE: 'shop',
        NSBACKUP_RESTIC_SECRET: 'restic',
      },
      ['--slice', '3'],
    );
    expect(r.code, r.text).toBe(0);
    expect(r.summary!.slice).toBe('3/7');
  });

  it('verify checks the volume data: each snapshot with its tags, a data subset read; a missing snapshot fails naming the PVC', async () => {
    const env = {
      ...s3.env,
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'prod',
      NSBACKUP_NAMESPACE: 'shop',
      NSBACKUP_RESTIC_SECRET: 'restic',
      NSBACKUP_VERIFY_DATA_SUBSET: '2/5',
    };
    const good = await runNsbackup(verifyCommand, env, [backupId]);
    expect(good.code, good.text).toBe(0);
    expect(good.out).toMatch(/^ok {6}PVC data: restic snapshot [0-9a-f]{8} with this backup's tags$/m);
    expect(good.out).toMatch(/^ok {6}restic check, data subset 2\/5 read/m);
    const record = await readJson(`prod/shop/${backupId}/verification.json`);
    expect(record.volumes).toMatchObject({ ok: true, check: { subset: '2/5', ok: true } });
    expect(record.volumes.snapshots.map((v: any) => `${v.pvc}:${v.ok}`)).toEqual([
      'data:true',
      'uploads:true',
    ]);
    expect(good.text).not.toContain(PASSWORD);

    // The manifest names a snapshot the repository no longer has (forgotten by hand, a replaced repository).
    const store = s3.store();
    const key = store.key(`prod/shop/${backupId}/manifest.json`);
    const original = await store.downloadText(key);
    const manifest = JSON.parse(original);
    manifest.volumes[1].resticSnapshotId = 'f'.repeat(64);
    await store.upload(key, JSON.stringify(manifest));
    try {
      const bad = await runNsbackup(verifyCommand, env, [backupId]);
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(
        /^FAILED {2}PVC uploads: restic snapshot ffffffff of PVC uploads is not in the repository/m,
      );
      expect(bad.out).toMatch(/^NOT verified/m);
      expect(bad.summary!.missingVolumes).toEqual(['uploads']);
      const failed = await readJson(`prod/shop/${backupId}/verification.json`);
      expect(failed.ok).toBe(false);
      expect(failed.volumes.snapshots.find((v: any) => v.pvc === 'uploads').ok).toBe(false);
    } finally {
      await store.upload(key, original);
    }
  });

  it('restore --pvcs-from-s3 into a mapped namespace: the claims it creates are filled from S3 before the workloads', async () => {
    seedNamespace('shop-restored');
    cluster.clearRequests();
    const reportPath = join(tmp, 'restore-report.json');
    const r = await runNsbackup(restoreCommand, {
      ...s3.env,
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'prod',
      NSBACKUP_NAMESPACE: 'shop',
      NSBACKUP_RESTORE_BACKUP: backupId,
      NSBACKUP_NAMESPACE_MAPPING: 'shop=shop-restored',
      NSBACKUP_RESTORE_PVCS_FROM_S3: 'true',
      NSBACKUP_RESTIC_SECRET: 'restic',
      NSBACKUP_S3_SECRET: 's3-credentials',
      NSBACKUP_MOVER_IMAGE: 'nsbackup:test',
      NSBACKUP_RESTORE_REPORT: reportPath,
    });
    expect(r.code, r.text).toBe(0);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report.volumes.map((v: any) => `${v.namespace}/${v.pvc}:${v.outcome}`)).toEqual([
      'shop-restored/data:restored',
      'shop-restored/uploads:restored',
    ]);
    expect(describeTree(volumes.get('shop-restored/data')!)).toEqual(describeTree(volumes.get('shop/data')!));
    expect(describeTree(volumes.get('shop-restored/uploads')!)).toEqual(
      describeTree(volumes.get('shop/uploads')!),
    );
    // The Deployment that mounts `data` is created only once both movers are done.
    const creates = cluster.requests.filter((q) => q.verb === 'create').map((q) => q.path);
    const movers = creates.flatMap((p, i) =>
      p === '/apis/batch/v1/namespaces/shop-restored/jobs' ? [i] : [],
    );
    const deployment = creates.indexOf('/apis/apps/v1/namespaces/shop-restored/deployments');
    expect(movers).toHaveLength(2);
    expect(deployment).toBeGreaterThan(Math.max(...movers));
    expect(r.text).not.toContain(PASSWORD);
  });

  it("mark-and-delete forgets the deleted snapshot's volume data (that PVC and backup only), then unlocks and prunes", async () => {
    const repo = namespaceRepository('shop');
    const before = await repo.allSnapshots();
    expect(
      before
        .filter((s) => s.backupId === backupId)
        .map((s) => s.pvc)
        .sort(),
    ).toEqual(['data', 'uploads']);
    // The first backup's snapshot of `data` is due: someone expired it.
    const vs = cluster
      .list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'shop')
      .find(
        (v) =>
          v.metadata.labels['nsbackup.io/backup'] === backupId &&
          v.metadata.labels['nsbackup.io/pvc'] === 'data',
      );
    // Due, with a newer good backup of `data`: the newest good snapshot of a PVC is never deleted, and the run after
    // the first one failed (its snapshots are not good backups).
    expireBehindNewerGood(vs);
    const r = await runNsbackup(markAndDeleteCommand, {
      ...s3.env,
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'prod',
      NSBACKUP_NAMESPACE: 'shop',
      NSBACKUP_RESTIC_SECRET: 'restic',
      NSBACKUP_LOCK_DIR: join(tmp, 'locks'),
      NSBACKUP_DELETE_PAUSE: '0s',
    });
    expect(r.code, r.text).toBe(0);
    expect(r.summary, r.text).toMatchObject({ deleted: 1, resticForgotten: 1, resticPruned: 1 });
    expect(r.summary!.resticPrunePeakRssMiB).toBeGreaterThan(0);
    const after = await repo.allSnapshots();
    expect(after.filter((s) => s.backupId === backupId).map((s) => s.pvc)).toEqual(['uploads']);
    expect(after).toHaveLength(before.length - 1);
  });
});

// NSBACKUP_PVC_DATA_DIRECT: storage without CSI snapshots. The mover mounts the live claim read-only (no
// VolumeSnapshot, no clone), on the node of the pod that holds a ReadWriteOnce claim; a ReadWriteOncePod claim in
// use fails that PVC before anything is created. The copies restore, verify and expire like the others.
describe('volume data from the live claim (NSBACKUP_PVC_DATA_DIRECT)', () => {
  const liveClaim = (name: string, modes: string[]) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'files' },
    spec: { storageClassName: 'nfs', accessModes: modes, resources: { requests: { storage: '1Gi' } } },
    status: { phase: 'Bound', accessModes: modes, capacity: { storage: '1Gi' } },
  });
  const runningPod = (name: string, node: string, claimName: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'files' },
    spec: {
      nodeName: node,
      containers: [{ name: 'app', image: 'app' }],
      volumes: [{ name: 'files', persistentVolumeClaim: { claimName } }],
    },
    status: { phase: 'Running' },
  });
  const directEnv = (over: Record<string, string> = {}) =>
    backupEnv({
      NSBACKUP_NAMESPACE: 'files',
      NSBACKUP_PVC: '',
      NSBACKUP_PVC_DATA: '',
      NSBACKUP_PVC_DATA_DIRECT: 'shared,home',
      ...over,
    });
  const readEnv = () => ({
    ...s3.env,
    NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    NSBACKUP_CLUSTER_NAME: 'prod',
    NSBACKUP_NAMESPACE: 'files',
    NSBACKUP_RESTIC_SECRET: 'restic',
    NSBACKUP_S3_SECRET: 's3-credentials',
    NSBACKUP_MOVER_IMAGE: 'nsbackup:test',
  });
  const moverJobsOf = (ns: string) =>
    jobsSeen.filter((j) => j.metadata.namespace === ns && j.metadata.labels[MOVER_LABEL] === 'backup');
  const writes = () => cluster.requests.filter((q) => !['get', 'list', 'watch'].includes(q.verb));
  let backupId: string;

  beforeAll(() => {
    seedNamespace('files');
    cluster.seed(
      liveClaim('shared', ['ReadWriteMany']),
      liveClaim('home', ['ReadWriteOnce']),
      liveClaim('locked', ['ReadWriteOncePod']),
      liveClaim('db', ['ReadWriteOnce']),
      runningPod('app-0', 'node-b', 'home'),
      runningPod('db-0', 'node-c', 'locked'),
    );
    for (const [name, fill] of [
      ['shared', (dir: string) => makeKindTree(dir)],
      ['home', (dir: string) => writeFileSync(join(dir, 'notes.txt'), 'written by app-0 on node-b\n')],
      ['db', (dir: string) => writeFileSync(join(dir, 'PG_VERSION'), '15\n')],
    ] as const) {
      const dir = join(tmp, 'live', name);
      mkdirSync(dir, { recursive: true });
      fill(dir);
      volumes.set(`files/${name}`, dir);
    }
  });

  it("copies the live claims read-only: no VolumeSnapshot, no clone, the ReadWriteOnce one on its pod's node", async () => {
    cluster.clearRequests();
    jobsSeen = [];
    const r = await runNsbackup(backupCommand, directEnv());
    expect(r.code, r.text).toBe(0);
    backupId = r.summary!.backupId;
    const created = writes()
      .filter((q) => q.verb === 'create')
      .map((q) => q.path);
    expect(created.filter((p) => /volumesnapshots|persistentvolumeclaims/.test(p))).toEqual([]);
    expect(cluster.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'files')).toEqual([]);

    const jobs = moverJobsOf('files');
    expect(jobs.map((j) => j.metadata.labels['nsbackup.io/pvc'])).toEqual(['shared', 'home']);
    for (const job of jobs) {
      const pod = job.spec.template.spec;
      const pvc = job.metadata.labels['nsbackup.io/pvc'];
      expect(pod.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim).toEqual({
        claimName: pvc,
        readOnly: true,
      });
      expect(pod.containers[0].volumeMounts[0]).toMatchObject({ mountPath: '/data', readOnly: true });
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
      expect(pod.nodeName).toBeUndefined();
    }
    const [shared, home] = jobs.map((j) => j.spec.template.spec);
    expect(shared.affinity).toBeUndefined();
    expect(
      home.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
    ).toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-b'] }] }]);

    // Said once per PVC: this copy is not point-in-time.
    const notes = r.logs.filter((l) => /not point-in-time/.test(l.msg));
    expect(notes.map((l) => `${l.level}:${l.pvc}`)).toEqual(['warn:shared', 'warn:home']);

    const manifest = await readJson(`prod/files/${backupId}/manifest.json`);
    expect(manifest.volumes.map((v: any) => [v.pvc, v.copyMethod, v.volumeSnapshot])).toEqual([
      ['shared', 'direct', undefined],
      ['home', 'direct', undefined],
    ]);
    // The live claims are the application's: never deleted, nothing of the movers left.
    expect(cluster.get('v1', 'PersistentVolumeClaim', 'files', 'home')).toBeDefined();
    expect(cluster.get('v1', 'PersistentVolumeClaim', 'files', 'shared')).toBeDefined();
    expect(writes().filter((q) => q.verb === 'delete' && q.path.includes('persistentvolumeclaims'))).toEqual(
      [],
    );
    expect(cluster.list('batch/v1', 'Job', 'files')).toEqual([]);
    for (const job of jobs) expect(JSON.stringify(job)).not.toContain(PASSWORD);
    expect(r.text).not.toContain(PASSWORD);

    const described = await runNsbackup(describeCommand, readEnv(), [backupId]);
    expect(described.code, described.text).toBe(0);
    expect(described.out).toMatch(/^ {2}PVC shared .* direct: live claim, not point-in-time$/m);
    expect(described.out).toMatch(/^ {2}PVC home .* direct: live claim, not point-in-time$/m);
  });

  it('a ReadWriteOncePod claim in use, a missing claim: each fails naming the PVC, before any Job; the others are stored', async () => {
    cluster.clearRequests();
    jobsSeen = [];
    const r = await runNsbackup(
      backupCommand,
      directEnv({ NSBACKUP_PVC_DATA_DIRECT: 'locked,ghost,shared' }),
    );
    expect(r.code).toBe(1);
    expect(r.summary!.error).toMatch(
      /volume data of PVC locked not stored: PVC locked is ReadWriteOncePod and pod db-0 uses it: a second mount is refused/,
    );
    expect(r.summary!.error).toMatch(/volume data of PVC ghost not stored: PVC ghost does not exist/);
    expect(moverJobsOf('files').map((j) => j.metadata.labels['nsbackup.io/pvc'])).toEqual(['shared']);
    const outcome = await readJson(`prod/files/${r.summary!.backupId}/outcome.json`);
    expect(outcome.outcome).toBe('failed');
    expect(outcome.volumes.map((v: any) => v.pvc)).toEqual(['shared']);
  });

  it('dry run: names the live claims and that their copy is not point-in-time', async () => {
    const r = await runNsbackup(backupCommand, directEnv({ NSBACKUP_DRY_RUN: 'true' }));
    expect(r.code, r.text).toBe(0);
    expect(r.out).toMatch(
      /volume data: PVC home, from the live claim mounted read-only \(not point-in-time\)/,
    );
  });

  it('bad settings: a PVC in both lists, a name that is no PVC name, a missing Secret: exit 2, nothing written', async () => {
    cluster.clearRequests();
    const r = await runNsbackup(
      backupCommand,
      directEnv({ NSBACKUP_PVC: 'db', NSBACKUP_PVC_DATA: 'db', NSBACKUP_PVC_DATA_DIRECT: 'db,shared' }),
    );
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/PVC db is in both NSBACKUP_PVC_DATA .* and NSBACKUP_PVC_DATA_DIRECT/);
    const bad = await runNsbackup(
      backupCommand,
      directEnv({ NSBACKUP_PVC_DATA_DIRECT: 'shared,Not_A_Claim' }),
    );
    expect(bad.code).toBe(2);
    expect(bad.text).toMatch(/NSBACKUP_PVC_DATA_DIRECT.*Not_A_Claim/);
    const noSecret = await runNsbackup(backupCommand, directEnv({ NSBACKUP_RESTIC_SECRET: '' }));
    expect(noSecret.code).toBe(2);
    expect(noSecret.text).toMatch(/NSBACKUP_PVC_DATA_DIRECT needs NSBACKUP_RESTIC_SECRET/);
    expect(writes()).toEqual([]);
  });

  it('verify finds the direct copies by their tags; restore-pvc --from s3 brings the files back', async () => {
    const verified = await runNsbackup(verifyCommand, { ...readEnv(), NSBACKUP_VERIFY_DATA_SUBSET: '1/5' }, [
      backupId,
    ]);
    expect(verified.code, verified.text).toBe(0);
    expect(verified.out).toMatch(/^ok {6}PVC shared: restic snapshot [0-9a-f]{8} with this backup's tags$/m);
    expect(verified.out).toMatch(/^ok {6}PVC home: restic snapshot [0-9a-f]{8} with this backup's tags$/m);

    seedNamespace('files-copy');
    const r = await runNsbackup(restorePvcCommand, readEnv(), [
      ...['--from', 's3', '--pvc', 'shared', '--source-namespace', 'files', '--backup', backupId],
      ...['--as', 'shared', '-n', 'files-copy'],
    ]);
    expect(r.code, r.text).toBe(0);
    expect(describeTree(volumes.get('files-copy/shared')!)).toEqual(
      describeTree(volumes.get('files/shared')!),
    );
  });

  it('restore --pvcs-from-s3 fills the claims it creates from the direct copies', async () => {
    seedNamespace('files-restored');
    const reportPath = join(tmp, 'direct-restore-report.json');
    const r = await runNsbackup(restoreCommand, {
      ...readEnv(),
      NSBACKUP_RESTORE_BACKUP: backupId,
      NSBACKUP_NAMESPACE_MAPPING: 'files=files-restored',
      NSBACKUP_RESTORE_PVCS_FROM_S3: 'true',
      NSBACKUP_RESTORE_REPORT: reportPath,
    });
    expect(r.code, r.text).toBe(0);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report.volumes.map((v: any) => `${v.namespace}/${v.pvc}:${v.outcome}`)).toEqual([
      'files-restored/shared:restored',
      'files-restored/home:restored',
    ]);
    expect(readFileSync(join(volumes.get('files-restored/home')!, 'notes.txt'), 'utf8')).toBe(
      'written by app-0 on node-b\n',
    );
  });

  it("mark-and-delete: the backup's last snapshot takes its direct copies along (those PVCs and that backup only)", async () => {
    // A backup of both kinds: db from its snapshot, shared from the live claim.
    const r = await runNsbackup(
      backupCommand,
      directEnv({ NSBACKUP_PVC: 'db', NSBACKUP_PVC_DATA: 'db', NSBACKUP_PVC_DATA_DIRECT: 'shared' }),
    );
    expect(r.code, r.text).toBe(0);
    const mixed = r.summary!.backupId;
    const manifest = await readJson(`prod/files/${mixed}/manifest.json`);
    expect(manifest.volumes.map((v: any) => `${v.pvc}:${v.copyMethod}`)).toEqual([
      'db:snapshot',
      'shared:direct',
    ]);

    const repo = namespaceRepository('files');
    const before = await repo.allSnapshots();
    expect(
      before
        .filter((s) => s.backupId === mixed)
        .map((s) => s.pvc)
        .sort(),
    ).toEqual(['db', 'shared']);

    const vs = cluster.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'files')[0];
    // Due, with a newer good snapshot of db (the newest good one is never deleted), of another backup.
    expireBehindNewerGood(vs);
    const pruned = await runNsbackup(markAndDeleteCommand, {
      ...readEnv(),
      NSBACKUP_LOCK_DIR: join(tmp, 'locks'),
      NSBACKUP_DELETE_PAUSE: '0s',
    });
    expect(pruned.code, pruned.text).toBe(0);
    expect(pruned.summary, pruned.text).toMatchObject({ deleted: 1, resticForgotten: 2, resticPruned: 1 });
    const after = await repo.allSnapshots();
    expect(after.filter((s) => s.backupId === mixed)).toEqual([]);
    // The direct-only backup of the first test has no snapshot to expire; it is its namespace's newest S3-only
    // backup, which S3-only retention never deletes: its copies stay.
    expect(
      after
        .filter((s) => s.backupId === backupId)
        .map((s) => s.pvc)
        .sort(),
    ).toEqual(['home', 'shared']);
    expect(after).toHaveLength(before.length - 2);
  });

  it('mark-and-delete: an S3-only backup its policy drops goes with its restic copies (forgotten first); the newest keeps its own', async () => {
    // A direct-only backup 30 days ago (its clock runs from there), kept 1 day: long due. Scheduled, so no ad-hoc floor.
    const offset = -30 * 86_400_000;
    const old = await runNsbackup(
      createBackupCommand({ now: () => new Date(Date.now() + offset) }),
      directEnv({ NSBACKUP_RETAIN: 'days', NSBACKUP_RETAIN_DAYS: '1', NSBACKUP_TYPE: 'scheduled' }),
    );
    expect(old.code, old.text).toBe(0);
    const oldId = old.summary!.backupId;
    const recorded = await readJson(`prod/files/${oldId}/outcome.json`);
    expect(recorded).toMatchObject({ snapshots: [], type: 'scheduled', retain: { policy: 'days', days: 1 } });
    expect(recorded.volumes.map((v: any) => v.pvc)).toEqual(['shared', 'home']);

    const repo = namespaceRepository('files');
    const before = await repo.allSnapshots();
    expect(
      before
        .filter((s) => s.backupId === oldId)
        .map((s) => s.pvc)
        .sort(),
    ).toEqual(['home', 'shared']);

    const pruned = await runNsbackup(markAndDeleteCommand, {
      ...readEnv(),
      NSBACKUP_LOCK_DIR: join(tmp, 'locks'),
      NSBACKUP_DELETE_PAUSE: '0s',
    });
    expect(pruned.code, pruned.text).toBe(0);
    expect(pruned.summary, pruned.text).toMatchObject({
      s3OnlyDeleted: 1,
      resticForgotten: 2,
      resticPruned: 1,
    });
    const after = await repo.allSnapshots();
    expect(after.filter((s) => s.backupId === oldId)).toEqual([]);
    // The first direct-only backup, the newest S3-only one, keeps its copies and its folder.
    expect(
      after
        .filter((s) => s.backupId === backupId)
        .map((s) => s.pvc)
        .sort(),
    ).toEqual(['home', 'shared']);
    expect(after).toHaveLength(before.length - 2);
    const store = s3.store();
    const left = async (id: string) => {
      let n = 0;
      for await (const _ of store.list(store.key('prod', 'files', id) + '/')) n++;
      return n;
    };
    expect(await left(oldId)).toBe(0);
    expect(await left(backupId)).toBeGreaterThan(0);
  });
});
