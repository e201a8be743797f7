import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeKubernetesProtobuf,
  decodeMessage,
  readWireFields,
  UnsupportedProtobufError,
} from './protobuf.js';

const fixtures = join(import.meta.dirname, 'fixtures');
// Captured from kubectl 1.32 by fixtures/capture-kubectl-job.ts: the POST body of
// `kubectl create job manual-1 --from=cronjob/<name>`, and the same kubectl's `--dry-run=client -o json`,
// for a CronJob shaped like ours (rich) and one that sets nearly every other field in the table (wide).
const captured = (variant: string) => ({
  body: readFileSync(join(fixtures, `job-from-cronjob-${variant}.pb`)),
  json: JSON.parse(readFileSync(join(fixtures, `job-from-cronjob-${variant}.json`), 'utf8')),
});
const kubectlBody = captured('rich').body;

// A minimal protobuf writer, to build inputs field by field.
function varint(value: bigint | number): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
}
const tag = (field: number, wireType: number) => varint((field << 3) | wireType);
const int = (field: number, value: bigint | number) => Buffer.concat([tag(field, 0), varint(value)]);
const bytes = (field: number, value: Buffer | string) => {
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([tag(field, 2), varint(buf.length), buf]);
};
const msg = (field: number, ...parts: Buffer[]) => bytes(field, Buffer.concat(parts));
function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('k8s\0', 'binary'),
    msg(1, bytes(1, apiVersion), bytes(2, kind)),
    bytes(2, raw),
    bytes(3, ''),
    bytes(4, ''),
  ]);
}

describe('decodeKubernetesProtobuf on what kubectl really sends', () => {
  const job = decodeKubernetesProtobuf(kubectlBody);

  it.each(['rich', 'wide'])('yields exactly the JSON kubectl would have sent (%s CronJob)', (variant) => {
    const { body, json } = captured(variant);
    expect(decodeKubernetesProtobuf(body)).toEqual(json);
  });

  it('keeps what create job --from=cronjob adds and what the pod template carries', () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.metadata.annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(job.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'nsbackup',
        uid: '0b7d3a56-8f1e-4c52-9a55-3f0c4f7a9e11',
        controller: true,
      },
    ]);
    const pod = job.spec.template.spec;
    const backup = pod.containers[0];
    expect(backup.env.find((e: any) => e.name === 'PGPASSWORD').valueFrom).toEqual({
      secretKeyRef: { name: 'db-credentials', key: 'password' },
    });
    expect(backup.resources).toEqual({
      limits: { cpu: '1', memory: '512Mi', 'ephemeral-storage': '2Gi' },
      requests: { cpu: '100m', memory: '128Mi' },
    });
    expect(backup.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(pod.volumes.slice(0, 2)).toEqual([
      { name: 'locks', hostPath: { path: '/tmp/nsbackup-locks', type: 'DirectoryOrCreate' } },
      { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
    ]);
    expect(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe(
      'kubernetes.io/hostname',
    );
    // Zero values that were set survive (pointers), zero values that were not do not appear.
    expect(job.spec.backoffLimit).toBe(0);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod).not.toHaveProperty('hostNetwork');
    expect(job.metadata).not.toHaveProperty('namespace');
  });

  it('refuses a field the table does not know, naming message and field, instead of dropping it', () => {
    // A Job whose metadata carries a field a newer client might send (number 99).
    const body = envelope('batch/v1', 'Job', msg(1, bytes(1, 'x'), bytes(99, 'surprise')));
    expect(() => decodeKubernetesProtobuf(body)).toThrow(UnsupportedProtobufError);
    expect(() => decodeKubernetesProtobuf(body)).toThrow(
      'ObjectMeta field 99 (wire type 2) is not supported',
    );
  });
});

// Captured by fixtures/capture-kubectl-create.ts: the POST body of each of kubectl 1.32's typed generators, and the
// same kubectl's `--dry-run=client -o json` for the same command line.
const generators = [
  'namespace',
  'configmap',
  'secret',
  'serviceaccount',
  'deployment',
  'service',
  'role',
  'rolebinding',
  'clusterrole',
  'clusterrole-aggregated',
  'clusterrolebinding',
];
const generated = (name: string) => ({
  body: readFileSync(join(fixtures, `create-${name}.pb`)),
  json: JSON.parse(readFileSync(join(fixtures, `create-${name}.json`), 'utf8')),
});

describe('decodeKubernetesProtobuf on what kubectl create <kind> sends', () => {
  it.each(generators)('yields exactly the JSON kubectl would have sent (create %s)', (name) => {
    const { body, json } = generated(name);
    expect(decodeKubernetesProtobuf(body)).toEqual(json);
  });

  it('keeps bytes as base64 and the zero values Go writes (targetPort, strategy, empty status)', () => {
    expect(decodeKubernetesProtobuf(generated('configmap').body).binaryData).toEqual({ blob: 'AP/+gEEK' });
    expect(decodeKubernetesProtobuf(generated('secret').body).data['key.bin']).toBe('AP/+gEEK');
    const svc = decodeKubernetesProtobuf(generated('service').body);
    expect(svc.spec.ports.map((p: any) => p.targetPort)).toEqual([5432, 'http']);
    expect(svc.status).toEqual({ loadBalancer: {} });
    const deploy = decodeKubernetesProtobuf(generated('deployment').body);
    expect([deploy.spec.strategy, deploy.status]).toEqual([{}, {}]);
  });
});

describe('generator kinds, field by field', () => {
  it('decodes a Secret with stringData and immutable, which kubectl create never sets', () => {
    const secret = Buffer.concat([
      msg(1, bytes(1, 's')),
      int(5, 1),
      msg(2, bytes(1, 'raw'), bytes(2, Buffer.from([0xff, 0x00]))),
      msg(4, bytes(1, 'pw'), bytes(2, 'hunter2')),
      bytes(3, 'Opaque'),
    ]);
    expect(decodeKubernetesProtobuf(envelope('v1', 'Secret', secret))).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', creationTimestamp: null },
      immutable: true,
      data: { raw: '/wA=' },
      stringData: { pw: 'hunter2' },
      type: 'Opaque',
    });
  });

  it('decodes a rolling update with percentages and a set zero, and a ServiceAccount with its references', () => {
    const strategy = msg(
      4,
      bytes(1, 'RollingUpdate'),
      msg(2, msg(1, int(1, 1), bytes(3, '25%')), msg(2, int(1, 0))),
    );
    const deploy = decodeKubernetesProtobuf(envelope('apps/v1', 'Deployment', msg(2, int(1, 0), strategy)));
    expect(deploy.spec).toEqual({
      replicas: 0,
      template: { metadata: { creationTimestamp: null }, spec: { containers: null } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 0 } },
    });
    const sa = Buffer.concat([
      msg(2, bytes(1, 'Secret'), bytes(3, 'token')),
      msg(3, bytes(1, 'pull')),
      int(4, 0),
    ]);
    expect(decodeKubernetesProtobuf(envelope('v1', 'ServiceAccount', sa))).toMatchObject({
      secrets: [{ kind: 'Secret', name: 'token' }],
      imagePullSecrets: [{ name: 'pull' }],
      automountServiceAccountToken: false,
    });
  });

  it('writes a Role without rules as rules: null, as Go does', () => {
    expect(
      decodeKubernetesProtobuf(envelope('rbac.authorization.k8s.io/v1', 'Role', Buffer.alloc(0))),
    ).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { creationTimestamp: null },
      rules: null,
    });
  });

  it('refuses what the tables leave out: a Service status with content, session affinity config', () => {
    const ingress = msg(3, msg(1, msg(1, bytes(1, '10.0.0.1'))));
    expect(() => decodeKubernetesProtobuf(envelope('v1', 'Service', ingress))).toThrow(
      'LoadBalancerStatus field 1 (wire type 2) is not supported',
    );
    const affinity = msg(2, msg(14, msg(1, int(1, 60))));
    expect(() => decodeKubernetesProtobuf(envelope('v1', 'Service', affinity))).toThrow(
      'ServiceSpec field 14 (wire type 2) is not supported',
    );
  });
});

describe('decodeKubernetesProtobuf envelope', () => {
  it('requires the k8s\\0 magic', () => {
    expect(() => decodeKubernetesProtobuf(Buffer.from('{"kind":"Job"}'))).toThrow(UnsupportedProtobufError);
  });

  it('refuses kinds it has no schema for', () => {
    expect(() => decodeKubernetesProtobuf(envelope('v1', 'Pod', Buffer.alloc(0)))).toThrow(
      'no protobuf schema for v1 Pod',
    );
  });

  it('refuses an encoded payload', () => {
    const body = Buffer.concat([
      Buffer.from('k8s\0', 'binary'),
      msg(1, bytes(1, 'batch/v1'), bytes(2, 'Job')),
      bytes(2, ''),
      bytes(3, 'gzip'),
    ]);
    expect(() => decodeKubernetesProtobuf(body)).toThrow('content encoding "gzip" is not supported');
  });

  it('writes the zero values Go writes to JSON for an empty Job', () => {
    expect(decodeKubernetesProtobuf(envelope('batch/v1', 'Job', Buffer.alloc(0)))).toEqual({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { creationTimestamp: null },
      spec: { template: { metadata: { creationTimestamp: null }, spec: { containers: null } } },
      status: {},
    });
  });
});

describe('message decoding', () => {
  it('renders Time as RFC 3339 seconds and an empty Time as null', () => {
    const meta = decodeMessage(
      'ObjectMeta',
      Buffer.concat([msg(8), msg(9, int(1, 1735787045), int(2, 500))]),
    );
    expect(meta).toEqual({ creationTimestamp: null, deletionTimestamp: '2025-01-02T03:04:05Z' });
  });

  it('renders IntOrString as a number or a string', () => {
    const byNumber = decodeMessage('TCPSocketAction', msg(1, int(1, 0), int(2, 5432), bytes(3, '')));
    const byName = decodeMessage('TCPSocketAction', msg(1, int(1, 1), int(2, 0), bytes(3, 'postgres')));
    expect(byNumber).toEqual({ port: 5432 });
    expect(byName).toEqual({ port: 'postgres' });
  });

  it('reads repeated int64 one per field and packed alike', () => {
    const unpacked = decodeMessage('PodSecurityContext', Buffer.concat([int(4, 2000), int(4, 3000)]));
    const packed = decodeMessage('PodSecurityContext', bytes(4, Buffer.concat([varint(2000), varint(3000)])));
    expect(unpacked).toEqual({ supplementalGroups: [2000, 3000] });
    expect(packed).toEqual(unpacked);
  });

  it('decodes negative numbers and maps of quantities', () => {
    const entry = (k: string, v: string) => msg(1, bytes(1, k), msg(2, bytes(1, v)));
    expect(
      decodeMessage('ResourceRequirements', Buffer.concat([entry('cpu', '250m'), entry('memory', '1Gi')])),
    ).toEqual({ limits: { cpu: '250m', memory: '1Gi' } });
    expect(decodeMessage('Probe', int(2, -1))).toEqual({ initialDelaySeconds: -1 });
  });

  it('merges inline members into the parent object', () => {
    const volume = decodeMessage(
      'Volume',
      Buffer.concat([bytes(1, 'cfg'), msg(2, msg(19, msg(1, bytes(1, 'app'))))]),
    );
    expect(volume).toEqual({ name: 'cfg', configMap: { name: 'app' } });
  });

  it('refuses a volume source outside the table', () => {
    const gcePersistentDisk = msg(3, bytes(1, 'disk-1'));
    expect(() => decodeMessage('Volume', Buffer.concat([bytes(1, 'v'), msg(2, gcePersistentDisk)]))).toThrow(
      'VolumeSource field 3 (wire type 2) is not supported',
    );
  });

  it('refuses a known field with the wrong wire type', () => {
    expect(() => decodeMessage('ObjectMeta', int(1, 5))).toThrow('ObjectMeta.name: wire type 0, expected 2');
  });
});

describe('readWireFields', () => {
  it('reads multi-byte varints, fixed32, fixed64 and length-delimited fields in order', () => {
    const fixed32 = Buffer.alloc(4);
    fixed32.writeUInt32LE(0xdeadbeef);
    const fixed64 = Buffer.alloc(8);
    fixed64.writeBigUInt64LE(0x0102030405060708n);
    const buf = Buffer.concat([
      Buffer.from([0x08, 0xac, 0x02]), // field 1, varint 300
      tag(2, 5),
      fixed32,
      tag(3, 1),
      fixed64,
      bytes(16, 'hi'), // a two-byte key
    ]);
    expect(readWireFields(buf)).toEqual([
      { field: 1, wireType: 0, value: 300n },
      { field: 2, wireType: 5, value: 0xdeadbeefn },
      { field: 3, wireType: 1, value: 0x0102030405060708n },
      { field: 16, wireType: 2, value: Buffer.from('hi') },
    ]);
  });

  it('reads a negative int64 as its ten-byte two’s complement', () => {
    const [field] = readWireFields(int(1, -2n));
    expect(int(1, -2n).length).toBe(11);
    expect(BigInt.asIntN(64, field.value as bigint)).toBe(-2n);
  });

  it('refuses truncated input and group wire types', () => {
    expect(() => readWireFields(Buffer.from([0x08, 0x80]))).toThrow('truncated varint');
    expect(() => readWireFields(Buffer.from([0x0a, 0x05, 0x61]))).toThrow('truncated field');
    expect(() => readWireFields(Buffer.from([0x0b]))).toThrow('wire type 3');
  });
});
