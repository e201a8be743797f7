import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  guessApiPathOf,
  mapApiPath,
  parsePreferences,
  planRestore,
  type KubeObject,
} from '../../lib/resources/index.js';
import { boundPv, shopNamespace } from './fixtures.js';

const items = (objects: KubeObject[]) =>
  objects.map((o) => canonicalize(o)).map((object) => ({ path: guessApiPathOf(object), object }));

describe('planRestore', () => {
  it('excludes with reasons, maps, transforms and orders a namespace', () => {
    const plan = planRestore(
      items([...shopNamespace(), boundPv()]),
      parsePreferences(
        'excludeResources: [Secret]\nexisting: update\nupdatePaths: [/api/v1/namespaces/shop/configmaps/]',
      ),
      { backupId: 'b1', namespaceMapping: { shop: 'shop2' } },
    );
    expect(plan.excluded).toContainEqual({
      path: '/api/v1/namespaces/shop/secrets/db-password',
      reason: 'Secret matches excludeResources Secret',
    });
    expect(plan.excluded.find((e) => e.path.endsWith('/persistentvolumes/pvc-3f1e'))!.reason).toMatch(
      /rebindStorageClasses/,
    );
    // Canonical objects keep no status, so a ReplicaSet is recognised by its controller reference.
    expect(plan.excluded.find((e) => e.path.endsWith('/replicasets/web-7d9f8c'))!.reason).toMatch(
      /controller/,
    );

    const all = plan.steps.flatMap((step) => step.items);
    expect(plan.objectCount).toBe(all.length);
    const web = all.find((p) => p.path === '/apis/apps/v1/namespaces/shop/deployments/web')!;
    expect(web.targetPath).toBe('/apis/apps/v1/namespaces/shop2/deployments/web');
    expect(web.object.metadata.namespace).toBe('shop2');
    expect(web.object.metadata.labels!['nsbackup.io/restored-from']).toBe('b1');
    expect(web.ifExists).toBe('skip');
    expect(all.find((p) => p.path.endsWith('/configmaps/settings'))!.ifExists).toBe('update');
    expect(plan.steps.at(-1)!.name).toBe('workloads');
  });

  it('maps API paths, including a Namespace object', () => {
    expect(mapApiPath('/api/v1/namespaces/shop', { shop: 'b' })).toBe('/api/v1/namespaces/b');
    expect(mapApiPath('/api/v1/namespaces/shop/configmaps/x', { shop: 'b' })).toBe(
      '/api/v1/namespaces/b/configmaps/x',
    );
    expect(mapApiPath('/apis/storage.k8s.io/v1/storageclasses/shop', { shop: 'b' })).toBe(
      '/apis/storage.k8s.io/v1/storageclasses/shop',
    );
  });
});
