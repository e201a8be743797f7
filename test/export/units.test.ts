// The pure parts of the export: discovery documents to resource lists, the prefetch window, key files.
import { describe, expect, it } from 'vitest';
import {
  chooseLatestSucceeded,
  discoveryGaps,
  noSucceededBackupMessage,
  outcomeWarning,
  type BackupCandidate,
  isAlwaysRegenerated,
  mergeGroupVersions,
  namespacedExportResources,
  resourcesOf,
  servedGroupVersions,
} from '../../lib/export/index.js';
import { encryptionKeyFor, parseKeyFile } from '../../lib/crypto/index.js';
import { pagesOf } from '../../lib/export/collect.js';
import { prefetch } from '../../lib/export/prefetch.js';
import { KubeApiError } from '../../lib/kube/index.js';
import { generateEncryptionKey, parseEncryptionKey } from '../../lib/crypto/index.js';

const ALL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

describe('discovery', () => {
  const core = resourcesOf({
    groupVersion: 'v1',
    resources: [
      { name: 'configmaps', namespaced: true, kind: 'ConfigMap', verbs: ALL },
      { name: 'services', namespaced: true, kind: 'Service', verbs: ALL },
      { name: 'services/status', namespaced: true, kind: 'Service', verbs: ['get', 'patch', 'update'] },
      { name: 'pods/exec', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'events', namespaced: true, kind: 'Event', verbs: ALL },
      { name: 'bindings', namespaced: true, kind: 'Binding', verbs: ['create'] },
      { name: 'componentstatuses', namespaced: false, kind: 'ComponentStatus', verbs: ['get', 'list'] },
      { name: 'persistentvolumes', namespaced: false, kind: 'PersistentVolume', verbs: ALL },
    ],
  });
  const apps = resourcesOf({
    groupVersion: 'apps/v1',
    resources: [{ name: 'deployments', namespaced: true, kind: 'Deployment', verbs: ALL }],
  });
  const coordination = resourcesOf({
    groupVersion: 'coordination.k8s.io/v1',
    resources: [{ name: 'leases', namespaced: true, kind: 'Lease', verbs: ALL }],
  });
  const metrics = resourcesOf({
    groupVersion: 'metrics.k8s.io/v1beta1',
    resources: [{ name: 'pods', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] }],
  });

  it('reads group and version from the list', () => {
    expect(apps[0]).toMatchObject({
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
      namespaced: true,
    });
    expect(core[0]).toMatchObject({ group: '', version: 'v1', resource: 'configmaps' });
  });

  it('lists namespaced resources with list, get, create and delete; Services first; never events or leases', () => {
    const chosen = namespacedExportResources([...core, ...apps, ...coordination, ...metrics]).map(
      (r) => `${r.group}/${r.resource}`,
    );
    expect(chosen).toEqual(['/services', '/configmaps', 'apps/deployments']);
    const withSecrets = namespacedExportResources([
      ...core,
      ...resourcesOf({
        groupVersion: 'v1',
        resources: [{ name: 'secrets', namespaced: true, kind: 'Secret', verbs: ALL }],
      }),
    ]).map((r) => r.resource);
    // Services, then Secrets (the token Secrets left out are dropped from ServiceAccounts), then the rest.
    expect(withSecrets).toEqual(['services', 'secrets', 'configmaps']);
  });

  it('asks the exclusion rule which kinds are always regenerated', () => {
    expect(isAlwaysRegenerated({ group: 'events.k8s.io', version: 'v1', kind: 'Event' })).toBe(true);
    expect(isAlwaysRegenerated({ group: '', version: 'v1', kind: 'Pod' })).toBe(false);
    expect(isAlwaysRegenerated({ group: '', version: 'v1', kind: 'Endpoints' })).toBe(false);
    // Served by a real 1.37 API server in every namespace, written only by the CSI provisioner and the kubelet:
    // never listed, so the chart's export Role need not grant them.
    expect(isAlwaysRegenerated({ group: 'storage.k8s.io', version: 'v1', kind: 'CSIStorageCapacity' })).toBe(
      true,
    );
    expect(
      isAlwaysRegenerated({
        group: 'certificates.k8s.io',
        version: 'v1beta1',
        kind: 'PodCertificateRequest',
      }),
    ).toBe(true);
  });

  it('reads every served version of each group, the preferred one first', () => {
    expect(
      servedGroupVersions({
        groups: [
          {
            name: 'autoscaling',
            versions: [
              { groupVersion: 'autoscaling/v1', version: 'v1' },
              { groupVersion: 'autoscaling/v2', version: 'v2' },
            ],
            preferredVersion: { groupVersion: 'autoscaling/v2', version: 'v2' },
          },
          { name: 'example.com', versions: [{ groupVersion: 'example.com/v1beta1', version: 'v1beta1' }] },
        ],
      }),
    ).toEqual([
      { group: 'autoscaling', groupVersions: ['autoscaling/v2', 'autoscaling/v1'] },
      { group: 'example.com', groupVersions: ['example.com/v1beta1'] },
    ]);
  });

  it("merges a group's versions as kubectl does: the preferred version wins, kinds only an older one serves are kept", () => {
    const merged = mergeGroupVersions([
      {
        groupVersion: 'example.org/v2',
        resources: [
          { name: 'gadgets', namespaced: true, kind: 'Gadget', verbs: ALL },
          { name: 'gadgets/status', namespaced: true, kind: 'Gadget', verbs: ['get'] },
        ],
      },
      {
        groupVersion: 'example.org/v1',
        resources: [
          { name: 'gadgets', namespaced: true, kind: 'Gadget', verbs: ALL },
          { name: 'gadgets/status', namespaced: true, kind: 'Gadget', verbs: ['get'] },
          { name: 'gizmos', namespaced: true, kind: 'Gizmo', verbs: ALL },
        ],
      },
    ]).map((r) => `${r.version}/${r.resource}`);
    expect(merged).toEqual(['v2/gadgets', 'v2/gadgets/status', 'v1/gizmos']);
  });
});

describe('discovery gaps', () => {
  it('records a group that may hold exportable types, not the read-only metrics APIs that are often down', () => {
    const gaps = discoveryGaps({
      unavailable: [
        { groupVersion: 'metrics.k8s.io/v1beta1', error: '503 service unavailable' },
        { groupVersion: 'custom.metrics.k8s.io/v1beta2', error: '503 service unavailable' },
        { groupVersion: 'example.com/v1', error: '503 service unavailable' },
      ],
    });
    expect(gaps.map((g) => g.what)).toEqual(['API group version example.com/v1']);
  });
});

describe('latest', () => {
  const run = (
    backupId: string,
    outcome: 'succeeded' | 'failed' | undefined,
    startedAt: string,
    hasManifest = true,
  ): BackupCandidate => ({
    backupId,
    hasManifest,
    ...(outcome
      ? {
          outcome: {
            formatVersion: 1,
            backupId,
            outcome,
            startedAt,
            finishedAt: startedAt,
            failures: outcome === 'failed' ? [`${backupId} broke`] : [],
          },
        }
      : {}),
  });

  it('is the newest run that succeeded by start time, not by id; a tie goes to the greater id', () => {
    const candidates = [
      run('20261121-020000-aaaaaa', 'succeeded', '2026-11-21T02:00:00Z'),
      run('manual-before-upgrade', 'succeeded', '2026-11-22T09:00:00Z'),
      run('20261123-020000-cccccc', 'failed', '2026-11-23T02:00:00Z'),
      run('20261124-020000-dddddd', undefined, ''),
      run('20261125-020000-eeeeee', 'succeeded', '2026-11-25T02:00:00Z', false),
    ];
    expect(chooseLatestSucceeded(candidates)?.backupId).toBe('manual-before-upgrade');
    expect(
      chooseLatestSucceeded([
        run('b', 'succeeded', '2026-11-21T02:00:00Z'),
        run('c', 'succeeded', '2026-11-21T02:00:00Z'),
      ])?.backupId,
    ).toBe('c');
  });

  it('says why there is none: the newest failed runs with their failures, and those without an outcome', () => {
    const message = noSucceededBackupMessage(
      [
        run('old', 'failed', '2026-11-20T02:00:00Z'),
        run('new', 'failed', '2026-11-21T02:00:00Z'),
        run('unfinished', undefined, ''),
      ],
      's3://b/nsbackup/prod/shop/',
    );
    expect(message).toBe(
      'no backup whose run succeeded under s3://b/nsbackup/prod/shop/; newest failed: ' +
        'new (started 2026-11-21T02:00:00Z: new broke), old (started 2026-11-20T02:00:00Z: old broke); ' +
        'without an outcome record (the run did not finish, or an older nsbackup wrote it): unfinished; ' +
        'name a backup id explicitly to use one of them anyway',
    );
  });

  it('warns about a named backup whose run failed or recorded nothing, and not about one that succeeded', () => {
    expect(outcomeWarning('a', run('a', 'succeeded', '2026-11-21T02:00:00Z').outcome)).toBeUndefined();
    expect(outcomeWarning('a', run('a', 'failed', '2026-11-21T02:00:00Z').outcome)).toMatch(
      /^backup a comes from a run that failed \(a broke\)/,
    );
    expect(outcomeWarning('a', undefined)).toMatch(/^backup a has no outcome record/);
  });
});

describe('prefetch', () => {
  it('keeps order and runs at most `ahead` items in front of the reader', async () => {
    let produced = 0;
    async function* source() {
      for (let i = 0; i < 10; i++) {
        produced++;
        yield i;
      }
    }
    const ahead = prefetch(source(), 2);
    await new Promise((r) => setTimeout(r, 20));
    // Two buffered, and the producer is stopped at its third yield.
    expect(produced).toBeLessThanOrEqual(3);
    const seen: number[] = [];
    for await (const item of ahead) {
      seen.push(item);
      expect(produced - seen.length).toBeLessThanOrEqual(3);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('hands over a failure after the items before it', async () => {
    async function* source() {
      yield 1;
      throw new Error('list failed');
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const item of prefetch(source(), 4)) seen.push(item);
      })(),
    ).rejects.toThrow('list failed');
    expect(seen).toEqual([1]);
  });
});

describe('encryption keys', () => {
  const shopKey = generateEncryptionKey();
  const anyKey = Buffer.from(parseEncryptionKey(generateEncryptionKey()).bytes).toString('hex');
  const file = (text: string | Buffer) => ({ readFile: () => Buffer.from(text) });

  it('reads one key from the variable or a file, and none when nothing is set', () => {
    expect(encryptionKeyFor({ key: shopKey }, 'shop')?.id).toBe(parseEncryptionKey(shopKey).id);
    expect(encryptionKeyFor({ keyFile: '/k' }, 'shop', file(`${shopKey}\n`))?.id).toBe(
      parseEncryptionKey(shopKey).id,
    );
    expect(encryptionKeyFor({}, 'shop')).toBeUndefined();
  });

  it('picks the namespace entry of a key map, else "*", and refuses a namespace without either', () => {
    const map = `shop: ${shopKey}\n"*": ${anyKey}\n`;
    expect(encryptionKeyFor({ keyFile: '/k' }, 'shop', file(map))?.id).toBe(parseEncryptionKey(shopKey).id);
    expect(encryptionKeyFor({ keyFile: '/k' }, 'billing', file(map))?.id).toBe(parseEncryptionKey(anyKey).id);
    expect(() => encryptionKeyFor({ keyFile: '/k' }, 'billing', file(`shop: ${shopKey}\n`))).toThrow(
      /no key for namespace "billing"/,
    );
  });

  it('refuses both settings at once, and bad keys without echoing them', () => {
    expect(() => encryptionKeyFor({ key: shopKey, keyFile: '/k' }, 'shop')).toThrow(/not both/);
    expect(() => parseKeyFile('shop: tooshort\n')).toThrow(/shop/);
    try {
      parseKeyFile('shop: tooshort\n');
    } catch (error) {
      expect((error as Error).message).not.toContain('tooshort');
    }
  });

  it('reports every key it read, so logs can mask them', () => {
    const seen: string[] = [];
    encryptionKeyFor({ keyFile: '/k' }, 'shop', {
      ...file(`shop: ${shopKey}\n`),
      onSecret: (s) => seen.push(s),
    });
    expect(seen).toContain(shopKey);
  });
});

describe('listing one resource type', () => {
  const info = {
    group: '',
    version: 'v1',
    resource: 'configmaps',
    kind: 'ConfigMap',
    namespaced: true,
    verbs: ALL,
  };
  const cm = (name: string) => ({ metadata: { name } });

  it('starts again when the continue token expired, without handing out an object twice', async () => {
    let calls = 0;
    const kube = {
      async *listPages() {
        calls++;
        yield { metadata: { resourceVersion: String(calls) }, items: [cm('a'), cm('b')] };
        if (calls === 1) throw new KubeApiError(410, 'Expired', 'continue token expired', 'GET', '/x');
        yield { metadata: {}, items: [cm('c')] };
      },
    } as any;
    const names: string[] = [];
    for await (const page of pagesOf(kube, info, 'shop', 2)) {
      names.push(...page.items.map((item) => `${item.kind}/${item.metadata.name}`));
    }
    expect(names).toEqual(['ConfigMap/a', 'ConfigMap/b', 'ConfigMap/c']);
    expect(calls).toBe(2);
  });

  it('skips a forbidden type with its reason, and fails on anything else', async () => {
    const failing = (code: number) =>
      ({
        // eslint-disable-next-line require-yield
        async *listPages() {
          throw new KubeApiError(code, 'x', `answered ${code}`, 'GET', '/x');
        },
      }) as any;
    const pages = [];
    for await (const page of pagesOf(failing(403), info, 'shop', 2)) pages.push(page);
    expect(pages).toEqual([
      expect.objectContaining({ items: [], skipped: expect.stringMatching(/forbidden/) }),
    ]);
    await expect(
      (async () => {
        for await (const _ of pagesOf(failing(500), info, 'shop', 2)) void _;
      })(),
    ).rejects.toThrow('answered 500');
  });
});
