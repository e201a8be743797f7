// The chart installed with `helm install` on a real control plane, its Jobs run by the real Job controller on the
// test node, nsbackup inside them running as the chart's ServiceAccount with a real token: every grant the
// commands need is in the chart's Roles, and nothing more (a per-namespace install cannot touch another namespace;
// verify.level=rehearsal's ClusterRole is enough to rehearse, and deletes no namespace but its own).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as backupCommand } from '../../scripts/backup.js';
import { command as diffCommand } from '../../scripts/diff.js';
import { command as listCommand } from '../../scripts/list.js';
import { command as restoreDbCommand } from '../../scripts/restore-db.js';
import { command as verifyCommand } from '../../scripts/verify.js';
import {
  CHART_DIR,
  helm,
  startPostgres,
  type LocalPostgres,
  startS3,
  TEST_S3_CREDENTIALS,
  type LocalS3,
  runNsbackup,
} from '../kit/index.js';
import { valuesFile } from '../chart/rendered.js';
import { buildNsbackupImage, NSBACKUP_IMAGE, type NsbackupImage } from './image.js';
import { SNAPSHOT_CLASS, startRealCluster, type RealCluster } from './index.js';
import { claim } from './shop.js';

const NS = 'pgshop';
const OTHER = 'billing';
let cluster: RealCluster;
let pg: LocalPostgres;
let s3: LocalS3;
let image: NsbackupImage;
let hostDir: string;

const json = (args: string[]) => JSON.parse(cluster.kubectl([...args, '-o', 'json']));
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Runs a Job made from one of the chart's CronJobs to its end; returns its pod's log. */
async function runJobFrom(cronJob: string, job: string): Promise<{ succeeded: boolean; log: string }> {
  cluster.kubectl(['-n', NS, 'create', 'job', job, `--from=cronjob/${cronJob}`]);
  // Complete or Failed, whichever comes first (the chart's backoffLimit decides how often a pod is retried).
  let outcome: boolean | undefined;
  for (const deadline = Date.now() + 90_000; outcome === undefined && Date.now() < deadline;) {
    const status = JSON.parse(
      await cluster.kubectlAsync(['-n', NS, 'get', `job/${job}`, '-o', 'json']),
    ).status;
    const done = (status?.conditions ?? []).find(
      (c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True',
    );
    if (done) outcome = done.type === 'Complete';
    else await new Promise((r) => setTimeout(r, 500));
  }
  const log = await cluster
    .kubectlAsync(['-n', NS, 'logs', `job/${job}`, '--all-containers', '--tail=-1'])
    .catch((e) => String(e));
  return { succeeded: outcome === true, log };
}

beforeAll(async () => {
  image = await buildNsbackupImage();
  [cluster, pg, s3] = await Promise.all([
    startRealCluster({ images: { [NSBACKUP_IMAGE]: image.entrypoint } }),
    startPostgres({ user: 'backup' }),
    startS3(),
  ]);
  await pg.psql('CREATE DATABASE shop');
  await pg.psql('CREATE DATABASE audit');
  await pg.psql('CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 100);', 'shop');
  // The node's lock directory: a hostPath, so a folder of this machine that the pods' users can reach.
  hostDir = mkdtempSync('/var/tmp/nsbackup-realchart-');
  mkdirSync(join(hostDir, 'locks'));

  const manifests = [NS, OTHER].flatMap((ns) => [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    ...['data', 'wal'].map((name) => claim(ns, name)),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: ns },
      data: { mode: 'live' },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-credentials', namespace: ns },
      data: { password: b64(pg.password) },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3-credentials', namespace: ns },
      data: {
        'access-key': b64(TEST_S3_CREDENTIALS.accessKeyId),
        'secret-key': b64(TEST_S3_CREDENTIALS.secretAccessKey),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'db', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            containers: [
              {
                name: 'postgres',
                image: 'postgres:15',
                env: [
                  { name: 'PATH', value: pg.env.PATH },
                  { name: 'PGHOST', value: pg.env.PGHOST },
                  { name: 'PGPORT', value: pg.env.PGPORT },
                ],
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/postgresql/data' },
                  { name: 'wal', mountPath: '/var/lib/postgresql/wal' },
                ],
              },
            ],
            volumes: ['data', 'wal'].map((name) => ({ name, persistentVolumeClaim: { claimName: name } })),
          },
        },
      },
    },
  ]);
  cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
  for (const ns of [NS, OTHER])
    cluster.kubectl(['-n', ns, 'rollout', 'status', 'deployment/db', '--timeout=60s']);

  const install = helm([
    'install',
    NS,
    CHART_DIR,
    '--kubeconfig',
    cluster.kubeconfigPath,
    '-n',
    NS,
    '--values',
    valuesFile('postgres'),
    '--set',
    `image.tag=test`,
    '--set',
    `s3.endpoint=${s3.endpoint}`,
    '--set',
    's3.region=us-east-1',
    '--set',
    's3.prefix=nsbackup',
    '--set',
    `backup.snapshotClass=${SNAPSHOT_CLASS}`,
    '--set',
    'database.dumpDir=/var/lib/postgresql/data/nsbackup',
    '--set',
    `lock.hostPath=${join(hostDir, 'locks')}`,
    '--set',
    'backup.notify.url=',
    '--set',
    'backup.notify.failureUrl=',
    '--set',
    'export.enabled=true',
    '--set',
    'backup.s3Dump=true',
    '--set',
    'clusterName=prod',
    '--set',
    'restore.args={restore,--backup,latest}',
  ]);
  expect(install.status, install.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await Promise.all([cluster?.close(), pg?.stop(), s3?.close()]);
  if (hostDir) rmSync(hostDir, { recursive: true, force: true });
  if (image) rmSync(image.dir, { recursive: true, force: true });
});

describe('the chart on a real cluster, its Jobs run by the Job controller as the chart ServiceAccount', () => {
  it('an ad-hoc Job from kubectl create job --from=cronjob dumps, snapshots both PVCs and exports, within its Role', async () => {
    const run = await runJobFrom(`${NS}-backup`, `${NS}-adhoc-1`);
    expect(run.succeeded, run.log).toBe(true);
    const snaps = json(['-n', NS, 'get', 'volumesnapshots']).items;
    expect(snaps.map((s: any) => s.metadata.labels['nsbackup.io/pvc']).sort()).toEqual(['data', 'wal']);
    for (const s of snaps) {
      expect(s.metadata.labels['nsbackup.io/type']).toBe('adhoc');
      expect(s.status.readyToUse).toBe(true);
    }
    const pod = json(['-n', NS, 'get', 'pods', '-l', `job-name=${NS}-adhoc-1`]).items[0];
    expect(pod.spec.serviceAccountName).toBe(`${NS}-backup`);
    expect(run.log).toContain('"outcome":"success"');
    expect(run.log).not.toContain(pg.password);
    // The run is recorded in the status ConfigMap (metrics.statusConfigMap), within the Role's create and patch.
    expect(run.log).not.toContain('could not record the run');
    const status = json(['-n', NS, 'get', 'configmap', 'nsbackup-status']).data;
    expect(status['backup.lastResult']).toBe('succeeded');
    expect(status['backup.lastSuccess']).toBe(status['backup.lastAttempt']);
  });

  it('the prune Job runs retain and mark-and-delete with its own Role', async () => {
    const run = await runJobFrom(`${NS}-prune`, `${NS}-prune-1`);
    expect(run.succeeded, run.log).toBe(true);
    expect(run.log).toContain('"command":"retain"');
    expect(run.log).toContain('"command":"mark-and-delete"');
    expect(run.log).not.toContain('could not record the run');
    const status = json(['-n', NS, 'get', 'configmap', 'nsbackup-status']).data;
    expect(status['retain.lastResult']).toBe('succeeded');
    expect(status['mark-and-delete.lastResult']).toBe('succeeded');
  });

  it('the restore Job from the chart restores the latest backup over the live namespace (skipping what exists)', async () => {
    cluster.kubectl(['-n', NS, 'delete', 'configmap', 'settings']);
    const run = await runJobFrom(`${NS}-restore`, `${NS}-restore-1`);
    expect(run.succeeded, run.log).toBe(true);
    expect(json(['-n', NS, 'get', 'configmap', 'settings']).data).toEqual({ mode: 'live' });
    // Among what already existed: the release's own Roles, which this Role may not create (RBAC escalation is
    // checked before the name, so the server answers 403, not 409): skipped, not failed.
    expect(run.log).toContain('"failed":0');
  });

  it("the backup ServiceAccount's token cannot read or write another namespace", async () => {
    const token = cluster.kubectl(['-n', NS, 'create', 'token', `${NS}-backup`]).trim();
    const kubeconfig = cluster.kubeconfigFor(`${NS}-backup`, token, NS);
    // -q: the answer is the exit code; the first check shows the token works at all.
    const canI = (verb: string, resource: string, ns: string) => {
      try {
        cluster.kubectl(['--kubeconfig', kubeconfig, 'auth', 'can-i', verb, resource, '-n', ns, '-q']);
        return 'yes';
      } catch {
        return 'no';
      }
    };
    expect(canI('create', 'volumesnapshots.snapshot.storage.k8s.io', NS)).toBe('yes');
    for (const [verb, resource] of [
      ['create', 'volumesnapshots.snapshot.storage.k8s.io'],
      ['list', 'volumesnapshots.snapshot.storage.k8s.io'],
      ['create', 'pods/exec'],
      ['get', 'secrets'],
      ['list', 'persistentvolumeclaims'],
    ]) {
      expect(canI(verb, resource, OTHER), `${verb} ${resource} in ${OTHER}`).toBe('no');
    }
    // The commands themselves, with that token, pointed at the other namespace: refused by the server, a clear
    // failure, nothing made there.
    const env = { NSBACKUP_KUBECONFIG: kubeconfig, NSBACKUP_LOCK: 'false' };
    const backup = await runNsbackup(backupCommand, {
      ...env,
      NSBACKUP_NAMESPACE: OTHER,
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
    });
    expect(backup.code).not.toBe(0);
    expect(backup.text).toMatch(/forbidden/i);
    const list = await runNsbackup(listCommand, { ...env, NSBACKUP_NAMESPACE: OTHER });
    expect(list.code).not.toBe(0);
    // The same token in its own namespace: list works (the Role is enough, nothing cluster-wide needed).
    const own = await runNsbackup(listCommand, { ...env, NSBACKUP_NAMESPACE: NS, NSBACKUP_OUTPUT: 'json' });
    expect(own.code, own.text).toBe(0);
    expect(JSON.parse(own.out).length).toBe(2);
    expect(json(['-n', OTHER, 'get', 'volumesnapshots']).items).toEqual([]);
  });

  it('restore-db as the restore ServiceAccount and diff as the backup one work with their Roles alone', async () => {
    const tokenOf = (sa: string) => cluster.kubectl(['-n', NS, 'create', 'token', sa]).trim();
    const s3Env = {
      ...s3.env,
      NSBACKUP_S3_PREFIX: 'nsbackup',
      NSBACKUP_CLUSTER_NAME: 'prod',
      NSBACKUP_LOCK: undefined,
    };
    await pg.psql('DELETE FROM orders', 'shop');
    const restoreDb = await runNsbackup(restoreDbCommand, {
      ...s3Env,
      NSBACKUP_KUBECONFIG: cluster.kubeconfigFor(`${NS}-restore`, tokenOf(`${NS}-restore`), NS),
      NSBACKUP_NAMESPACE: NS,
      NSBACKUP_DB: 'postgres',
      NSBACKUP_DB_TARGET: 'deployment/db',
      NSBACKUP_DB_CONTAINER: 'postgres',
      NSBACKUP_DB_USER: 'backup',
      NSBACKUP_DB_PASSWORD: pg.password,
      NSBACKUP_RESTORE_FROM: 'latest',
      NSBACKUP_RESTORE_DATABASE: 'shop',
      NSBACKUP_YES: 'true',
    });
    expect(restoreDb.code, restoreDb.text).toBe(0);
    expect(await pg.psql('SELECT count(*) FROM orders', 'shop')).toBe('100');
    expect(restoreDb.text).not.toContain(pg.password);

    const diff = await runNsbackup(diffCommand, {
      ...s3Env,
      NSBACKUP_KUBECONFIG: cluster.kubeconfigFor(`${NS}-backup`, tokenOf(`${NS}-backup`), NS),
      NSBACKUP_NAMESPACE: NS,
      NSBACKUP_DIFF_FROM: 'latest',
    });
    // It ran to a verdict (0: identical, 1: differences) rather than failing on a refused read.
    expect([0, 1], diff.text).toContain(diff.code);
    expect(diff.text).not.toMatch(/forbidden/i);
  });

  it('upgraded to lock.backend=lease, the backup Job takes its slot as a Lease in the shared lock namespace', async () => {
    const LOCKS = 'nsbackup-locks';
    cluster.kubectl(['create', 'namespace', LOCKS]);
    const upgrade = helm([
      'upgrade',
      NS,
      CHART_DIR,
      '--kubeconfig',
      cluster.kubeconfigPath,
      '-n',
      NS,
      '--reuse-values',
      '--set',
      'lock.backend=lease',
      '--set',
      `lock.namespace=${LOCKS}`,
    ]);
    expect(upgrade.status, upgrade.stderr).toBe(0);
    const pod = json(['-n', NS, 'get', 'cronjob', `${NS}-backup`]).spec.jobTemplate.spec.template.spec;
    expect(JSON.stringify(pod.volumes)).not.toContain('hostPath');
    const run = await runJobFrom(`${NS}-backup`, `${NS}-adhoc-lease`);
    expect(run.succeeded, run.log).toBe(true);
    // The node name came from the downward API; the Role the chart put in the lock namespace let it through.
    expect(run.log).toMatch(
      /"msg":"node lock acquired".*"lockPath":"nsbackup-locks\/nsbackup-testnode-1-\d+"/,
    );
    expect(json(['-n', LOCKS, 'get', 'leases']).items).toEqual([]);
  });
  it('verify.level=rehearsal: as the verify ServiceAccount, the ClusterRole alone restores into the pinned scratch namespace, compares and deletes it', async () => {
    const upgrade = helm([
      'upgrade',
      NS,
      CHART_DIR,
      '--kubeconfig',
      cluster.kubeconfigPath,
      '-n',
      NS,
      '--reuse-values',
      '--set',
      'verify.enabled=true',
      '--set',
      'verify.level=rehearsal',
    ]);
    expect(upgrade.status, upgrade.stderr).toBe(0);
    const scratch = `${NS}-rehearsal`;
    const cronEnv = json(['-n', NS, 'get', 'cronjob', `${NS}-verify`]).spec.jobTemplate.spec.template.spec
      .containers[0].env;
    expect(cronEnv).toContainEqual({ name: 'NSBACKUP_VERIFY_REHEARSAL_NAMESPACE', value: scratch });
    const token = cluster.kubectl(['-n', NS, 'create', 'token', `${NS}-verify`]).trim();
    const started = Date.now();
    const r = await runNsbackup(verifyCommand, {
      ...s3.env,
      NSBACKUP_S3_PREFIX: 'nsbackup',
      NSBACKUP_CLUSTER_NAME: 'prod',
      NSBACKUP_KUBECONFIG: cluster.kubeconfigFor(`${NS}-verify`, token, NS),
      NSBACKUP_NAMESPACE: NS,
      NSBACKUP_VERIFY_LEVEL: 'rehearsal',
      NSBACKUP_VERIFY_REHEARSAL_NAMESPACE: scratch,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.text + r.out).toBe(0);
    expect(r.text).not.toMatch(/forbidden/i);
    expect(r.summary).toMatchObject({ differences: 0, failedObjects: 0, namespaceDeleted: true });
    expect(json(['get', 'namespaces']).items.map((n: any) => n.metadata.name)).not.toContain(scratch);
    console.log(`rehearsal of ${NS} as the chart's verify ServiceAccount: ${seconds.toFixed(1)} s`);

    // The namespaces grant is get/delete on that one namespace only, and Secrets are never readable.
    const kc = cluster.kubeconfigFor(`${NS}-verify`, token, NS);
    const canI = (...args: string[]) => {
      try {
        cluster.kubectl(['--kubeconfig', kc, 'auth', 'can-i', ...args, '-q']);
        return 'yes';
      } catch {
        return 'no';
      }
    };
    expect(canI('delete', `namespaces/${scratch}`)).toBe('yes');
    expect(canI('delete', `namespaces/${OTHER}`)).toBe('no');
    expect(canI('delete', `namespaces/${NS}`)).toBe('no');
    expect(canI('get', 'secrets', '-n', OTHER)).toBe('no');
    expect(canI('delete', 'deployments', '-n', OTHER)).toBe('no');
  }, 180_000);
});
