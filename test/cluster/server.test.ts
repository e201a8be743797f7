// HTTP surface of the emulator: discovery, Tables, OpenAPI, media types, pods/exec validation and a
// client-node exec round trip into a real local process.
import { Writable } from 'node:stream';
import { Exec, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { localProcessHandler } from './exec.js';
import { startCluster, type Cluster } from './index.js';

let cluster: Cluster;

const get = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${cluster.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as any };
};

beforeAll(async () => {
  cluster = await startCluster();
  const container = (name: string) => ({ name, image: 'postgres:15' });
  cluster.seed(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'one', namespace: 'default' },
      spec: { containers: [container('pg')] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'two', namespace: 'default' },
      spec: { containers: [container('a'), container('b')] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'done', namespace: 'default' },
      spec: { nodeName: 'n1', containers: [container('pg')] },
      status: { phase: 'Succeeded' },
    },
  );
  cluster.exec.register('default', 'one', 'pg', localProcessHandler());
});

afterAll(async () => {
  await cluster?.close();
});

describe('discovery', () => {
  it('lists core resources with subresources, short names and categories', async () => {
    const { body } = await get('/api/v1');
    const byName = Object.fromEntries(body.resources.map((r: any) => [r.name, r]));
    expect(byName.pods).toMatchObject({
      kind: 'Pod',
      namespaced: true,
      shortNames: ['po'],
      categories: ['all'],
    });
    expect(byName['pods/exec']).toMatchObject({ kind: 'PodExecOptions', verbs: ['create', 'get'] });
    expect(byName['pods/status'].verbs).toEqual(['get', 'patch', 'update']);
    expect(byName['pods/log']).toBeDefined();
    expect(byName.persistentvolumes.namespaced).toBe(false);
  });

  it('lists groups with their preferred version, including the snapshot CRDs', async () => {
    const { body } = await get('/apis');
    const snap = body.groups.find((g: any) => g.name === 'snapshot.storage.k8s.io');
    expect(snap.preferredVersion).toEqual({ groupVersion: 'snapshot.storage.k8s.io/v1', version: 'v1' });
    const { body: vs } = await get('/apis/snapshot.storage.k8s.io/v1');
    expect(vs.resources.map((r: any) => r.name)).toEqual(
      expect.arrayContaining([
        'volumesnapshots',
        'volumesnapshots/status',
        'volumesnapshotcontents',
        'volumesnapshotclasses',
      ]),
    );
    expect((await get('/version')).body.gitVersion).toMatch(/^v1\.32\./);
  });

  it('serves only reads on the all-namespaces path of a namespaced resource', async () => {
    const post = await fetch(`${cluster.url}/api/v1/configmaps`, {
      method: 'POST',
      body: '{"metadata":{"name":"x"}}',
    });
    expect(post.status).toBe(405);
    expect((await fetch(`${cluster.url}/api/v1/configmaps`, { method: 'DELETE' })).status).toBe(405);
    expect((await get('/api/v1/pods')).body.items.map((p: any) => p.metadata.name)).toContain('one');
  });

  it('answers unknown paths with a NotFound Status', async () => {
    const r = await get('/apis/apps/v1/namespaces/default/widgets');
    expect(r).toMatchObject({ status: 404, body: { kind: 'Status', reason: 'NotFound' } });
  });
});

describe('content negotiation', () => {
  it('returns a meta.k8s.io/v1 Table when kubectl asks for one', async () => {
    const { body } = await get('/api/v1/namespaces', {
      Accept:
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
    });
    expect(body.kind).toBe('Table');
    expect(body.columnDefinitions.map((c: any) => c.name)).toEqual(['Name', 'Status', 'Age']);
    expect(body.rows[0].object.kind).toBe('PartialObjectMetadata');
    expect(body.rows.map((r: any) => r.cells[0])).toContain('default');
  });

  it('refuses a protobuf body it cannot decode with 415, loudly', async () => {
    const res = await fetch(`${cluster.url}/apis/batch/v1/namespaces/default/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' },
      body: Buffer.from('not protobuf at all'),
    });
    const status = (await res.json()) as any;
    expect(res.status).toBe(415);
    expect(status.reason).toBe('UnsupportedMediaType');
    expect(status.message).toMatch(/protobuf/);
  });

  it('refuses server-side apply and unknown patch types with 415', async () => {
    const res = await fetch(`${cluster.url}/api/v1/namespaces/default`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
      body: '{}',
    });
    expect(res.status).toBe(415);
  });

  it('answers 501 for pods/log rather than pretending', async () => {
    expect((await get('/api/v1/namespaces/default/pods/one/log')).status).toBe(501);
  });

  it('serves the OpenAPI v3 index kubectl uses to decide on server-side field validation', async () => {
    const { body } = await get('/openapi/v3');
    const url = body.paths['apis/apps/v1'].serverRelativeURL;
    const doc = (await get(url)).body;
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
    });
    expect(patch.parameters.map((p: any) => p.name)).toContain('fieldValidation');
  });
});

/** Attempts the exec upgrade and returns the HTTP error a client sees, or 101. */
function execAttempt(pod: string, query: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(
      `${cluster.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/${pod}/exec?${query}`,
      ['v5.channel.k8s.io', 'v4.channel.k8s.io'],
    );
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
      );
    });
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101, body: undefined });
    });
    ws.on('error', () => {});
  });
}

describe('pods/exec', () => {
  const cmd = 'command=true&stdout=true&stderr=true';

  it('validates before the upgrade, with the messages of a real server', async () => {
    expect(await execAttempt('ghost', cmd)).toMatchObject({
      status: 404,
      body: { message: 'pods "ghost" not found' },
    });
    expect(await execAttempt('one', `${cmd}&container=nope`)).toMatchObject({
      status: 400,
      body: { message: 'container nope is not valid for pod one' },
    });
    expect(await execAttempt('two', cmd)).toMatchObject({
      status: 400,
      body: { message: 'a container name must be specified for pod two, choose one of: [a b]' },
    });
    const notRunning = await execAttempt('done', cmd);
    expect(notRunning.status).toBe(400);
    expect(notRunning.body.message).toContain('container not found ("pg")');
    expect((await execAttempt('one', 'stdout=true')).status).toBe(400);
    expect((await execAttempt('one', cmd)).status).toBe(101);
  });

  it('runs a real process for client-node and reports a non-zero exit code in the status', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    let out = '';
    const stdout = new Writable({
      write(chunk, _enc, cb) {
        out += chunk;
        cb();
      },
    });
    const status = await new Promise<any>((resolve) => {
      void new Exec(kc).exec(
        'default',
        'one',
        'pg',
        ['sh', '-c', 'echo from-process; exit 4'],
        stdout,
        null,
        null,
        false,
        resolve,
      );
    });
    expect(out).toBe('from-process\n');
    expect(status).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '4' }] },
    });
  });

  it('fails loudly inside the stream when no handler is registered for the container', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const status = await new Promise<any>((resolve) => {
      void new Exec(kc).exec('default', 'two', 'a', ['true'], sink, sink, null, false, resolve);
    });
    expect(status.status).toBe('Failure');
    expect(status.message).toContain('no exec handler is registered for default/two/a');
  });
});
