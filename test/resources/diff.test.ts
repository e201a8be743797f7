import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  diffObjects,
  exclusionContextOf,
  prepareForRestore,
  regeneratedReason,
  unifiedDiff,
  type KubeObject,
} from '../../lib/resources/index.js';
import { configMap, deployment, replicaSet, shopNamespace } from './fixtures.js';

const backup = () => shopNamespace().map((o) => canonicalize(o));

describe('diffObjects', () => {
  it('finds nothing between a backup and the namespace it came from, status and all', () => {
    const live = shopNamespace();
    (live[0].status as any).readyReplicas = 1; // status never counts
    live[0].metadata.resourceVersion = '99999';
    const result = diffObjects(backup(), live);
    expect(result.identical).toBe(true);
    expect(result.unchanged).toBeGreaterThan(5);
  });

  it('reports added, removed and changed objects with field-level changes', () => {
    const live = shopNamespace().filter((o) => o.kind !== 'CronJob');
    const web = live.find((o) => o.kind === 'Deployment')!;
    (web.spec as any).replicas = 5;
    (web.spec as any).template.spec.containers[0].image = 'nginx:1.28';
    web.metadata.labels!['app.kubernetes.io/part-of'] = 'shop';
    live.push(configMap('new-settings'));
    live.push({ ...replicaSet(), metadata: { ...replicaSet().metadata, name: 'web-other' } }); // controller-made: ignored

    const result = diffObjects(backup(), live);
    expect(result.identical).toBe(false);
    expect(result.differences.map((d) => `${d.status} ${d.path}`)).toEqual([
      'added /api/v1/namespaces/shop/configmaps/new-settings',
      'changed /apis/apps/v1/namespaces/shop/deployments/web',
      'removed /apis/batch/v1/namespaces/shop/cronjobs/report',
    ]);
    const changed = result.differences[1];
    expect(changed.changes).toEqual([
      { field: 'metadata.labels["app.kubernetes.io/part-of"]', live: 'shop' },
      { field: 'spec.replicas', backup: 3, live: 5 },
      { field: 'spec.template.spec.containers[0].image', backup: 'nginx:1.27', live: 'nginx:1.28' },
    ]);
    expect(changed.unified).toContain('-  replicas: 3\n+  replicas: 5\n');
    expect(changed.unified).toContain('+    app.kubernetes.io/part-of: shop\n');
    expect(
      changed.unified.startsWith('--- backup /apis/apps/v1/namespaces/shop/deployments/web\n+++ live '),
    ).toBe(true);
  });

  it('sees no difference after a restore into a mapped namespace, unless asked to be strict', () => {
    const context = exclusionContextOf(shopNamespace());
    const restored = shopNamespace()
      .filter((o) => !regeneratedReason(o, context))
      .map((o) =>
        prepareForRestore(canonicalize(o), { backupId: 'b1', namespaceMapping: { shop: 'shop-copy' } }),
      );
    // What the target cluster then fills in by itself.
    const web = restored.find((o) => o.kind === 'Service' && o.metadata.name === 'web')!;
    (web.spec as any).clusterIP = '10.96.0.77';
    const result = diffObjects(backup(), restored, { namespaceMapping: { shop: 'shop-copy' } });
    expect(result.differences).toEqual([]);
    const strict = diffObjects(backup(), restored, {
      namespaceMapping: { shop: 'shop-copy' },
      ignoreRestoreChanges: false,
    });
    expect(strict.differences.length).toBeGreaterThan(5);
    expect(strict.differences.find((d) => d.path.endsWith('/services/web'))!.changes).toContainEqual({
      field: 'spec.clusterIP',
      backup: '10.96.12.34',
      live: '10.96.0.77',
    });
  });

  it('compares lists by position and reports a removed field', () => {
    const a = canonicalize(deployment());
    const b: KubeObject = structuredClone(a);
    (b.spec as any).template.spec.containers.push({ name: 'sidecar', image: 'envoy' });
    delete (b.spec as any).selector;
    const [diff] = diffObjects([a], [b]).differences;
    expect(diff.changes).toEqual([
      { field: 'spec.selector', backup: { matchLabels: { app: 'web' } } },
      { field: 'spec.template.spec.containers[1]', live: { image: 'envoy', name: 'sidecar' } },
    ]);
  });
});

describe('unifiedDiff', () => {
  it('gives hunks with three lines of context and correct line numbers', () => {
    const left = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    const right = left.replace('line 5\n', 'line five\n').replace('line 18\n', '');
    expect(unifiedDiff(left, right, { from: 'a', to: 'b' })).toBe(
      [
        '--- a',
        '+++ b',
        '@@ -2,7 +2,7 @@',
        ' line 2',
        ' line 3',
        ' line 4',
        '-line 5',
        '+line five',
        ' line 6',
        ' line 7',
        ' line 8',
        '@@ -15,6 +15,5 @@',
        ' line 15',
        ' line 16',
        ' line 17',
        '-line 18',
        ' line 19',
        ' line 20',
        '',
      ].join('\n'),
    );
    expect(unifiedDiff(left, left, { from: 'a', to: 'b' })).toBe('');
  });
});
