import { describe, expect, it } from 'vitest';
import {
  LAST_APPLIED_ANNOTATION,
  canonicalize,
  parseYamlDocuments,
  toYaml,
  withoutAllocatedNodePorts,
} from '../../lib/resources/index.js';
import { boundPv, deployment, headlessService, nodePortService } from './fixtures.js';

describe('canonicalize', () => {
  it('drops what the cluster writes and keeps what the user wrote', () => {
    const out = canonicalize(deployment());
    expect(out).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        annotations: { [LAST_APPLIED_ANNOTATION]: '{"apiVersion":"apps/v1","kind":"Deployment"}' },
        labels: { app: 'web' },
      },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{ image: 'nginx:1.27', name: 'web', ports: [{ containerPort: 80 }] }],
            serviceAccountName: 'web',
          },
        },
      },
    });
  });

  it('orders keys: apiVersion, kind, metadata (name, namespace first), then sorted', () => {
    const out = canonicalize({
      spec: { z: 1, a: 2 },
      metadata: { labels: { b: '1', a: '2' }, namespace: 'shop', name: 'x' },
      kind: 'Thing',
      data: {},
      apiVersion: 'example.com/v1',
    } as any);
    expect(Object.keys(out)).toEqual(['apiVersion', 'kind', 'metadata', 'data', 'spec']);
    expect(Object.keys(out.metadata)).toEqual(['name', 'namespace', 'labels']);
    expect(Object.keys(out.metadata.labels!)).toEqual(['a', 'b']);
    expect(Object.keys(out.spec as object)).toEqual(['a', 'z']);
  });

  it('is idempotent and does not touch its input', () => {
    const input = deployment();
    const snapshot = structuredClone(input);
    const once = canonicalize(input);
    expect(canonicalize(once)).toEqual(once);
    expect(input).toEqual(snapshot);
  });

  it('turns client-node Date values into API server timestamps and drops undefined', () => {
    const out = canonicalize({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'r', namespace: 's', creationTimestamp: new Date() as any, labels: undefined },
      spec: { suspend: undefined, note: new Date('2024-05-01T10:00:00.123Z') },
    });
    expect(out.spec).toEqual({ note: '2024-05-01T10:00:00Z' });
    expect(out.metadata).toEqual({ name: 'r', namespace: 's' });
  });

  it('drops the uid of ownerReferences but keeps the references', () => {
    const out = canonicalize({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'c',
        namespace: 's',
        ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u' }],
      },
    });
    expect(out.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'X', name: 'x' }]);
  });

  it("drops the name label the server puts on a Namespace, and the Namespace's status", () => {
    const ns = canonicalize({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'payments' } },
      status: { phase: 'Active' },
    });
    expect(ns).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { team: 'payments' } },
    });
  });

  it("keeps a PV's claim by name but not the old claim's uid, so applying it elsewhere cannot release the volume", () => {
    const pv = boundPv();
    pv.metadata.annotations!['pv.kubernetes.io/bound-by-controller'] = 'yes';
    const out = canonicalize(pv);
    expect((out.spec as { claimRef: unknown }).claimRef).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      name: 'data-db-0',
      namespace: 'shop',
    });
    expect(out.metadata.annotations).toEqual({ 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' });
    expect((pv.spec as { claimRef: { uid: string } }).claimRef.uid).toBe('u-pvc');
  });

  it('can leave out the last-applied annotation', () => {
    const out = canonicalize(deployment(), { keepLastApplied: false });
    expect(out.metadata.annotations).toBeUndefined();
  });
});

describe('node ports', () => {
  // A managedFields entry that owns other fields, but no node port.
  const noNodePortOwner = [
    {
      manager: 'kubectl-client-side-apply',
      operation: 'Update',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': {} },
    },
  ];

  it('keeps the node port a client set and drops the one the allocator chose', () => {
    const ports = (canonicalize(nodePortService()).spec as any).ports;
    expect(ports).toEqual([
      { name: 'http', nodePort: 30080, port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 9090 },
    ]);
  });

  it('trusts the last-applied configuration (kubectl apply), by name and for unnamed ports by value', () => {
    const svc = nodePortService();
    svc.metadata.managedFields = noNodePortOwner;
    svc.metadata.annotations = {
      [LAST_APPLIED_ANNOTATION]: JSON.stringify({
        spec: { ports: [{ name: 'metrics', port: 9090, nodePort: 31234 }] },
      }),
    };
    const ports = (withoutAllocatedNodePorts(svc).spec as any).ports;
    expect(ports.map((p: any) => p.nodePort)).toEqual([undefined, 31234]);

    const unnamed = nodePortService();
    unnamed.metadata.managedFields = noNodePortOwner;
    (unnamed.spec as any).ports = [
      { port: 80, nodePort: 30001 },
      { port: 81, nodePort: 30002 },
    ];
    unnamed.metadata.annotations = {
      [LAST_APPLIED_ANNOTATION]: JSON.stringify({ spec: { ports: [{ port: 81, nodePort: 30002 }] } }),
    };
    expect((withoutAllocatedNodePorts(unnamed).spec as any).ports).toEqual([
      { port: 80 },
      { port: 81, nodePort: 30002 },
    ]);
  });

  it('drops every node port when nothing shows a choice, and an allocated healthCheckNodePort', () => {
    const svc = nodePortService();
    svc.metadata.managedFields = noNodePortOwner;
    (svc.spec as any).type = 'LoadBalancer';
    (svc.spec as any).externalTrafficPolicy = 'Local';
    (svc.spec as any).healthCheckNodePort = 32000;
    const spec = withoutAllocatedNodePorts(svc).spec as any;
    expect(spec.ports.every((p: any) => p.nodePort === undefined)).toBe(true);
    expect(spec.healthCheckNodePort).toBeUndefined();
  });

  it('keeps every node port of an object without managedFields, so canonicalizing twice loses nothing', () => {
    const once = canonicalize(nodePortService());
    expect(canonicalize(once)).toEqual(once);
    const handWritten = nodePortService();
    delete handWritten.metadata.managedFields;
    expect((canonicalize(handWritten).spec as any).ports.map((p: any) => p.nodePort)).toEqual([30080, 31234]);
  });

  it('leaves a headless Service alone', () => {
    expect(canonicalize(headlessService()).spec).toEqual(headlessService().spec);
  });
});

describe('toYaml', () => {
  it('is deterministic and reads back equal, quoting what kubectl would misread', () => {
    const obj = canonicalize({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'tricky', namespace: 'shop' },
      data: {
        bool: 'yes',
        off: 'off',
        octal: '0123',
        date: '2024-01-01',
        time: '2024-01-01T00:00:00Z',
        sep: 'a\n---\nb',
        long: 'x'.repeat(300),
        empty: '',
        unicode: 'grüße ✓',
      },
    });
    const text = toYaml(obj);
    expect(text).toBe(toYaml(structuredClone(obj)));
    expect(text).toContain('bool: "yes"');
    expect(text).toContain('date: "2024-01-01"');
    expect(text).not.toMatch(/^---$/m);
    expect(parseYamlDocuments(text)).toEqual([obj]);
  });
});
