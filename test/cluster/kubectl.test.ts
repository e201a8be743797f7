// The emulator through the real kubectl binary (1.32), unchanged flags, its own discovery cache.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { localProcessHandler } from './exec.js';
import { startCluster, type Cluster } from './index.js';

const KUBECTL = '/usr/bin/kubectl';
let cluster: Cluster;
let dir: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL,
      ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args],
      { env: { PATH: process.env.PATH, HOME: dir }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const manifests = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels: {tier: db}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: backup, image: busybox, command: [sh, -c, "echo hi"]}]
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'emulator-kubectl-'));
  cluster = await startCluster();
  writeFileSync(join(dir, 'shop.yaml'), manifests);
  writeFileSync(
    join(dir, 'extra.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: shop}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: two, namespace: shop}\nstringData: {k: v}\n`,
  );
  await ok('apply', '-f', join(dir, 'shop.yaml'));
});

afterAll(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubectl', () => {
  it('applies a multi-document file, and re-applies it unchanged', async () => {
    expect(cluster.get('apps/v1', 'Deployment', 'shop', 'web')?.spec.replicas).toBe(2);
    const again = await ok('apply', '-f', join(dir, 'shop.yaml'));
    expect(again).toContain('deployment.apps/web unchanged');
    expect(again).toContain('configmap/settings unchanged');
  });

  it('creates from a multi-document file and reports existing objects as AlreadyExists', async () => {
    expect(await ok('create', '-f', join(dir, 'extra.yaml'))).toContain('secret/two created');
    const second = await kubectl('create', '-f', join(dir, 'extra.yaml'));
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('configmaps "one" already exists');
  });

  it('prints tables and YAML', async () => {
    const table = await ok('get', 'deploy', '-n', 'shop');
    expect(table).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+2\/2\s+2\s+2\s+\d+s/);
    const yaml = YAML.parse(await ok('get', 'cm', 'settings', '-n', 'shop', '-o', 'yaml'));
    expect(yaml).toMatchObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      data: { a: '1' },
      metadata: { name: 'settings' },
    });
    expect(await ok('get', 'ns')).toMatch(/shop\s+Active/);
  });

  it('selects by label, labels, annotates and removes a label with a merge patch', async () => {
    expect((await ok('get', 'cm', '-n', 'shop', '-l', 'tier=db', '-o', 'name')).trim()).toBe(
      'configmap/settings',
    );
    cluster.clearRequests();
    await ok('label', 'cm', 'settings', '-n', 'shop', 'keep=yes');
    await ok('annotate', 'cm', 'settings', '-n', 'shop', 'note=hello');
    await ok('label', 'cm', 'settings', '-n', 'shop', 'tier-');
    const cm = cluster.get('v1', 'ConfigMap', 'shop', 'settings');
    expect(cm.metadata.labels).toEqual({ keep: 'yes' });
    expect(cm.metadata.annotations.note).toBe('hello');
    expect(cm.metadata.managedFields.map((m: any) => m.manager)).toEqual(
      expect.arrayContaining(['kubectl-client-side-apply', 'kubectl-label', 'kubectl-annotate']),
    );
    const patches = cluster.requests.filter((r) => r.verb === 'patch');
    expect(patches.map((p) => p.contentType)).toEqual(Array(3).fill('application/merge-patch+json'));
  });

  it('prints VolumeSnapshots with the CRD printer columns', async () => {
    cluster.seed(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: 'shop' },
        spec: { resources: { requests: { storage: '2Gi' } } },
      },
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'snap', namespace: 'shop' },
        spec: { source: { persistentVolumeClaimName: 'data' } },
      },
    );
    await cluster.controllers.idle();
    expect(await ok('get', 'vs', '-n', 'shop')).toMatch(
      /NAME\s+READYTOUSE\s+SOURCEPVC\s+RESTORESIZE.*\nsnap\s+true\s+data\s+2Gi/,
    );
  });

  it('waits for a snapshot to become ready, through a watch', async () => {
    cluster.controllers.snapshot.readyDelayMs = 400;
    try {
      cluster.clearRequests();
      cluster.seed({
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'later', namespace: 'shop' },
        spec: { source: { persistentVolumeClaimName: 'data' } },
      });
      await ok('wait', '--for=jsonpath={.status.readyToUse}=true', 'vs/later', '-n', 'shop', '--timeout=15s');
      expect(
        cluster.get('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'shop', 'later').status.readyToUse,
      ).toBe(true);
      expect(cluster.requests.some((r) => r.verb === 'watch')).toBe(true);
    } finally {
      cluster.controllers.snapshot.readyDelayMs = 0;
    }
  });

  it('scales a Deployment through its scale subresource', async () => {
    expect(await ok('scale', 'deploy/web', '-n', 'shop', '--replicas=0')).toContain(
      'deployment.apps/web scaled',
    );
    await cluster.controllers.idle();
    const web = cluster.get('apps/v1', 'Deployment', 'shop', 'web');
    expect(web.spec.replicas).toBe(0);
    expect(web.status.replicas).toBe(0);
    await ok('scale', 'deploy/web', '-n', 'shop', '--replicas=2');
  });

  it('deletes', async () => {
    expect(await ok('delete', 'cm', 'one', '-n', 'shop')).toContain('configmap "one" deleted');
    expect(cluster.get('v1', 'ConfigMap', 'shop', 'one')).toBeUndefined();
    const missing = await kubectl('delete', 'cm', 'one', '-n', 'shop');
    expect(missing.stderr).toContain('configmaps "one" not found');
  });

  it('creates a Job from a CronJob (protobuf body)', async () => {
    await ok('create', 'job', 'manual-1', '--from=cronjob/nightly', '-n', 'shop');
    const job = cluster.get('batch/v1', 'Job', 'shop', 'manual-1');
    expect(job.metadata.annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(job.spec.template.spec.containers[0].command).toEqual(['sh', '-c', 'echo hi']);
    const post = cluster.requests.find((r) => r.verb === 'create' && r.path.endsWith('/jobs'));
    expect(post?.contentType).toBe('application/vnd.kubernetes.protobuf');
  });

  it('runs a Job created from a CronJob when a runner is registered, and kubectl waits for it', async () => {
    cluster.controllers.jobs.runner = (_job, pod) =>
      new Promise((resolve) => {
        const [cmd, ...args] = pod.spec.containers[0].command;
        execFile(cmd, args, (err) => resolve(err ? Number((err as any).code ?? 1) : 0));
      });
    try {
      await ok('create', 'job', 'manual-2', '--from=cronjob/nightly', '-n', 'shop');
      await ok('wait', '--for=condition=complete', 'job/manual-2', '-n', 'shop', '--timeout=15s');
      expect(await ok('get', 'job', 'manual-2', '-n', 'shop')).toMatch(/manual-2\s+Complete\s+1\/1/);
    } finally {
      cluster.controllers.jobs.runner = undefined;
    }
  });

  it('runs the typed create generators (protobuf bodies) and stores what they sent', async () => {
    writeFileSync(join(dir, 'blob.bin'), Buffer.from([0x00, 0xff, 0xfe, 0x80]));
    cluster.clearRequests();
    const created = await Promise.all([
      ok('create', 'namespace', 'team-a'),
      ok(
        'create',
        'configmap',
        'gen',
        '-n',
        'shop',
        '--from-literal=mode=fast',
        `--from-file=blob=${join(dir, 'blob.bin')}`,
      ),
      ok('create', 'secret', 'generic', 'gen', '-n', 'shop', '--from-literal=password=s3cret'),
      ok('create', 'serviceaccount', 'gen', '-n', 'shop'),
      ok('create', 'deployment', 'gen', '-n', 'shop', '--image=nginx:1.27', '--replicas=3', '--port=80'),
      ok('create', 'service', 'clusterip', 'gen', '-n', 'shop', '--tcp=5432:5432,8080:http'),
      ok('create', 'role', 'gen', '-n', 'shop', '--verb=get,list', '--resource=pods,deployments.apps'),
      ok(
        'create',
        'rolebinding',
        'gen',
        '-n',
        'shop',
        '--role=gen',
        '--serviceaccount=shop:gen',
        '--user=alice',
      ),
      ok('create', 'clusterrole', 'gen', '--verb=get', '--non-resource-url=/healthz'),
      ok('create', 'clusterrolebinding', 'gen', '--clusterrole=gen', '--group=ops'),
    ]);
    expect(created.join('')).toMatch(
      /namespace\/team-a created[\s\S]*rolebinding.rbac.authorization.k8s.io\/gen created[\s\S]*clusterrolebinding.rbac.authorization.k8s.io\/gen created/,
    );
    const creates = cluster.requests.filter((r) => r.verb === 'create');
    expect(creates).toHaveLength(10);
    expect(
      creates.every((r) => r.contentType === 'application/vnd.kubernetes.protobuf' && r.status === 201),
    ).toBe(true);

    expect(cluster.get('v1', 'Namespace', '', 'team-a')?.status.phase).toBe('Active');
    const cm = cluster.get('v1', 'ConfigMap', 'shop', 'gen');
    expect([cm.data, cm.binaryData]).toEqual([{ mode: 'fast' }, { blob: 'AP/+gA==' }]);
    const secret = cluster.get('v1', 'Secret', 'shop', 'gen');
    expect([secret.type, Buffer.from(secret.data.password, 'base64').toString()]).toEqual([
      'Opaque',
      's3cret',
    ]);
    expect(cluster.get('v1', 'ServiceAccount', 'shop', 'gen')?.metadata.name).toBe('gen');
    const deploy = cluster.get('apps/v1', 'Deployment', 'shop', 'gen');
    expect(deploy.spec.replicas).toBe(3);
    expect(deploy.spec.selector).toEqual({ matchLabels: { app: 'gen' } });
    expect(deploy.spec.template.spec.containers[0]).toMatchObject({
      image: 'nginx:1.27',
      ports: [{ containerPort: 80 }],
    });
    const svc = cluster.get('v1', 'Service', 'shop', 'gen');
    expect(svc.spec.ports.map((p: any) => [p.port, p.targetPort])).toEqual([
      [5432, 5432],
      [8080, 'http'],
    ]);
    expect(cluster.get('rbac.authorization.k8s.io/v1', 'Role', 'shop', 'gen')?.rules).toEqual([
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] },
      { verbs: ['get', 'list'], apiGroups: ['apps'], resources: ['deployments'] },
    ]);
    const binding = cluster.get('rbac.authorization.k8s.io/v1', 'RoleBinding', 'shop', 'gen');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'gen' });
    expect(binding.subjects.map((s: any) => `${s.kind}:${s.namespace ?? ''}:${s.name}`)).toEqual([
      'User::alice',
      'ServiceAccount:shop:gen',
    ]);
    expect(cluster.get('rbac.authorization.k8s.io/v1', 'ClusterRole', '', 'gen')?.rules).toEqual([
      { verbs: ['get'], nonResourceURLs: ['/healthz'] },
    ]);
    expect(cluster.get('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', '', 'gen')?.subjects).toEqual([
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'ops' },
    ]);
    // And kubectl reads them back.
    expect(
      (await ok('get', 'deploy,svc,cm,secret,sa,role,rolebinding', '-n', 'shop', '-o', 'name')).split('\n'),
    ).toEqual(
      expect.arrayContaining([
        'deployment.apps/gen',
        'service/gen',
        'configmap/gen',
        'secret/gen',
        'serviceaccount/gen',
      ]),
    );
  });

  describe('exec', () => {
    beforeAll(() => {
      const container = (name: string) => ({ name, image: 'postgres' });
      cluster.seed(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'db', namespace: 'shop' },
          spec: { containers: [container('pg')] },
        },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'two', namespace: 'shop' },
          spec: { containers: [container('a'), container('b')] },
        },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'pending', namespace: 'shop' },
          spec: { containers: [container('pg')] },
          status: { phase: 'Pending' },
        },
      );
      cluster.exec.register('shop', 'db', 'pg', localProcessHandler());
    });

    it('runs the registered handler and passes the exit code through', async () => {
      const r = await kubectl('exec', 'db', '-n', 'shop', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3');
      expect(r.stdout).toBe('out\n');
      expect(r.stderr).toContain('err');
      expect(r.code).toBe(3);
      expect(
        cluster.requests.some((q) => q.verb === 'exec' && q.path === '/api/v1/namespaces/shop/pods/db/exec'),
      ).toBe(true);
    });

    it('feeds stdin', async () => {
      const child = execFile(KUBECTL, [
        '--kubeconfig',
        cluster.kubeconfigPath,
        '--cache-dir',
        join(dir, 'cache'),
        'exec',
        '-i',
        'db',
        '-n',
        'shop',
        '--',
        'wc',
        '-c',
      ]);
      child.stdin!.end('hello world');
      const out = await new Promise<string>((resolve) => {
        let text = '';
        child.stdout!.on('data', (d) => (text += d));
        child.on('close', () => resolve(text));
      });
      expect(out.trim()).toBe('11');
    });

    it('fails like a real server for a wrong container, several containers, or a pod not running', async () => {
      expect((await kubectl('exec', 'db', '-c', 'nope', '-n', 'shop', '--', 'true')).stderr).toContain(
        'container nope is not valid for pod db',
      );
      expect((await kubectl('exec', 'two', '-n', 'shop', '--', 'true')).stderr).toMatch(
        /a container name must be specified for pod two|Defaulted container/,
      );
      const pending = await kubectl('exec', 'pending', '-n', 'shop', '--', 'true');
      expect(pending.code).not.toBe(0);
      const missing = await kubectl('exec', 'ghost', '-n', 'shop', '--', 'true');
      expect(missing.stderr).toContain('pods "ghost" not found');
    });
  });
});

describe('serve.ts', () => {
  it('runs a cluster kubectl can use until SIGTERM', { timeout: 30_000 }, async () => {
    const kubeconfig = join(dir, 'served-kubeconfig');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'serve.ts'), '--kubeconfig', kubeconfig],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => {
          out += d;
          const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
          if (m) resolve(m[1]);
        });
        child.on('exit', (code) => reject(new Error(`serve.ts exited with ${code}: ${out}`)));
      });
      expect(url).toMatch(/^http:/);
      const r = await new Promise<Result>((resolve) =>
        execFile(
          KUBECTL,
          [
            '--kubeconfig',
            kubeconfig,
            '--cache-dir',
            join(dir, 'served-cache'),
            'get',
            'ns',
            'kube-system',
            '-o',
            'name',
          ],
          (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
        ),
      );
      expect(r.stdout.trim()).toBe('namespace/kube-system');
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
