import { describe, expect, it } from 'vitest';
import {
  ResourceIndex,
  apiPathOf,
  guessApiPathOf,
  guessPlural,
  isExportable,
  parseApiPath,
  type ResourceInfo,
} from '../../lib/resources/index.js';

const configmaps: ResourceInfo = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  shortNames: ['cm'],
};
const deployments: ResourceInfo = {
  ...configmaps,
  group: 'apps',
  resource: 'deployments',
  kind: 'Deployment',
};
const storageclasses: ResourceInfo = {
  ...configmaps,
  group: 'storage.k8s.io',
  resource: 'storageclasses',
  kind: 'StorageClass',
  namespaced: false,
};

describe('apiPathOf', () => {
  it('builds core, group and cluster-scoped paths', () => {
    expect(apiPathOf(configmaps, 'shop', 'x')).toBe('/api/v1/namespaces/shop/configmaps/x');
    expect(apiPathOf(deployments, 'shop', 'web')).toBe('/apis/apps/v1/namespaces/shop/deployments/web');
    expect(apiPathOf(storageclasses, 'ignored', 'fast')).toBe('/apis/storage.k8s.io/v1/storageclasses/fast');
    expect(apiPathOf(deployments, 'shop')).toBe('/apis/apps/v1/namespaces/shop/deployments');
  });

  it('refuses a namespaced path without a namespace', () => {
    expect(() => apiPathOf(configmaps, undefined, 'x')).toThrow(/namespaced/);
  });

  it('parses its own paths back, including escaped names', () => {
    const path = apiPathOf(
      { ...configmaps, group: 'rbac.authorization.k8s.io', resource: 'roles' },
      'shop',
      'system:a b',
    );
    expect(parseApiPath(path)).toEqual({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      namespace: 'shop',
      resource: 'roles',
      name: 'system:a b',
    });
    expect(parseApiPath('/apis/storage.k8s.io/v1/storageclasses/fast').namespace).toBeUndefined();
    expect(() => parseApiPath('/healthz')).toThrow(/not an API object path/);
  });
});

describe('isExportable', () => {
  it('needs list, get, create and delete, and no subresource', () => {
    expect(isExportable(configmaps)).toBe(true);
    expect(isExportable({ ...configmaps, verbs: ['get', 'list', 'watch'] })).toBe(false); // e.g. componentstatuses
    expect(isExportable({ ...configmaps, verbs: ['create'], resource: 'bindings' })).toBe(false);
    expect(isExportable({ ...configmaps, resource: 'pods/log' })).toBe(false);
  });
});

describe('plurals without discovery', () => {
  it('guesses the built-in plurals right', () => {
    expect(guessPlural('Ingress')).toBe('ingresses');
    expect(guessPlural('NetworkPolicy')).toBe('networkpolicies');
    expect(guessPlural('Endpoints')).toBe('endpoints');
    expect(guessPlural('Gateway')).toBe('gateways');
    expect(guessApiPathOf({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv1' } })).toBe(
      '/api/v1/persistentvolumes/pv1',
    );
  });

  it('uses discovery for a CRD with an unusual plural', () => {
    const index = new ResourceIndex([
      {
        group: 'example.com',
        version: 'v1',
        resource: 'octopi',
        kind: 'Octopus',
        namespaced: true,
        verbs: [],
      },
      {
        group: 'example.com',
        version: 'v1',
        resource: 'octopi/status',
        kind: 'Octopus',
        namespaced: true,
        verbs: [],
      },
    ]);
    const obj = { apiVersion: 'example.com/v1', kind: 'Octopus', metadata: { name: 'o', namespace: 'sea' } };
    expect(index.pathOf(obj)).toBe('/apis/example.com/v1/namespaces/sea/octopi/o');
    expect(() => index.pathOf({ ...obj, kind: 'Squid' })).toThrow(/unknown resource type Squid/);
  });
});
