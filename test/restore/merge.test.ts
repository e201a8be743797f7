import { describe, expect, it } from 'vitest';
import { withoutTakenNodePorts, type KubeObject } from '../../lib/resources/index.js';
import { isMergedOnRestore, mergeServiceAccount } from '../../lib/restore/merge.js';

const liveDefault = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: {
    name: 'default',
    namespace: 'shop',
    uid: 'u1',
    resourceVersion: '12',
    labels: { team: 'platform' },
  },
});

describe("merging a backup's ServiceAccount into the one the cluster made", () => {
  it('adds the imagePullSecrets, labels and annotations the live one lacks', () => {
    const backup: KubeObject = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'default',
        namespace: 'shop',
        labels: { team: 'shop', tier: 'web' },
        annotations: { a: 'b' },
      },
      imagePullSecrets: [{ name: 'regcred' }],
    };
    const merged = mergeServiceAccount(backup, liveDefault())!;
    expect(merged.body.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    // What is live is never changed: the platform's label stays.
    expect(merged.body.metadata.labels).toEqual({ team: 'platform', tier: 'web' });
    expect(merged.body.metadata.annotations).toEqual({ a: 'b' });
    expect(merged.body.metadata.resourceVersion).toBe('12');
    expect(merged.added).toEqual(['label tier', 'annotation a', 'imagePullSecrets regcred']);
  });

  it('changes nothing when the live one already has everything', () => {
    const live = { ...liveDefault(), imagePullSecrets: [{ name: 'regcred' }] };
    const backup = { ...liveDefault(), imagePullSecrets: [{ name: 'regcred' }] };
    expect(mergeServiceAccount(backup, live)).toBeUndefined();
  });

  it("never writes for nsbackup's own restored-from label alone", () => {
    const backup = liveDefault();
    backup.metadata.labels = { team: 'platform', 'nsbackup.io/restored-from': '20261121-100000-aaaaaa' };
    expect(mergeServiceAccount(backup, liveDefault())).toBeUndefined();
  });

  it('is done for the default ServiceAccount only, the one the cluster makes', () => {
    expect(isMergedOnRestore(liveDefault())).toBe(true);
    expect(isMergedOnRestore({ ...liveDefault(), metadata: { name: 'web', namespace: 'shop' } })).toBe(false);
    expect(
      isMergedOnRestore({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' } }),
    ).toBe(false);
  });
});

describe('a Service whose node port is taken', () => {
  const service = (): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop2' },
    spec: {
      type: 'NodePort',
      ports: [
        { name: 'http', port: 80, nodePort: 30080 },
        { name: 'https', port: 443, nodePort: 30443 },
      ],
    },
  });

  it('drops only the ports the API server named', () => {
    const message =
      'Service "web" is invalid: spec.ports[1].nodePort: Invalid value: 30443: provided port is already allocated';
    const retry = withoutTakenNodePorts(service(), message)!;
    expect(retry.taken).toEqual([30443]);
    expect((retry.service.spec as { ports: unknown[] }).ports).toEqual([
      { name: 'http', port: 80, nodePort: 30080 },
      { name: 'https', port: 443 },
    ]);
  });

  it('leaves other 422s alone', () => {
    expect(withoutTakenNodePorts(service(), 'spec.ports[0].port: Invalid value: 0')).toBeUndefined();
  });
});
