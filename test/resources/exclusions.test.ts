import { describe, expect, it } from 'vitest';
import {
  exclusionContextOf,
  regeneratedReason,
  withoutTokenSecretRefs,
  type KubeObject,
} from '../../lib/resources/index.js';
import { appSecret, configMap, endpointsOf, replicaSet, shopNamespace, tokenSecret } from './fixtures.js';

const ctx = exclusionContextOf(shopNamespace());
const reason = (obj: KubeObject) => regeneratedReason(obj, ctx);

describe('regeneratedReason', () => {
  it('keeps what a user made and leaves out what the cluster regenerates in a real namespace', () => {
    const kept = shopNamespace()
      .filter((obj) => reason(obj) === null)
      .map((obj) => `${obj.kind}/${obj.metadata.name}`);
    expect(kept).toEqual([
      'Deployment/web',
      'Service/db',
      'Service/web',
      'PersistentVolumeClaim/data-db-0',
      'RoleBinding/web-reader',
      'Secret/db-password',
      'ConfigMap/settings',
      'CustomResourceDefinition/widgets.example.com',
      'Widget/blue',
      'CronJob/report',
      'ServiceAccount/web',
    ]);
  });

  it("leaves out a volume mover's claim a killed backup left behind, but keeps the application's claims", () => {
    const claim = (labels: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'nsbackup-clone-data-abcde', namespace: 'shop', labels },
      spec: {},
    });
    const mover = {
      'app.kubernetes.io/managed-by': 'nsbackup',
      'app.kubernetes.io/name': 'nsbackup',
      'nsbackup.io/mover': 'backup',
    };
    expect(reason(claim(mover))).toBe("nsbackup's own volume mover claim");
    expect(reason(claim({ 'app.kubernetes.io/managed-by': 'nsbackup' }))).toBeNull();
    expect(reason(claim({}))).toBeNull();
  });

  it("leaves out nsbackup's own VolumeSnapshots, which retention changes daily, but keeps a user's", () => {
    const snapshot = (labels: Record<string, string>): KubeObject => ({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'data-1', namespace: 'shop', labels },
      spec: { source: { persistentVolumeClaimName: 'data' } },
    });
    expect(reason(snapshot({ 'nsbackup.io/backup': '20261121-020000-abcdef' }))).toMatch(
      /nsbackup's own snapshot/,
    );
    expect(reason(snapshot({ app: 'manual' }))).toBeNull();
  });

  it('names the reason', () => {
    expect(reason(replicaSet())).toBe('created by its controller Deployment/web');
    expect(reason(tokenSecret())).toMatch(/service-account token/);
    expect(reason(endpointsOf('web'))).toMatch(/endpoints of Service web/);
    expect(
      reason({ apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e', namespace: 'shop' } }),
    ).toMatch(/events/);
    expect(
      reason({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'l', namespace: 'shop' },
      }),
    ).toMatch(/leases/);
  });

  it('keeps a non-controller ownerReference (only controllers regenerate)', () => {
    const owned = configMap();
    owned.metadata.ownerReferences = [
      { apiVersion: 'example.com/v1', kind: 'Widget', name: 'blue', uid: 'u' },
    ];
    expect(reason(owned)).toBeNull();
  });

  it('keeps hand-written endpoints of a Service without selector', () => {
    const external: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'legacy-db', namespace: 'shop' },
      spec: { ports: [{ port: 5432 }] },
    };
    const context = exclusionContextOf([external]);
    expect(regeneratedReason(endpointsOf('legacy-db'), context)).toBeNull();
    expect(regeneratedReason(endpointsOf('orphan'), context)).toBeNull();
  });

  it('leaves out controller-made endpoint slices but keeps hand-made ones', () => {
    const slice = (managedBy: string): KubeObject => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'web-abc',
        namespace: 'shop',
        labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': managedBy },
      },
    });
    expect(reason(slice('endpointslice-controller.k8s.io'))).toMatch(/endpoint slice/);
    expect(reason(slice('my-operator'))).toBeNull();
  });

  it('keeps a default ServiceAccount someone changed', () => {
    const sa: KubeObject = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: 'shop' },
      imagePullSecrets: [{ name: 'registry' }],
    };
    expect(reason(sa)).toBeNull();
  });

  it("leaves out nsbackup's own runs, finished pods and finished jobs, but not running ones", () => {
    const job = (status: unknown, labels?: Record<string, string>): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j', namespace: 'shop', labels },
      status,
    });
    expect(reason(job({}, { 'app.kubernetes.io/managed-by': 'nsbackup' }))).toMatch(/nsbackup/);
    expect(reason(job({ conditions: [{ type: 'Complete', status: 'True' }] }))).toMatch(/run it again/);
    expect(reason(job({ conditions: [{ type: 'Failed', status: 'True' }] }))).toMatch(/Failed/);
    expect(reason(job({ active: 1 }))).toBeNull();
    const pod = (phase: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'shop' },
      status: { phase },
    });
    expect(reason(pod('Succeeded'))).toMatch(/completed pod/);
    expect(reason(pod('Running'))).toBeNull();
  });

  it('keeps an opaque Secret', () => {
    expect(reason(appSecret())).toBeNull();
  });

  it('leaves out an object being deleted: it is going away', () => {
    const going = configMap();
    going.metadata.deletionTimestamp = '2026-11-21T01:00:00Z';
    going.metadata.finalizers = ['example.com/hold'];
    expect(reason(going)).toBe('being deleted (deletionTimestamp set)');
  });
});

describe('withoutTokenSecretRefs', () => {
  const account = (secrets: { name: string }[]): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'web', namespace: 'shop' },
    secrets,
  });

  it("drops a ServiceAccount's entries naming token Secrets left out, and keeps a user's Secret", () => {
    const context = exclusionContextOf([tokenSecret(), appSecret()]);
    expect(
      withoutTokenSecretRefs(account([{ name: 'web-token' }, { name: appSecret().metadata.name! }]), context),
    ).toEqual(account([{ name: appSecret().metadata.name! }]));
    expect(withoutTokenSecretRefs(account([{ name: 'web-token' }]), context)).not.toHaveProperty('secrets');
  });

  it('leaves the ServiceAccount as it is when it names no token Secret', () => {
    const sa = account([{ name: 'registry' }]);
    expect(withoutTokenSecretRefs(sa, exclusionContextOf([tokenSecret()]))).toBe(sa);
  });
});
