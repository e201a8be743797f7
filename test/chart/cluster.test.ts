// The chart wires the program: its rendered objects are created in the emulator with real `kubectl create -f`, a
// Job is made from the rendered CronJob with real `kubectl create job --from=cronjob/...`, and each entrypoint then
// runs locally (through the front door's command registry) with exactly that Job's arguments and environment —
// Secrets and the downward API resolved as the kubelet would — against the emulator and a local S3.

import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { commands } from '../../scripts/commands.js';
import { localProcessHandler, startCluster, type Cluster } from '../cluster/index.js';
import {
  startPostgres,
  type LocalPostgres,
  CHART_DIR,
  helmTemplate,
  type RenderedObject,
  startS3,
  TEST_S3_CREDENTIALS,
  type LocalS3,
} from '../kit/index.js';
import { localContainer, podForJob, type LocalContainer } from './job-env.js';
import { allowedBy, requestAttributes, valuesFile, type RequestAttributes } from './rendered.js';

const KUBECTL = '/usr/bin/kubectl';
const NS = 'shop';
const SNAP = 'snapshot.storage.k8s.io/v1';

let cluster: Cluster;
let s3: LocalS3;
let dir: string;
let rendered: RenderedObject[];

/** A kubeconfig for the emulator whose context namespace is the pod's, as its service account would have. */
function kubeconfigFor(namespace: string): string {
  const kubeconfig = structuredClone(cluster.kubeconfig);
  for (const c of kubeconfig.contexts) c.context.namespace = namespace;
  const file = join(dir, `in-pod-kubeconfig-${namespace}`);
  writeFileSync(file, YAML.stringify(kubeconfig));
  return file;
}

function kubectl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      KUBECTL,
      ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', join(dir, 'kube-cache'), ...args],
      { env: { PATH: process.env.PATH, HOME: dir }, timeout: 30_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

/** A fault-rule path that matches exactly the requests of one verb that the given Roles do not allow. */
class ForbiddenBy extends RegExp {
  constructor(
    private readonly verb: string,
    private readonly roles: RenderedObject[],
  ) {
    super('');
  }

  override test(path: string): boolean {
    const attrs = requestAttributes(this.verb, path);
    return attrs !== undefined && !allowedBy(attrs, this.roles);
  }
}

/**
 * Runs a container the way the image does: the front door picks the command named by the first argument. Every
 * API request it makes must be allowed by the rendered Roles of its component (the emulator does not enforce
 * RBAC; this does), so a Role missing a verb fails here instead of in a cluster at night.
 */
async function runLocally(
  c: LocalContainer,
  component: string,
  objects: RenderedObject[] = rendered,
  /** Forbidden requests the command is built to survive (skips with a warning), as `verb resource`. */
  tolerated: (attrs: RequestAttributes) => boolean = () => false,
): Promise<{ code: number; logs: string[] }> {
  const [name, ...argv] = c.args;
  const entry = commands[name];
  if (!entry) throw new Error(`the front door has no command "${name}"`);
  const logs: string[] = [];
  // The in-cluster service account is the one thing a local run cannot have: a kubeconfig whose context namespace
  // is the pod's (as the service account's namespace file would say) stands in.
  const env = {
    ...c.env,
    NSBACKUP_KUBECONFIG: kubeconfigFor(c.env.NSBACKUP_NAMESPACE ?? NS),
    PATH: process.env.PATH,
  };
  const roles = objects.filter(
    (o) =>
      (o.kind === 'Role' || o.kind === 'ClusterRole') &&
      o.metadata.labels?.['app.kubernetes.io/component'] === component,
  );
  // The emulator does not authorise; during the run it answers 403 to whatever the Roles do not allow.
  for (const verb of [
    'get',
    'list',
    'watch',
    'create',
    'update',
    'patch',
    'delete',
    'deletecollection',
    'exec',
  ])
    cluster.faults.add({ verb, path: new ForbiddenBy(verb, roles), status: 403 });
  cluster.clearRequests();
  let code: number;
  try {
    code = await runCommand(await entry.load(), { argv, env, write: (l) => logs.push(l), out: () => {} });
  } finally {
    cluster.faults.clear();
  }
  const denied = cluster.requests
    .map((r) => ({ r, attrs: requestAttributes(r.verb, r.path) }))
    .filter(({ attrs }) => attrs && !allowedBy(attrs, roles) && !tolerated(attrs))
    .map(({ r }) => `${r.verb} ${r.path}`);
  expect(denied, `${name} would be forbidden`).toEqual([]);
  expect(cluster.requests.length).toBeGreaterThan(0);
  for (const { verb, path } of cluster.requests) {
    const attrs = requestAttributes(verb, path);
    if (!attrs || !allowedBy(attrs, roles)) continue;
    const sent = used.get(component) ?? new Set<string>();
    for (const v of verb === 'exec' ? ['get', 'create'] : [verb])
      sent.add(`${attrs.group}|${attrs.resource}|${v}`);
    used.set(component, sent);
  }
  return { code, logs };
}

/** Per component, `group|resource|verb` of every allowed request its runs sent (for the exactness check). */
const used = new Map<string, Set<string>>();

/** A Job as kubectl made it, its pod seeded as the Job controller would, and the container as the kubelet runs it. */
async function jobContainer(jobName: string, containerName: string, ns = NS): Promise<LocalContainer> {
  const job = cluster.get('batch/v1', 'Job', ns, jobName);
  expect(job, `Job ${jobName}`).toBeDefined();
  const podName = `${jobName}-x7k2p`;
  if (!cluster.get('v1', 'Pod', ns, podName)) cluster.seed(podForJob(job, podName));
  const pod = cluster.get('v1', 'Pod', ns, podName);
  return localContainer(cluster, pod, containerName, join(dir, 'mounts', jobName));
}

const snapshots = () => cluster.list(SNAP, 'VolumeSnapshot', NS);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nsbackup-chart-'));
  [cluster, s3] = await Promise.all([startCluster(), startS3()]);
  rendered = helmTemplate({
    namespace: NS,
    release: NS,
    valuesFiles: [valuesFile('none')],
    set: { 'lock.enabled': 'true', 's3.endpoint': s3.endpoint, 's3.region': 'us-east-1' },
  });
  cluster.seed(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: NS },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Bound', capacity: { storage: '1Gi' } },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3-credentials', namespace: NS },
      data: {
        AWS_ACCESS_KEY_ID: Buffer.from(TEST_S3_CREDENTIALS.accessKeyId).toString('base64'),
        AWS_SECRET_ACCESS_KEY: Buffer.from(TEST_S3_CREDENTIALS.secretAccessKey).toString('base64'),
      },
    },
  );
  const file = join(dir, 'chart.yaml');
  writeFileSync(file, rendered.map((o) => YAML.stringify(o)).join('---\n'));
  await kubectl('create', '-f', file);
});

afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the rendered chart on a cluster', () => {
  it('kubectl create -f accepts every rendered object', () => {
    expect(rendered.length).toBeGreaterThan(5);
    for (const o of rendered) {
      const got = cluster.get(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name);
      expect(got, `${o.kind}/${o.metadata.name}`).toBeDefined();
    }
  });

  it('an ad-hoc backup Job from kubectl create job --from=cronjob runs the backup, labelled adhoc', async () => {
    await kubectl('create', 'job', 'shop-adhoc-1', '--from=cronjob/shop-backup', '-n', NS);
    const job = cluster.get('batch/v1', 'Job', NS, 'shop-adhoc-1');
    expect(job.metadata.annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(job.metadata.labels['app.kubernetes.io/name']).toBe('nsbackup');

    const c = await jobContainer('shop-adhoc-1', 'backup');
    expect(c.args).toEqual(['backup']);
    // The environment the kubelet would build: downward API and Secret references resolved.
    expect(c.env).toMatchObject({
      NSBACKUP_POD_NAME: 'shop-adhoc-1-x7k2p',
      NSBACKUP_NAMESPACE: NS,
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
      NSBACKUP_S3_BUCKET: s3.bucket,
      NSBACKUP_S3_ENDPOINT: s3.endpoint,
    });
    expect(c.env.NSBACKUP_LOCK_DIR.startsWith(dir)).toBe(true); // the hostPath mount, mapped to a local folder

    const { code, logs } = await runLocally(c, 'backup');
    expect(code, logs.join('\n')).toBe(0);
    const made = snapshots();
    expect(made).toHaveLength(1);
    expect(made[0].metadata.labels).toMatchObject({
      'nsbackup.io/pvc': 'data',
      'nsbackup.io/type': 'adhoc',
      'nsbackup.io/retain': 'gfs',
    });
    // The chart's ad-hoc floor: kept 30 days whatever the period labels (the Job's TZ is UTC).
    expect(c.env.NSBACKUP_ADHOC_KEEP_DAYS).toBe('30');
    const in30Days = new Date(Date.parse(made[0].metadata.creationTimestamp) + 30 * 86_400_000);
    expect(made[0].metadata.labels['nsbackup.io/keep-until']).toBe(in30Days.toISOString().slice(0, 10));
    expect(made[0].spec.source).toEqual({ persistentVolumeClaimName: 'data' });
    expect(made[0].status.readyToUse).toBe(true);
  });

  it("a Job the CronJob controller starts (no manual annotation) makes a 'scheduled' backup", async () => {
    const cronJob = cluster.get('batch/v1', 'CronJob', NS, 'shop-backup');
    const template = cronJob.spec.jobTemplate;
    // What the CronJob controller posts: the job template, owned by the CronJob, without the manual annotation.
    writeFileSync(
      join(dir, 'scheduled-job.yaml'),
      YAML.stringify({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: 'shop-backup-29000000',
          namespace: NS,
          labels: template.metadata.labels,
          annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': new Date().toISOString() },
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'CronJob',
              name: 'shop-backup',
              uid: cronJob.metadata.uid,
              controller: true,
            },
          ],
        },
        spec: template.spec,
      }),
    );
    await kubectl('create', '-f', join(dir, 'scheduled-job.yaml'));
    const { code, logs } = await runLocally(await jobContainer('shop-backup-29000000', 'backup'), 'backup');
    expect(code, logs.join('\n')).toBe(0);
    const types = snapshots().map((s) => s.metadata.labels['nsbackup.io/type']);
    expect(types.sort()).toEqual(['adhoc', 'scheduled']);
  });

  it('the prune Job runs retain, then mark-and-delete, with the chart settings and the S3 Secret', async () => {
    // History: today's daily snapshot (so this test does not lean on the backups of the tests before it), two
    // older daily snapshots of the PVC, and one expired yesterday whose backup has S3 objects.
    const day = (n: number) => new Date(Date.now() - n * 86_400_000);
    const date = (d: Date) => d.toISOString().slice(0, 10);
    const old = (name: string, ageDays: number, labels: Record<string, string>) => ({
      apiVersion: SNAP,
      kind: 'VolumeSnapshot',
      metadata: {
        name,
        namespace: NS,
        creationTimestamp: day(ageDays).toISOString(),
        labels: {
          'nsbackup.io/pvc': 'data',
          'nsbackup.io/retain': 'gfs',
          'nsbackup.io/type': 'scheduled',
          'nsbackup.io/backup': `b-${name}`,
          ...labels,
        },
      },
      spec: { source: { persistentVolumeClaimName: 'data' } },
      status: {
        boundVolumeSnapshotContentName: `snapcontent-${name}`,
        readyToUse: true,
        creationTime: day(ageDays).toISOString(),
      },
    });
    // Each bound to its content, as the snapshot controller leaves them; Retain, as many classes set it.
    const content = (name: string) => ({
      apiVersion: SNAP,
      kind: 'VolumeSnapshotContent',
      metadata: { name: `snapcontent-${name}` },
      spec: {
        deletionPolicy: 'Retain',
        driver: 'hostpath.csi.k8s.io',
        source: { volumeHandle: `vol-${name}` },
        volumeSnapshotRef: { apiVersion: SNAP, kind: 'VolumeSnapshot', name, namespace: NS },
      },
      status: { readyToUse: true, snapshotHandle: `snap-${name}` },
    });
    cluster.seed(
      old('data-today', 0, { 'nsbackup.io/daily': date(day(0)) }),
      old('data-old-3', 3, { 'nsbackup.io/daily': date(day(3)) }),
      old('data-old-2', 2, { 'nsbackup.io/daily': date(day(2)) }),
      old('data-expired', 10, { 'nsbackup.io/delete-after': date(day(2)) }),
      ...['data-today', 'data-old-3', 'data-old-2', 'data-expired'].map(content),
    );
    const store = s3.store();
    // The S3 layout <prefix>/<cluster>/<namespace>/<backup id>/, with export.clusterName from the values.
    await store.upload(store.key('kind-test', NS, 'b-data-expired', 'dump.sql.gz'), Buffer.from('old dump'));

    await kubectl('create', 'job', 'shop-prune-1', '--from=cronjob/shop-prune', '-n', NS);
    const retain = await jobContainer('shop-prune-1', 'retain');
    const sweep = await jobContainer('shop-prune-1', 'mark-and-delete');
    expect(retain.args).toEqual(['retain']);
    expect(sweep.args).toEqual(['mark-and-delete']);
    expect(retain.env.NSBACKUP_KEEP_DAILY).toBe('1');
    expect(sweep.env.AWS_SECRET_ACCESS_KEY).toBe(TEST_S3_CREDENTIALS.secretAccessKey);

    const first = await runLocally(retain, 'prune');
    expect(first.code, first.logs.join('\n')).toBe(0);
    // keep.daily=1: only the newest daily label survives (today's backups), the older ones lose theirs.
    const daily = snapshots()
      .filter((s) => s.metadata.labels['nsbackup.io/daily'])
      .map((s) => s.metadata.name);
    expect(daily).not.toContain('data-old-3');
    expect(daily).not.toContain('data-old-2');

    const second = await runLocally(sweep, 'prune');
    expect(second.code, second.logs.join('\n')).toBe(0);
    const left = snapshots().map((s) => s.metadata.name);
    expect(left).not.toContain('data-expired');
    // Its content was switched to Delete first (the ClusterRole's patch), so the storage goes with it.
    const expiredContent = cluster.get(SNAP, 'VolumeSnapshotContent', undefined, 'snapcontent-data-expired');
    expect(expiredContent?.spec.deletionPolicy ?? 'deleted').toMatch(/^(Delete|deleted)$/);
    expect(
      cluster.get(SNAP, 'VolumeSnapshotContent', undefined, 'snapcontent-data-old-2')?.spec.deletionPolicy,
    ).toBe('Retain');
    expect(await store.exists(store.key('kind-test', NS, 'b-data-expired', 'dump.sql.gz'))).toBe(false);
    // The snapshots that lost their labels are now marked for deletion after the grace day.
    const marked = snapshots().filter((s) => s.metadata.name.startsWith('data-old-'));
    for (const s of marked)
      expect(s.metadata.labels['nsbackup.io/delete-after']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('a PostgreSQL namespace installed with the postgres values', () => {
  const PG_NS = 'pgshop';
  let pg: LocalPostgres;
  let objects: RenderedObject[];
  let dumpDir: string;
  let notifier: Server;
  const notified: string[] = [];
  const notifiedAuth: (string | undefined)[] = [];
  const PING_TOKEN = 'ping-t0ken-in-query';
  const PING_PASSWORD = 'ping-pa55';

  beforeAll(async () => {
    pg = await startPostgres({ user: 'backup' });
    await pg.psql('CREATE DATABASE shop');
    await pg.psql('CREATE DATABASE audit');
    await pg.psql('CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 100);', 'shop');
    notifier = createServer((req, res) => {
      notified.push(req.url ?? '');
      notifiedAuth.push(req.headers.authorization);
      res.end('ok');
    });
    await new Promise<void>((r) => notifier.listen(0, '127.0.0.1', r));
    const notifyBase = `http://127.0.0.1:${(notifier.address() as AddressInfo).port}`;
    dumpDir = join(dir, 'pg-dumps');
    mkdirSync(dumpDir, { recursive: true });
    chmodSync(dumpDir, 0o777);
    objects = helmTemplate({
      namespace: PG_NS,
      release: PG_NS,
      valuesFiles: [valuesFile('postgres')],
      set: {
        's3.endpoint': s3.endpoint,
        's3.region': 'us-east-1',
        'database.dumpDir': dumpDir,
        // The ping URLs hold a token and a password: from a Secret, not in the CronJob.
        'backup.notify.url': '',
        'backup.notify.failureUrl': '',
        'backup.notify.secret.name': 'pings',
      },
    });
    const pingUrl = `http://ping:${PING_PASSWORD}@${notifyBase.slice('http://'.length)}/ok?token=${PING_TOKEN}`;
    const dbPod = 'db-6d4b7c9f8-q2w3e';
    cluster.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PG_NS } },
      ...['data', 'wal'].map((name) => ({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: PG_NS },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        status: { phase: 'Bound', capacity: { storage: '1Gi' } },
      })),
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: { name: 'csi-snapclass' },
        driver: 'hostpath.csi.k8s.io',
        deletionPolicy: 'Delete',
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'pings', namespace: PG_NS },
        // No failureUrl key: that URL stays unset (the reference is optional).
        data: { url: Buffer.from(pingUrl).toString('base64') },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db-credentials', namespace: PG_NS },
        data: { password: Buffer.from(pg.password).toString('base64') },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's3-credentials', namespace: PG_NS },
        data: {
          'access-key': Buffer.from(TEST_S3_CREDENTIALS.accessKeyId).toString('base64'),
          'secret-key': Buffer.from(TEST_S3_CREDENTIALS.secretAccessKey).toString('base64'),
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'db', namespace: PG_NS },
        spec: {
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: { containers: [{ name: 'postgres', image: 'postgres:15' }] },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: dbPod, namespace: PG_NS, labels: { app: 'db' } },
        spec: { containers: [{ name: 'postgres', image: 'postgres:15' }] },
      },
    );
    // The database container: its own client tools and its server on the local address, no credentials.
    cluster.exec.register(
      PG_NS,
      dbPod,
      'postgres',
      localProcessHandler({ env: { PATH: pg.env.PATH, PGHOST: pg.env.PGHOST, PGPORT: pg.env.PGPORT } }),
    );
    const file = join(dir, 'pg-chart.yaml');
    writeFileSync(file, objects.map((o) => YAML.stringify(o)).join('---\n'));
    await kubectl('create', '-f', file);
  }, 90_000);

  afterAll(async () => {
    await pg?.stop();
    await new Promise((r) => notifier?.close(r));
  });

  it('an ad-hoc Job dumps both databases over exec with the Secret password, then snapshots both PVCs', async () => {
    await kubectl('create', 'job', 'pgshop-adhoc-1', '--from=cronjob/pgshop-backup', '-n', PG_NS);
    const c = await jobContainer('pgshop-adhoc-1', 'backup', PG_NS);
    expect(c.env.NSBACKUP_DB_PASSWORD).toBe(pg.password);
    expect(c.env.NSBACKUP_HOOKS_FILE.startsWith(dir)).toBe(true); // the hooks ConfigMap, mounted

    const { code, logs } = await runLocally(c, 'backup', objects);
    expect(code, logs.join('\n')).toBe(0);

    const made = cluster.list(SNAP, 'VolumeSnapshot', PG_NS);
    expect(made.map((s) => s.metadata.labels['nsbackup.io/pvc']).sort()).toEqual(['data', 'wal']);
    for (const s of made) {
      expect(s.metadata.labels['nsbackup.io/type']).toBe('adhoc');
      expect(s.spec.volumeSnapshotClassName).toBe('csi-snapclass');
      expect(s.status.readyToUse).toBe(true);
    }
    const dumps = readdirSync(dumpDir);
    expect(dumps.some((f) => f.includes('shop'))).toBe(true);
    expect(dumps.some((f) => f.includes('audit'))).toBe(true);
    // The password reached the container over stdin only; the hook ran in the database container.
    const execs = cluster.requests.filter((r) => r.verb === 'exec').map((r) => decodeURIComponent(r.query));
    expect(execs.length).toBeGreaterThan(2);
    for (const q of execs) expect(q).not.toContain(pg.password);
    expect(execs.some((q) => /command=sync(&|$)/.test(q))).toBe(true);
    expect(notified).toEqual([`/ok?token=${PING_TOKEN}`]);
    expect(notifiedAuth).toEqual([`Basic ${Buffer.from(`ping:${PING_PASSWORD}`).toString('base64')}`]);
    expect(c.env.NSBACKUP_NOTIFY_FAILURE_URL).toBeUndefined();
    const cronJob = JSON.stringify(
      objects.find((o) => o.kind === 'CronJob' && o.metadata.name === 'pgshop-backup'),
    );
    expect(cronJob).not.toContain(PING_TOKEN);
    for (const secret of [PING_TOKEN, PING_PASSWORD]) expect(logs.join('\n')).not.toContain(secret);
  });
});

describe('the cluster-wide pruner', () => {
  const SYSTEM_NS = 'nsbackup-system';
  let objects: RenderedObject[];

  beforeAll(async () => {
    objects = helmTemplate({
      namespace: SYSTEM_NS,
      release: 'pruner',
      valuesFiles: [valuesFile('cluster-pruner')],
      set: { 's3.endpoint': s3.endpoint, 's3.region': 'us-east-1' },
    });
    cluster.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NS } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's3-credentials', namespace: SYSTEM_NS },
        data: {
          AWS_ACCESS_KEY_ID: Buffer.from(TEST_S3_CREDENTIALS.accessKeyId).toString('base64'),
          AWS_SECRET_ACCESS_KEY: Buffer.from(TEST_S3_CREDENTIALS.secretAccessKey).toString('base64'),
        },
      },
    );
    const file = join(dir, 'pruner.yaml');
    writeFileSync(file, objects.map((o) => YAML.stringify(o)).join('---\n'));
    await kubectl('create', '-f', file);
  });

  it('retain and mark-and-delete work on every namespace, within the ClusterRole', async () => {
    // An expired snapshot in each of two namespaces, bound to a content with deletionPolicy Retain.
    // Past in every time zone: the pruner's values set America/New_York, whose today lags UTC's for hours.
    const expiredOn = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
    const expired = (ns: string, name: string) => [
      {
        apiVersion: SNAP,
        kind: 'VolumeSnapshot',
        metadata: {
          name,
          namespace: ns,
          creationTimestamp: new Date(Date.now() - 30 * 86_400_000).toISOString(),
          labels: {
            'nsbackup.io/pvc': 'data',
            'nsbackup.io/retain': 'days',
            'nsbackup.io/delete-after': expiredOn,
          },
        },
        spec: { source: { persistentVolumeClaimName: 'data' } },
        status: { boundVolumeSnapshotContentName: `snapcontent-${ns}-${name}`, readyToUse: true },
      },
      {
        apiVersion: SNAP,
        kind: 'VolumeSnapshotContent',
        metadata: { name: `snapcontent-${ns}-${name}` },
        spec: {
          deletionPolicy: 'Retain',
          driver: 'hostpath.csi.k8s.io',
          source: { volumeHandle: `vol-${ns}-${name}` },
          volumeSnapshotRef: { apiVersion: SNAP, kind: 'VolumeSnapshot', name, namespace: ns },
        },
        status: { readyToUse: true },
      },
    ];
    // Newer ones per PVC, so the expired one is not the newest (which is never deleted).
    const newer = (ns: string, i: number) => ({
      apiVersion: SNAP,
      kind: 'VolumeSnapshot',
      metadata: {
        name: `data-new-${i}`,
        namespace: ns,
        creationTimestamp: new Date(Date.now() - i * 3_600_000).toISOString(),
        labels: { 'nsbackup.io/pvc': 'data', 'nsbackup.io/retain': 'days' },
      },
      spec: { source: { persistentVolumeClaimName: 'data' } },
      status: { boundVolumeSnapshotContentName: `snapcontent-${ns}-data-new-${i}`, readyToUse: true },
    });
    cluster.seed(
      ...expired('team-a', 'data-old'),
      ...expired('team-b', 'data-old'),
      newer('team-a', 1),
      newer('team-b', 1),
    );

    await kubectl('create', 'job', 'pruner-now', '--from=cronjob/pruner-prune', '-n', SYSTEM_NS);
    const retain = await jobContainer('pruner-now', 'retain', SYSTEM_NS);
    const sweep = await jobContainer('pruner-now', 'mark-and-delete', SYSTEM_NS);
    for (const c of [retain, sweep]) {
      expect(c.env.NSBACKUP_ALL_NAMESPACES).toBe('true');
      expect(c.env.NSBACKUP_NAMESPACE).toBeUndefined();
    }
    const retained = await runLocally(retain, 'prune', objects);
    expect(retained.code, retained.logs.join('\n')).toBe(0);

    // prune.maxDeleteShare=0.3 from the values: deleting 1 of a PVC's 2 snapshots is refused, nothing goes.
    const refused = await runLocally(sweep, 'prune', objects);
    expect(refused.code, refused.logs.join('\n')).toBe(1);
    expect(refused.logs.join('\n')).toContain('more than 30%');
    expect(cluster.get(SNAP, 'VolumeSnapshot', 'team-a', 'data-old')).toBeDefined();

    // With 4 snapshots per PVC the share is 25%: both expired snapshots go, the newer ones stay.
    cluster.seed(...['team-a', 'team-b'].flatMap((ns) => [newer(ns, 2), newer(ns, 3)]));
    const swept = await runLocally(sweep, 'prune', objects);
    expect(swept.code, swept.logs.join('\n')).toBe(0);
    for (const ns of ['team-a', 'team-b']) {
      expect(cluster.get(SNAP, 'VolumeSnapshot', ns, 'data-old'), ns).toBeUndefined();
      expect(
        cluster
          .list(SNAP, 'VolumeSnapshot', ns)
          .map((v) => v.metadata.name)
          .sort(),
      ).toEqual(['data-new-1', 'data-new-2', 'data-new-3']);
    }
  });
});

describe('export to S3 with every backup, and a restore Job from the template', () => {
  const WEB = 'web';
  let objects: RenderedObject[];

  beforeAll(async () => {
    objects = helmTemplate({
      namespace: WEB,
      release: WEB,
      valuesFiles: [valuesFile('none')],
      set: {
        's3.endpoint': s3.endpoint,
        's3.region': 'us-east-1',
        'export.enabled': 'true',
        'restore.enabled': 'true',
        'restore.args': '{restore,--backup,latest}',
      },
    });
    cluster.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: WEB } },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: WEB },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        status: { phase: 'Bound', capacity: { storage: '1Gi' } },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's3-credentials', namespace: WEB },
        data: {
          AWS_ACCESS_KEY_ID: Buffer.from(TEST_S3_CREDENTIALS.accessKeyId).toString('base64'),
          AWS_SECRET_ACCESS_KEY: Buffer.from(TEST_S3_CREDENTIALS.secretAccessKey).toString('base64'),
        },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: WEB },
        data: { mode: 'fast' },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'api', namespace: WEB },
        spec: { selector: { app: 'api' }, ports: [{ port: 80 }] },
      },
    );
    const file = join(dir, 'web-chart.yaml');
    writeFileSync(file, objects.map((o) => YAML.stringify(o)).join('---\n'));
    await kubectl('create', '-f', file);
  });

  it('the backup exports the kinds its Role may read; a restore Job brings a deleted ConfigMap back', async () => {
    await kubectl('create', 'job', 'web-adhoc-1', '--from=cronjob/web-backup', '-n', WEB);
    const backup = await jobContainer('web-adhoc-1', 'backup', WEB);
    expect(backup.env.NSBACKUP_EXPORT).toBe('true');
    expect(backup.env.NSBACKUP_EXPORT_SECRETS).toBe('auto');
    // Secrets stay out (auto, and no encryption key: the program leaves them out, the Role cannot read them); every
    // other kind is granted:
    // no request the Role refuses, and a refused list would fail the backup.
    const { code, logs } = await runLocally(backup, 'backup', objects);
    expect(code, logs.join('\n')).toBe(0);
    const keys: string[] = [];
    for await (const o of s3.store().list(`nsbackup/kind-test/${WEB}/`)) keys.push(o.key);
    expect(keys.some((k) => k.endsWith('manifest.json'))).toBe(true);

    await kubectl('delete', 'configmap', 'settings', '-n', WEB);
    expect(cluster.get('v1', 'ConfigMap', WEB, 'settings')).toBeUndefined();

    await kubectl('create', 'job', 'web-restore-1', '--from=cronjob/web-restore', '-n', WEB);
    const restore = await jobContainer('web-restore-1', 'restore', WEB);
    expect(restore.args).toEqual(['restore', '--backup', 'latest']);
    // The Job's namespaced Role may read its own Namespace but not create one: the restore must look, not POST.
    const restored = await runLocally(restore, 'restore', objects);
    expect(restored.code, restored.logs.join('\n')).toBe(0);
    const back = cluster.get('v1', 'ConfigMap', WEB, 'settings');
    expect(back?.data).toEqual({ mode: 'fast' });
    expect(back?.metadata.labels?.['nsbackup.io/restored-from']).toBeTruthy();
  });

  it('with existing: update the restore Role may replace a changed object, and the restore does', async () => {
    const withUpdate = helmTemplate({
      namespace: WEB,
      release: WEB,
      valuesFiles: [valuesFile('none')],
      set: {
        's3.endpoint': s3.endpoint,
        's3.region': 'us-east-1',
        'export.enabled': 'true',
        'restore.enabled': 'true',
        'restore.args': '{restore,--backup,latest}',
        'restore.preferences.existing': 'update',
      },
    });
    // helm upgrade, as far as the restore is concerned: its Role and preferences.
    const changed = withUpdate.filter(
      (o) =>
        (o.kind === 'Role' && o.metadata.name === 'web-restore') ||
        (o.kind === 'ConfigMap' && o.metadata.name === 'web-restore-preferences'),
    );
    expect(changed).toHaveLength(2);
    const file = join(dir, 'web-restore-update.yaml');
    writeFileSync(file, changed.map((o) => YAML.stringify(o)).join('---\n'));
    await kubectl('replace', '-f', file);
    await kubectl(
      'patch',
      'configmap',
      'settings',
      '-n',
      WEB,
      '--type=merge',
      '-p',
      '{"data":{"mode":"slow"}}',
    );

    await kubectl('create', 'job', 'web-restore-2', '--from=cronjob/web-restore', '-n', WEB);
    const restore = await jobContainer('web-restore-2', 'restore', WEB);
    const restored = await runLocally(restore, 'restore', withUpdate);
    expect(restored.code, restored.logs.join('\n')).toBe(0);
    expect(cluster.get('v1', 'ConfigMap', WEB, 'settings')?.data).toEqual({ mode: 'fast' });
  });

  it('every verb the backup and restore Roles grant was sent by a run above, or is named with what sends it', () => {
    // Grants these runs do not exercise, each with the path that does send it (and the test that shows it).
    const sentElsewhere: Record<string, string> = {
      'backup|snapshot.storage.k8s.io|volumesnapshots|delete':
        'a failed snapshot is deleted (test/backup/flow)',
      'restore|rbacResources|get':
        'a create refused with 403 or whose answer was lost is looked up (test/restore)',
      'restore|snapshot.storage.k8s.io|volumesnapshots|list': '--pvcs-from-snapshots (test/restore)',
      'restore||serviceaccounts|update':
        "the backup's imagePullSecrets merged into default (test/restore/merge)",
      'restore||pods|get': 'restore-db (test/realcluster/chart)',
      'restore||pods|list': 'restore-db (test/realcluster/chart)',
      'restore||pods/exec|get': 'restore-db (test/realcluster/chart)',
      'restore||pods/exec|create': 'restore-db (test/realcluster/chart)',
      'restore|apps|deployments|get': 'restore-db resolves deployment/NAME (test/realcluster/chart)',
      'restore|apps|statefulsets|get': 'restore-db resolves statefulset/NAME (test/realcluster/chart)',
      // Groups the emulator does not serve; the export lists them where the API server does.
      'backup|groupsnapshot.storage.k8s.io|volumegroupsnapshots|list':
        'a served group (test/realcluster/chart)',
      'backup|resource.k8s.io|resourceclaims|list': 'a served group (test/realcluster/chart)',
      'backup|resource.k8s.io|resourceclaimtemplates|list': 'a served group (test/realcluster/chart)',
    };
    // restore.rbacResources render as one rule per entry, all with the same verbs: a verb sent on any of those kinds
    // shows the verb is sent (which kinds get created depends only on what the backup holds).
    const rbacRules = new Set(
      (YAML.parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')).restore.rbacResources as any[]).map(
        (r) => JSON.stringify([r.apiGroups, r.resources]),
      ),
    );
    const isRbacRule = (component: string, rule: any) =>
      component === 'restore' &&
      !rule.resourceNames &&
      rule.verbs.includes('create') && // the snapshot list rule names volumesnapshots too
      rbacRules.has(JSON.stringify([rule.apiGroups, rule.resources]));
    const unused: string[] = [];
    for (const component of ['backup', 'restore']) {
      const sent = used.get(component) ?? new Set<string>();
      const rules = objects
        .filter((o) => o.kind === 'Role' && o.metadata.labels?.['app.kubernetes.io/component'] === component)
        .flatMap((r) => r.rules ?? []);
      const pairsOf = (rule: any): string[] =>
        (rule.apiGroups as string[]).flatMap((g) => (rule.resources as string[]).map((res) => `${g}|${res}`));
      const rbacSent = new Set(
        rules
          .filter((rule) => isRbacRule(component, rule))
          .flatMap(pairsOf)
          .flatMap((pair) => [...sent].filter((k) => k.startsWith(`${pair}|`)).map((k) => k.split('|')[2])),
      );
      for (const rule of rules) {
        for (const verb of rule.verbs as string[]) {
          const pairs = pairsOf(rule);
          if (isRbacRule(component, rule)) {
            if (!rbacSent.has(verb) && !sentElsewhere[`restore|rbacResources|${verb}`])
              unused.push(`restore|rbacResources|${verb}`);
            continue;
          }
          // One rule names many kinds the same way (the export's list): one of them sent is enough.
          if (pairs.some((pair) => sent.has(`${pair}|${verb}`))) continue;
          for (const key of pairs.map((pair) => `${component}|${pair}|${verb}`))
            if (!sentElsewhere[key]) unused.push(key);
        }
      }
    }
    expect(unused, 'granted, but no command sends it').toEqual([]);
  });
});

describe('lock.backend=lease: the backup Job takes its slot as a Lease, with only its lock Role', () => {
  const TENANT = 'tenant';
  const LOCKS = 'nsbackup-locks';
  let objects: RenderedObject[];

  beforeAll(async () => {
    objects = helmTemplate({
      namespace: TENANT,
      release: TENANT,
      valuesFiles: [valuesFile('none')],
      set: {
        's3.endpoint': s3.endpoint,
        's3.region': 'us-east-1',
        'lock.enabled': 'true',
        'lock.backend': 'lease',
        'lock.namespace': LOCKS,
        'lock.slots': '1',
      },
    });
    cluster.seed(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TENANT } },
      // The shared lock namespace exists before the install (the chart puts its Role there, it makes none).
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LOCKS } },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: TENANT },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        status: { phase: 'Bound', capacity: { storage: '1Gi' } },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's3-credentials', namespace: TENANT },
        data: {
          AWS_ACCESS_KEY_ID: Buffer.from(TEST_S3_CREDENTIALS.accessKeyId).toString('base64'),
          AWS_SECRET_ACCESS_KEY: Buffer.from(TEST_S3_CREDENTIALS.secretAccessKey).toString('base64'),
        },
      },
    );
    const file = join(dir, 'tenant-chart.yaml');
    writeFileSync(file, objects.map((o) => YAML.stringify(o)).join('---\n'));
    await kubectl('create', '-f', file);
  });

  it('takes over the stale Lease of a killed run and deletes its own at the end: every lock verb sent, no other', async () => {
    await kubectl('create', 'job', 'tenant-adhoc-1', '--from=cronjob/tenant-backup', '-n', TENANT);
    const c = await jobContainer('tenant-adhoc-1', 'backup', TENANT);
    const node = c.env.NSBACKUP_NODE_NAME;
    expect(node).toBe(cluster.get('v1', 'Pod', TENANT, 'tenant-adhoc-1-x7k2p').spec.nodeName);
    expect(c.env.NSBACKUP_LOCK_DIR).toBeUndefined();
    // A run on this node was killed 10 minutes ago, holding the only slot.
    cluster.seed({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: `nsbackup-${node}-1`, namespace: LOCKS },
      spec: {
        holderIdentity: 'tenant-backup-29000000-abcde-0badf00d',
        leaseDurationSeconds: 60,
        renewTime: new Date(Date.now() - 600_000).toISOString().replace('Z', '000Z'),
      },
    });

    const { code, logs } = await runLocally(c, 'backup', objects);
    expect(code, logs.join('\n')).toBe(0);
    expect(logs.join('\n')).toContain('taken over from a holder that stopped renewing it');
    expect(cluster.list('coordination.k8s.io/v1', 'Lease', LOCKS)).toEqual([]);
    // The verbs the run sent on Leases are exactly those the lock Role grants (runLocally refused any other).
    const sent = new Set(
      cluster.requests
        .map((r) => requestAttributes(r.verb, r.path))
        .filter((a) => a?.resource === 'leases')
        .map((a) => `${a!.namespace}|${a!.verb}`),
    );
    const role = objects.find((o) => o.kind === 'Role' && o.metadata.namespace === LOCKS)!;
    expect([...sent].sort()).toEqual(role.rules[0].verbs.map((v: string) => `${LOCKS}|${v}`).sort());
  });
});
