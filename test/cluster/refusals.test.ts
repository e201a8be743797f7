// What a real API server refuses, refused by the emulator the same way (status, reason, field, message):
// immutable fields, finalizer rules, type meta, label and annotation syntax, list parameters, delete
// options, uid preconditions and strategic merge patches without merge keys. Raw HTTP, so every detail of
// the answer is visible.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './index.js';

let cluster: Cluster;

interface Answer {
  status: number;
  body: any;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Answer> {
  const res = await fetch(`${cluster.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const merge = (path: string, patch: unknown) => call('PATCH', path, patch, 'application/merge-patch+json');
const strategic = (path: string, patch: unknown) =>
  call('PATCH', path, patch, 'application/strategic-merge-patch+json');

async function created(path: string, body: any): Promise<any> {
  const answer = await call('POST', path, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body;
}

function expectInvalid(answer: Answer, field: string, message: string | RegExp): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(422);
  expect(answer.body.reason).toBe('Invalid');
  const cause = answer.body.details.causes.find((c: any) => c.field === field);
  expect(cause, JSON.stringify(answer.body.details.causes)).toBeDefined();
  if (typeof message === 'string') expect(cause.message).toContain(message);
  else expect(cause.message).toMatch(message);
}

const NS = '/api/v1/namespaces/rules';
const APPS = '/apis/apps/v1/namespaces/rules';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'app', image: 'busybox' }] },
});

beforeAll(async () => {
  cluster = await startCluster();
  cluster.controllers.pvcBinder.enabled = false;
  await created('/api/v1/namespaces', { metadata: { name: 'rules' } });
  await created('/api/v1/namespaces', { metadata: { name: 'other' } });
});

afterAll(async () => {
  await cluster?.close();
});

describe('immutable fields', () => {
  it('refuses a new selector on Deployments, ReplicaSets and DaemonSets', async () => {
    for (const plural of ['deployments', 'replicasets', 'daemonsets']) {
      await created(`${APPS}/${plural}`, {
        metadata: { name: 'sel' },
        spec: { selector: { matchLabels: { app: 'sel' } }, template: podTemplate('sel') },
      });
      const answer = await merge(`${APPS}/${plural}/sel`, {
        spec: { selector: { matchLabels: { app: 'other' } }, template: podTemplate('other') },
      });
      expectInvalid(
        answer,
        'spec.selector',
        'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"other"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
      );
      expect(answer.body.message).toMatch(/^\w+\.apps "sel" is invalid: spec\.selector: /);
      // The template alone may change.
      const template = await merge(`${APPS}/${plural}/sel`, {
        spec: { template: { spec: { containers: [{ name: 'app', image: 'busybox:2' }] } } },
      });
      expect(template.status).toBe(200);
    }
  });

  it('lets a StatefulSet change only replicas, template, update strategy and the like', async () => {
    const path = `${APPS}/statefulsets/db`;
    await created(`${APPS}/statefulsets`, {
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: podTemplate('db'),
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    });
    expect((await merge(path, { spec: { replicas: 3, minReadySeconds: 5 } })).status).toBe(200);
    const answer = await merge(path, {
      spec: {
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { resources: { requests: { storage: '2Gi' } } } },
        ],
      },
    });
    expectInvalid(
      answer,
      'spec',
      "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
    expect((await merge(path, { spec: { serviceName: 'other' } })).status).toBe(422);
  });

  it("refuses to change a binding's roleRef", async () => {
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' };
    await created(`${RBAC}/namespaces/rules/rolebindings`, {
      metadata: { name: 'rb' },
      roleRef,
      subjects: [],
    });
    await created(`${RBAC}/clusterrolebindings`, { metadata: { name: 'crb' }, roleRef, subjects: [] });
    for (const path of [`${RBAC}/namespaces/rules/rolebindings/rb`, `${RBAC}/clusterrolebindings/crb`]) {
      const answer = await merge(path, { roleRef: { name: 'edit' } });
      expectInvalid(
        answer,
        'roleRef',
        'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef',
      );
      // Subjects are not part of it.
      expect((await merge(path, { subjects: [{ kind: 'User', name: 'ann' }] })).status).toBe(200);
    }
  });

  it("refuses to change a Secret's type, also when a replacement leaves it out", async () => {
    await created(`${NS}/secrets`, {
      metadata: { name: 'tls' },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': 'c', 'tls.key': 'k' },
    });
    expectInvalid(
      await merge(`${NS}/secrets/tls`, { type: 'Opaque' }),
      'type',
      'Invalid value: "Opaque": field is immutable',
    );
    const stored = (await call('GET', `${NS}/secrets/tls`)).body;
    const { type: _type, ...withoutType } = stored;
    expectInvalid(await call('PUT', `${NS}/secrets/tls`, withoutType), 'type', 'field is immutable');
  });

  it('lets a Pod change images, tolerations (additions) and its deadline (down), nothing else', async () => {
    const path = `${NS}/pods/web`;
    await created(`${NS}/pods`, {
      metadata: { name: 'web' },
      spec: {
        containers: [{ name: 'app', image: 'nginx:1', command: ['nginx'] }],
        tolerations: [{ key: 'a', operator: 'Exists' }],
        activeDeadlineSeconds: 100,
      },
    });
    const images = await strategic(path, { spec: { containers: [{ name: 'app', image: 'nginx:2' }] } });
    expect(images.status).toBe(200);
    const more = await merge(path, {
      spec: {
        tolerations: [
          { key: 'a', operator: 'Exists' },
          { key: 'b', operator: 'Exists' },
        ],
        activeDeadlineSeconds: 50,
      },
    });
    expect(more.status).toBe(200);
    expectInvalid(
      await strategic(path, { spec: { containers: [{ name: 'app', command: ['sh'] }] } }),
      'spec',
      'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    );
    expectInvalid(
      await merge(path, { spec: { tolerations: [{ key: 'b', operator: 'Exists' }] } }),
      'spec.tolerations',
      'existing toleration can not be modified except its tolerationSeconds',
    );
    expectInvalid(
      await merge(path, { spec: { activeDeadlineSeconds: 60 } }),
      'spec.activeDeadlineSeconds',
      'must be less than or equal to previous value',
    );
    expect((await merge(path, { metadata: { labels: { tier: 'web' } } })).status).toBe(200);
  });

  it('lets a PVC grow only when bound, and take a volumeName only once', async () => {
    cluster.seed(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'bound', namespace: 'rules' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
          volumeName: 'pv-1',
        },
        status: { phase: 'Bound', capacity: { storage: '1Gi' } },
      },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'pending', namespace: 'rules' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        status: { phase: 'Pending' },
      },
    );
    const grow = { spec: { resources: { requests: { storage: '2Gi' } } } };
    expect((await merge(`${NS}/persistentvolumeclaims/bound`, grow)).status).toBe(200);
    expectInvalid(
      await merge(`${NS}/persistentvolumeclaims/bound`, {
        spec: { resources: { requests: { storage: '512Mi' } } },
      }),
      'spec.resources.requests.storage',
      'Forbidden: field can not be less than status.capacity',
    );
    const forbiddenSpec =
      'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims';
    expectInvalid(await merge(`${NS}/persistentvolumeclaims/pending`, grow), 'spec', forbiddenSpec);
    expectInvalid(
      await merge(`${NS}/persistentvolumeclaims/pending`, { spec: { storageClassName: 'fast' } }),
      'spec',
      forbiddenSpec,
    );
    expect(
      (await merge(`${NS}/persistentvolumeclaims/pending`, { spec: { volumeName: 'pv-2' } })).status,
    ).toBe(200);
    expectInvalid(
      await merge(`${NS}/persistentvolumeclaims/bound`, { spec: { volumeName: 'pv-3' } }),
      'spec',
      forbiddenSpec,
    );
  });
});

describe('finalizers', () => {
  it('adds no new finalizer to an object that is being deleted', async () => {
    const path = `${NS}/configmaps/held`;
    await created(`${NS}/configmaps`, { metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    expect((await call('DELETE', path)).status).toBe(200);
    const answer = await merge(path, { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } });
    expectInvalid(
      answer,
      'metadata.finalizers',
      'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/more"}',
    );
    // Removing the last one still finishes the deletion.
    expect((await merge(path, { metadata: { finalizers: null } })).status).toBe(200);
    expect((await call('GET', path)).status).toBe(404);
  });

  it('takes only qualified finalizer names, and built-in kinds want a domain', async () => {
    expectInvalid(
      await call('POST', `${NS}/configmaps`, { metadata: { name: 'bad-fin', finalizers: ['Not A Name!'] } }),
      'metadata.finalizers',
      'Invalid value: "Not A Name!": name part must consist of alphanumeric characters',
    );
    expectInvalid(
      await call('POST', `${NS}/configmaps`, { metadata: { name: 'bare-fin', finalizers: ['cleanup'] } }),
      'metadata.finalizers[0]',
      'name is neither a standard finalizer name nor is it fully qualified',
    );
    // A custom resource may carry a bare name (upstream only warns).
    await created('/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses', {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: { name: 'bare', finalizers: ['cleanup'] },
      driver: 'csi.example.com',
      deletionPolicy: 'Delete',
    });
  });
});

describe('type meta', () => {
  const classes = '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses';

  it('wants apiVersion and kind in a custom resource', async () => {
    const noKind = await call('POST', classes, {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      metadata: { name: 'nokind' },
      driver: 'd',
      deletionPolicy: 'Delete',
    });
    expect(noKind.status).toBe(400);
    expect(noKind.body.reason).toBe('BadRequest');
    expect(noKind.body.message).toContain(
      `Object 'Kind' is missing in '{"apiVersion":"snapshot.storage.k8s.io/v1"`,
    );
    const noVersion = await call('POST', classes, {
      kind: 'VolumeSnapshotClass',
      metadata: { name: 'noversion' },
      driver: 'd',
      deletionPolicy: 'Delete',
    });
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.message).toContain(`Object 'apiVersion' is missing in`);
  });

  it('refuses a body of a version the URL does not serve', async () => {
    const answer = await call('POST', '/apis/batch/v1/namespaces/rules/cronjobs', {
      apiVersion: 'batch/v1beta1',
      kind: 'CronJob',
      metadata: { name: 'old' },
      spec: { schedule: '* * * * *', jobTemplate: { spec: { template: podTemplate('old') } } },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toBe(
      'the API version in the data (batch/v1beta1) does not match the expected API version (batch/v1)',
    );
    // A built-in kind may leave both out: the URL says what it is.
    await created(`${NS}/configmaps`, { metadata: { name: 'typeless' } });
  });
});

describe('labels and annotations', () => {
  it('validates label values and keys as upstream does', async () => {
    const valueMessage =
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    expectInvalid(
      await call('POST', `${NS}/configmaps`, { metadata: { name: 'comma', labels: { app: 'a,b' } } }),
      'metadata.labels',
      `Invalid value: "a,b": ${valueMessage}`,
    );
    expectInvalid(
      await call('POST', `${NS}/configmaps`, { metadata: { name: 'long', labels: { app: 'x'.repeat(64) } } }),
      'metadata.labels',
      'must be no more than 63 characters',
    );
    expectInvalid(
      await call('POST', `${NS}/configmaps`, { metadata: { name: 'key', labels: { 'Bad.Prefix/x': 'y' } } }),
      'metadata.labels',
      'Invalid value: "Bad.Prefix/x": prefix part a lowercase RFC 1123 subdomain',
    );
    await created(`${NS}/configmaps`, {
      metadata: { name: 'fine', labels: { 'example.com/App_1': 'My.Value-1', empty: '' } },
    });
    // Updates are held to the same rules.
    expectInvalid(
      await merge(`${NS}/configmaps/fine`, { metadata: { labels: { app: '-dash' } } }),
      'metadata.labels',
      'Invalid value: "-dash"',
    );
  });

  it('caps annotations at 256 KiB in total', async () => {
    const big = 'x'.repeat(128 * 1024);
    const answer = await call('POST', `${NS}/configmaps`, {
      metadata: { name: 'heavy', annotations: { a: big, b: big } },
    });
    expectInvalid(answer, 'metadata.annotations', 'Too long: may not be more than 262144 bytes');
    expect(answer.body.details.causes[0].reason).toBe('FieldValueTooLong');
    await created(`${NS}/configmaps`, { metadata: { name: 'light', annotations: { a: big } } });
  });
});

describe('list parameters', () => {
  beforeAll(async () => {
    for (const ns of ['rules', 'other'])
      for (const name of ['p1', 'p2', 'p3'])
        await created(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name } });
  });

  it('reads "x in ()" as upstream does: the empty value', async () => {
    await created(`${NS}/configmaps`, { metadata: { name: 'blank', labels: { tier: '' } } });
    const answer = await call('GET', `${NS}/configmaps?labelSelector=${encodeURIComponent('tier in ()')}`);
    expect(answer.status).toBe(200);
    expect(answer.body.items.map((i: any) => i.metadata.name)).toEqual(['blank']);
  });

  it('refuses a limit that is not a number', async () => {
    const answer = await call('GET', `${NS}/configmaps?limit=abc`);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      reason: 'BadRequest',
      message: 'strconv.ParseInt: parsing "abc": invalid syntax',
    });
  });

  it('serves a continue token only to the list it came from', async () => {
    const first = await call('GET', `${NS}/serviceaccounts?limit=1`);
    const token = encodeURIComponent(first.body.metadata.continue);
    for (const elsewhere of [
      `/api/v1/namespaces/other/serviceaccounts`,
      `${NS}/configmaps`,
      '/api/v1/serviceaccounts',
    ]) {
      const answer = await call('GET', `${elsewhere}?limit=1&continue=${token}`);
      expect(answer.status, elsewhere).toBe(400);
      expect(answer.body.message).toMatch(/^continue key is not valid: /);
    }
    const next = await call('GET', `${NS}/serviceaccounts?limit=1&continue=${token}`);
    expect(next.status).toBe(200);
    expect(next.body.items[0].metadata.name).toBe('p2');
  });

  it('refuses resourceVersionMatch without a resourceVersion', async () => {
    const answer = await call('GET', `${NS}/configmaps?resourceVersionMatch=NotOlderThan`);
    expectInvalid(
      answer,
      'resourceVersionMatch',
      'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
    expect(answer.body.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
    expect(
      (await call('GET', `${NS}/configmaps?resourceVersionMatch=NotOlderThan&resourceVersion=0`)).status,
    ).toBe(200);
  });
});

describe('delete options', () => {
  it('has no deletecollection on namespaces', async () => {
    const answer = await call('DELETE', '/api/v1/namespaces');
    expect(answer.status).toBe(405);
    expect(answer.body.reason).toBe('MethodNotAllowed');
    expect((await call('GET', '/api/v1/namespaces/other')).status).toBe(200);
    const discovery = (await call('GET', '/api/v1')).body.resources;
    const namespaces = discovery.find((d: any) => d.name === 'namespaces');
    expect(namespaces.verbs).not.toContain('deletecollection');
    expect(discovery.find((d: any) => d.name === 'configmaps').verbs).toContain('deletecollection');
  });

  it('refuses a dryRun other than All and deletes nothing', async () => {
    await created(`${NS}/configmaps`, { metadata: { name: 'keep', labels: { keep: 'yes' } } });
    const inBody = await call('DELETE', `${NS}/configmaps/keep`, {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      dryRun: ['Yes'],
    });
    expectInvalid(inBody, 'dryRun', 'Unsupported value: []string{"Yes"}: supported values: "All"');
    expect(inBody.body.message).toMatch(/^DeleteOptions\.meta\.k8s\.io "" is invalid: dryRun: /);
    expect((await call('DELETE', `${NS}/configmaps/keep?dryRun=true`)).status).toBe(422);
    expect((await call('DELETE', `${NS}/configmaps?labelSelector=keep%3Dyes&dryRun=yes`)).status).toBe(422);
    expect((await call('GET', `${NS}/configmaps/keep`)).status).toBe(200);
    // Writes are held to the same rule.
    expectInvalid(
      await call('POST', `${NS}/configmaps?dryRun=true`, { metadata: { name: 'dry' } }),
      'dryRun',
      'Unsupported value',
    );
    // dryRun=All in the body deletes nothing either.
    expect((await call('DELETE', `${NS}/configmaps/keep`, { dryRun: ['All'] })).status).toBe(200);
    expect((await call('GET', `${NS}/configmaps/keep`)).status).toBe(200);
  });

  it('refuses an unknown propagationPolicy', async () => {
    const answer = await call('DELETE', `${NS}/configmaps/keep?propagationPolicy=Cascade`);
    expectInvalid(
      answer,
      'propagationPolicy',
      'Unsupported value: "Cascade": supported values: "Foreground", "Background", "Orphan", "nil"',
    );
    expect((await call('DELETE', `${NS}/configmaps/keep`, { propagationPolicy: 'Nope' })).status).toBe(422);
    expect((await call('GET', `${NS}/configmaps/keep`)).status).toBe(200);
    expect((await call('DELETE', `${NS}/configmaps/keep`, { propagationPolicy: 'Foreground' })).status).toBe(
      200,
    );
  });
});

describe('preconditions and patches', () => {
  it('refuses a replacement carrying another uid with 409 Conflict', async () => {
    const cm = await created(`${NS}/configmaps`, { metadata: { name: 'uid' }, data: { a: '1' } });
    const other = '00000000-0000-0000-0000-000000000000';
    const answer = await call('PUT', `${NS}/configmaps/uid`, {
      ...cm,
      metadata: { ...cm.metadata, uid: other },
      data: { a: '2' },
    });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({
      reason: 'Conflict',
      message: `Operation cannot be fulfilled on configmaps "uid": Precondition failed: UID in precondition: ${other}, UID in object meta: ${cm.metadata.uid}`,
    });
    expect((await call('GET', `${NS}/configmaps/uid`)).body.data).toEqual({ a: '1' });
  });

  it('fails a strategic merge patch whose list item lacks the merge key, instead of appending it', async () => {
    await created(`${APPS}/deployments`, {
      metadata: { name: 'keyless' },
      spec: { selector: { matchLabels: { app: 'keyless' } }, template: podTemplate('keyless') },
    });
    const answer = await strategic(`${APPS}/deployments/keyless`, {
      spec: { template: { spec: { containers: [{ image: 'busybox:2' }] } } },
    });
    // Upstream answers this error of strategicpatch as a bare 500 without a reason.
    expect(answer.status).toBe(500);
    expect(answer.body.reason).toBeUndefined();
    expect(answer.body.message).toBe('map: map[image:busybox:2] does not contain declared merge key: name');
    const stored = (await call('GET', `${APPS}/deployments/keyless`)).body;
    expect(stored.spec.template.spec.containers).toEqual([{ name: 'app', image: 'busybox' }]);
  });
});
