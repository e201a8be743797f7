// Differential fidelity: the same requests, and the same kubectl commands, against the emulator (test/cluster) and
// the real kube-apiserver. Status codes and reasons (and, for kubectl, the exit code) are compared; every
// divergence must be one of KNOWN_DIFFERENCES, which test/cluster/README.md lists. A new divergence fails this test,
// and so does a listed one that is gone (then the list and the README are out of date).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../cluster/index.js';
import { startRealCluster, type RealCluster } from './index.js';

interface Step {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
}

/** Status code and, for a Status answer, its reason: what a client branches on. */
interface Answer {
  status: number;
  reason?: string;
}

/** Divergences we know of and keep, by step name; test/cluster/README.md says why each one stays. */
export const KNOWN_DIFFERENCES: Record<string, string> = {
  'Service with a node port another Service holds':
    'no node-port allocator: the emulator stores the second Service (201) where the server refuses it (422)',
  'an API group nobody serves':
    "404 either way, but the real server's body is Go's plain '404 page not found', not a Status with a reason",
};

const NS = 'fidelity';
const cm = (name: string, extra: object = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: NS, labels: { app: 'fid' } },
  data: { a: '1' },
  ...extra,
});
const core = (resource: string, name = '') => `/api/v1/namespaces/${NS}/${resource}${name ? '/' + name : ''}`;
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: NS },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    },
  },
};
const nodePortService = (ns: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'np', namespace: ns },
  spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80, nodePort: 30555 }] },
});

const STEPS: Step[] = [
  {
    name: 'create namespace',
    method: 'POST',
    path: '/api/v1/namespaces',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
  },
  {
    name: 'create namespace other',
    method: 'POST',
    path: '/api/v1/namespaces',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${NS}-2` } },
  },
  { name: 'create ConfigMap', method: 'POST', path: core('configmaps'), body: cm('one') },
  { name: 'create ConfigMap again', method: 'POST', path: core('configmaps'), body: cm('one') },
  { name: 'get missing ConfigMap', method: 'GET', path: core('configmaps', 'nope') },
  { name: 'invalid name', method: 'POST', path: core('configmaps'), body: cm('Bad_Name') },
  {
    name: 'namespace in body differs from path',
    method: 'POST',
    path: core('configmaps'),
    body: { ...cm('two'), metadata: { name: 'two', namespace: 'elsewhere' } },
  },
  {
    name: 'into a namespace that does not exist',
    method: 'POST',
    path: '/api/v1/namespaces/nowhere/configmaps',
    body: { ...cm('x'), metadata: { name: 'x', namespace: 'nowhere' } },
  },
  {
    name: 'update with a stale resourceVersion',
    method: 'PUT',
    path: core('configmaps', 'one'),
    body: { ...cm('one'), metadata: { ...cm('one').metadata, resourceVersion: '1' } },
  },
  {
    name: 'update without resourceVersion',
    method: 'PUT',
    path: core('configmaps', 'one'),
    body: cm('one', { data: { a: '2' } }),
  },
  {
    name: 'merge patch a label',
    method: 'PATCH',
    path: core('configmaps', 'one'),
    body: { metadata: { labels: { b: '2' } } },
    contentType: 'application/merge-patch+json',
  },
  {
    name: 'JSON patch a missing path',
    method: 'PATCH',
    path: core('configmaps', 'one'),
    body: [{ op: 'replace', path: '/data/nope', value: 'x' }],
    contentType: 'application/json-patch+json',
  },
  {
    name: 'patch without a content type the server knows',
    method: 'PATCH',
    path: core('configmaps', 'one'),
    body: { data: { a: '3' } },
    contentType: 'application/json',
  },
  {
    name: 'bad label value',
    method: 'PATCH',
    path: core('configmaps', 'one'),
    body: { metadata: { labels: { b: 'not valid!' } } },
    contentType: 'application/merge-patch+json',
  },
  { name: 'dry-run create', method: 'POST', path: core('configmaps') + '?dryRun=All', body: cm('dry') },
  { name: 'dry-run object not stored', method: 'GET', path: core('configmaps', 'dry') },
  {
    name: 'list with a label selector',
    method: 'GET',
    path: core('configmaps') + '?labelSelector=app%3Dfid',
  },
  {
    name: 'list with a bad label selector',
    method: 'GET',
    path: core('configmaps') + '?labelSelector=app%3D%3D%3D',
  },
  // The product's selector parser is the emulator's (lib/resources/label-selector.ts): these check it against
  // the real grammar at its edges.
  ...[
    'x in ()',
    'n>3',
    'n>x',
    `${'k'.repeat(64)}=v`,
    `${'a'.repeat(63)}.example.com/${'k'.repeat(63)}=v`,
    'Example.com/app=v',
    'app=-web',
    'app=web,',
    '!app',
    'app notin (a,,b)',
  ].map((selector) => ({
    name: `list with the label selector ${JSON.stringify(selector)}`,
    method: 'GET',
    path: core('configmaps') + '?labelSelector=' + encodeURIComponent(selector),
  })),
  {
    name: 'create Deployment',
    method: 'POST',
    path: `/apis/apps/v1/namespaces/${NS}/deployments`,
    body: deployment,
  },
  {
    name: 'change a Deployment selector',
    method: 'PATCH',
    path: `/apis/apps/v1/namespaces/${NS}/deployments/web`,
    body: { spec: { selector: { matchLabels: { app: 'other' } } } },
    contentType: 'application/merge-patch+json',
  },
  {
    name: 'Job with a selector, no manualSelector',
    method: 'POST',
    path: `/apis/batch/v1/namespaces/${NS}/jobs`,
    body: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j', namespace: NS },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    },
  },
  { name: 'Service with a node port', method: 'POST', path: core('services'), body: nodePortService(NS) },
  {
    name: 'Service with a node port another Service holds',
    method: 'POST',
    path: `/api/v1/namespaces/${NS}-2/services`,
    body: nodePortService(`${NS}-2`),
  },
  {
    name: 'create PVC',
    method: 'POST',
    path: core('persistentvolumeclaims'),
    body: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'c', namespace: NS },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
  },
  {
    name: 'PVC shrunk',
    method: 'PATCH',
    path: core('persistentvolumeclaims', 'c'),
    body: { spec: { resources: { requests: { storage: '1Mi' } } } },
    contentType: 'application/merge-patch+json',
  },
  {
    name: 'Secret type changed',
    method: 'POST',
    path: core('secrets'),
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: NS },
      stringData: { k: 'v' },
    },
  },
  {
    name: 'Secret type changed (update)',
    method: 'PATCH',
    path: core('secrets', 's'),
    body: { type: 'kubernetes.io/tls' },
    contentType: 'application/merge-patch+json',
  },
  {
    name: 'create VolumeSnapshot',
    method: 'POST',
    path: `/apis/snapshot.storage.k8s.io/v1/namespaces/${NS}/volumesnapshots`,
    body: {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'vs', namespace: NS },
      spec: { source: { persistentVolumeClaimName: 'c' } },
    },
  },
  {
    name: 'an API group nobody serves',
    method: 'GET',
    path: `/apis/nothing.example.com/v1/namespaces/${NS}/things`,
  },
  {
    name: 'delete with a uid precondition that does not match',
    method: 'DELETE',
    path: core('configmaps', 'one'),
    body: {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      preconditions: { uid: '00000000-0000-0000-0000-000000000000' },
    },
  },
  { name: 'delete ConfigMap', method: 'DELETE', path: core('configmaps', 'one') },
  { name: 'delete it again', method: 'DELETE', path: core('configmaps', 'one') },
];

/** kubectl commands a user runs, compared by exit code. */
const KUBECTL: string[][] = [
  ['create', 'configmap', 'k1', '--from-literal=a=1', '-n', NS],
  ['create', 'configmap', 'k1', '--from-literal=a=1', '-n', NS],
  ['label', 'configmap', 'k1', 'team=shop', '-n', NS],
  ['label', 'configmap', 'k1', 'team=web', '-n', NS],
  ['label', 'configmap', 'k1', 'team=web', '--overwrite', '-n', NS],
  ['annotate', 'configmap', 'k1', 'note=x', '-n', NS],
  ['patch', 'configmap', 'k1', '-n', NS, '--type=merge', '-p', '{"data":{"b":"2"}}'],
  ['create', 'cronjob', 'nightly', '--image=busybox', '--schedule=0 1 * * *', '-n', NS, '--', 'true'],
  ['create', 'job', 'adhoc', '--from=cronjob/nightly', '-n', NS],
  ['get', 'job', 'adhoc', '-n', NS],
  ['delete', 'configmap', 'k1', '-n', NS],
  ['get', 'configmap', 'k1', '-n', NS],
];

let emulator: Cluster;
let real: RealCluster;
let tmp: string;

function send(url: string, token: string, step: Step): Promise<Answer> {
  const target = new URL(step.path, url);
  const data = step.body === undefined ? undefined : JSON.stringify(step.body);
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (data) {
    headers['Content-Type'] = step.contentType ?? 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(data));
  }
  const send = target.protocol === 'https:' ? request : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: step.method, headers, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let reason: string | undefined;
        try {
          const body = JSON.parse(text);
          if (body.kind === 'Status' && body.status === 'Failure') reason = body.reason;
        } catch {
          reason = undefined;
        }
        resolve({ status: res.statusCode ?? 0, reason });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/** kubectl's exit code; asynchronous, as the emulator answers from this very process. */
function kubectl(kubeconfig: string, cache: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cache, ...args], (err) =>
      resolve(err ? Number((err as { code?: unknown }).code ?? -1) : 0),
    );
  });
}

beforeAll(async () => {
  [emulator, real] = await Promise.all([startCluster(), startRealCluster()]);
  tmp = mkdtempSync(join(tmpdir(), 'nsbackup-fidelity-'));
}, 120_000);

afterAll(async () => {
  await Promise.all([emulator?.close(), real?.close()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the emulator against the real kube-apiserver, request by request', () => {
  it('answers every request with the same status and reason, but for the listed known differences', async () => {
    const divergent: Record<string, { emulator: Answer; real: Answer }> = {};
    const table: string[] = [];
    for (const step of STEPS) {
      const [e, r] = [await send(emulator.url, emulator.token, step), await send(real.url, real.token, step)];
      table.push(`${step.name}: emulator ${e.status} ${e.reason ?? ''}, real ${r.status} ${r.reason ?? ''}`);
      if (e.status !== r.status || e.reason !== r.reason) divergent[step.name] = { emulator: e, real: r };
    }
    writeFileSync(join(tmp, 'divergent.json'), JSON.stringify(divergent, null, 2));
    expect(divergent, table.join('\n')).toEqual(
      Object.fromEntries(
        Object.keys(KNOWN_DIFFERENCES).map((k) => [k, divergent[k] ?? 'no longer divergent']),
      ),
    );
  });

  it("gives kubectl's create, label, annotate, patch, create job --from and delete the same outcome", async () => {
    const emulatorCodes: number[] = [];
    const realCodes: number[] = [];
    for (const args of KUBECTL) {
      emulatorCodes.push(await kubectl(emulator.kubeconfigPath, join(tmp, 'cache-e'), args));
      realCodes.push(await kubectl(real.kubeconfigPath, join(tmp, 'cache-r'), args));
    }
    const table = KUBECTL.map(
      (args, i) => `${args.join(' ')}: emulator ${emulatorCodes[i]}, real ${realCodes[i]}`,
    );
    expect(emulatorCodes, table.join('\n')).toEqual(realCodes);
    // Not a run of zeros: the second create and the label without --overwrite must fail on both.
    expect(realCodes.filter((c) => c !== 0).length).toBeGreaterThanOrEqual(3);
  });
});
