import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  labelRestoredFrom,
  mapNamespaces,
  parseQuantity,
  prepareForRestore,
  snapshotSourceOf,
  withSnapshotSource,
  withoutDataSource,
  type KubeObject,
} from '../../lib/resources/index.js';
import { Labels } from '../../lib/labels.js';
import { boundPv, boundPvc, deployment, headlessService, nodePortService, roleBinding } from './fixtures.js';

const opts = { backupId: 'shop-20240501-100000-abc' };
const restored = (obj: KubeObject, extra: object = {}) =>
  prepareForRestore(canonicalize(obj), { ...opts, ...extra });

describe('namespace mapping', () => {
  it('moves the object and the RoleBinding subjects of the mapped namespace only', () => {
    const out = restored(roleBinding(), { namespaceMapping: { shop: 'shop-copy' } });
    expect(out.metadata.namespace).toBe('shop-copy');
    expect(out.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'web', namespace: 'shop-copy' },
      { kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' },
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' },
    ]);
  });

  it("renames a Namespace object and follows a PV's claimRef and a webhook's Service", () => {
    const mapping = { shop: 'shop2' };
    expect(
      mapNamespaces({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, mapping).metadata
        .name,
    ).toBe('shop2');
    expect((mapNamespaces(boundPv(), mapping).spec as any).claimRef.namespace).toBe('shop2');
    const webhook: KubeObject = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'w' },
      webhooks: [{ name: 'a', clientConfig: { service: { name: 'hook', namespace: 'shop' } } }],
    };
    expect((mapNamespaces(webhook, mapping) as any).webhooks[0].clientConfig.service.namespace).toBe('shop2');
  });

  it('does not change its input', () => {
    const input = roleBinding();
    mapNamespaces(input, { shop: 'x' });
    expect(input).toEqual(roleBinding());
  });
});

describe('Services', () => {
  it('clears the cluster IPs of a normal Service and keeps the chosen node port', () => {
    const spec = restored(nodePortService()).spec as any;
    expect(spec.clusterIP).toBeUndefined();
    expect(spec.clusterIPs).toBeUndefined();
    expect(spec.ports.map((p: any) => p.nodePort)).toEqual([30080, undefined]);
  });

  it('keeps a headless Service headless', () => {
    const spec = restored(headlessService()).spec as any;
    expect(spec.clusterIP).toBe('None');
    expect(spec.clusterIPs).toEqual(['None']);
  });
});

describe('volumes', () => {
  it('unbinds a claim and drops the selected node', () => {
    const out = restored(boundPvc());
    expect((out.spec as any).volumeName).toBeUndefined();
    expect(out.metadata.annotations).toEqual({ 'team.example.com/owner': 'shop' });
  });

  it('keeps the binding of a rebound storage class, and the PV loses the old claim uid', () => {
    const pvc = restored(boundPvc(), {
      rebindStorageClasses: ['local-path'],
      namespaceMapping: { shop: 'b' },
    });
    expect((pvc.spec as any).volumeName).toBe('pvc-3f1e');
    // The controller's record of the old binding goes: a claim created with it is marked Lost.
    expect(pvc.metadata.annotations!['pv.kubernetes.io/bind-completed']).toBeUndefined();
    expect(pvc.metadata.annotations!['volume.kubernetes.io/selected-node']).toBeUndefined();
    const pv = restored(boundPv(), { namespaceMapping: { shop: 'b' } });
    expect((pv.spec as any).claimRef).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      name: 'data-db-0',
      namespace: 'b',
    });
  });

  it('makes a claim restore a snapshot, growing it to the restore size', () => {
    const pvc = withSnapshotSource(canonicalize(boundPvc()), 'data-db-0-2024-05-01-100000-abcdef', {
      restoreSize: '2Gi',
    });
    const spec = pvc.spec as any;
    const source = {
      apiGroup: 'snapshot.storage.k8s.io',
      kind: 'VolumeSnapshot',
      name: 'data-db-0-2024-05-01-100000-abcdef',
    };
    expect(spec.dataSource).toEqual(source);
    expect(spec.dataSourceRef).toEqual(source);
    expect(spec.volumeName).toBeUndefined();
    expect(spec.resources.requests.storage).toBe('2Gi');
    const bigger = withSnapshotSource(canonicalize(boundPvc()), 's', { restoreSize: '500Mi' });
    expect((bigger.spec as any).resources.requests.storage).toBe('1Gi');
  });

  it('compares quantities', () => {
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('1.5Ki')).toBe(1536);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(() => parseQuantity('1 GB')).toThrow(/not a quantity/);
  });
});

describe('labels and owners', () => {
  it('labels every restored object with the backup id and drops ownerReferences', () => {
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'c',
        namespace: 'shop',
        ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x' }],
      },
    };
    const out = restored(cm);
    expect(out.metadata.labels).toEqual({ [Labels.restoredFrom]: opts.backupId });
    expect(out.metadata.ownerReferences).toBeUndefined();
    expect(restored(deployment()).metadata.labels).toEqual({
      app: 'web',
      'nsbackup.io/restored-from': opts.backupId,
    });
  });

  it('refuses a backup id that cannot be a label value', () => {
    expect(() => labelRestoredFrom(deployment(), 'a/b')).toThrow(/cannot be a label value/);
    expect(() => labelRestoredFrom(deployment(), 'x'.repeat(64))).toThrow(/cannot be a label value/);
  });

  it('removes the node of a bare Pod', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'shop' },
      spec: { nodeName: 'node-a', containers: [] },
    };
    expect(restored(pod).spec).toEqual({ containers: [] });
  });
});

describe('Jobs', () => {
  const job = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate', namespace: 'shop' },
    spec: {
      ...spec,
      template: {
        metadata: {
          labels: {
            app: 'migrate',
            'batch.kubernetes.io/controller-uid': 'old',
            'batch.kubernetes.io/job-name': 'migrate',
            'controller-uid': 'old',
            'job-name': 'migrate',
          },
        },
        spec: { containers: [{ name: 'c', image: 'migrate:1' }], restartPolicy: 'Never' },
      },
    },
  });

  it('drops the selector and pod labels the server generated from the old uid', () => {
    const out = restored(job({ selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'old' } } }));
    expect((out.spec as any).selector).toBeUndefined();
    expect((out.spec as any).template.metadata.labels).toEqual({ app: 'migrate' });
  });

  it("keeps a manual selector and its labels: they are the user's", () => {
    const manual = job({ manualSelector: true, selector: { matchLabels: { app: 'migrate' } } });
    expect(restored(manual).spec).toEqual(canonicalize(manual).spec);
  });
});

describe('claims restored from a snapshot', () => {
  const claim = (source: Record<string, unknown>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'shop' },
    spec: { accessModes: ['ReadWriteOnce'], ...source },
  });
  const snap = { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'data-1' };

  it('names the VolumeSnapshot of dataSourceRef or dataSource, and nothing else', () => {
    expect(snapshotSourceOf(claim({ dataSource: snap, dataSourceRef: snap }))).toBe('data-1');
    expect(snapshotSourceOf(claim({ dataSource: snap }))).toBe('data-1');
    expect(
      snapshotSourceOf(claim({ dataSource: { kind: 'PersistentVolumeClaim', name: 'other' } })),
    ).toBeUndefined();
    expect(snapshotSourceOf(claim({ dataSourceRef: { ...snap, namespace: 'elsewhere' } }))).toBeUndefined();
  });

  it('can lose its source and come up empty', () => {
    expect(withoutDataSource(claim({ dataSource: snap, dataSourceRef: snap })).spec).toEqual({
      accessModes: ['ReadWriteOnce'],
    });
  });
});
