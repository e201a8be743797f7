import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalize,
  exclusionContextOf,
  exportFileOf,
  guessApiPathOf,
  readExportDir,
  regeneratedReason,
  writeExportDir,
  type KubeObject,
} from '../../lib/resources/index.js';
import { boundPv, shopNamespace } from './fixtures.js';

const ctx = exclusionContextOf(shopNamespace());
const exported = (): KubeObject[] => [
  ...shopNamespace()
    .filter((o) => !regeneratedReason(o, ctx))
    .map((o) => canonicalize(o)),
  canonicalize(boundPv()),
  canonicalize({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'system:reader/x', namespace: 'shop' },
  }),
];
const pathed = (objects: KubeObject[]) => objects.map((object) => ({ path: guessApiPathOf(object), object }));

describe('export folder layout', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nsbackup-export-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('puts each object in a folder per type, cluster-scoped ones under _cluster', () => {
    expect(exportFileOf('/apis/apps/v1/namespaces/shop/deployments/web')).toBe('apps.deployments/web.yaml');
    expect(exportFileOf('/api/v1/namespaces/shop/configmaps/settings')).toBe('configmaps/settings.yaml');
    expect(exportFileOf('/apis/storage.k8s.io/v1/storageclasses/fast')).toBe(
      '_cluster/storage.k8s.io.storageclasses/fast.yaml',
    );
    expect(exportFileOf('/apis/rbac.authorization.k8s.io/v1/namespaces/shop/roles/system:reader%2Fx')).toBe(
      'rbac.authorization.k8s.io.roles/system%3Areader%2Fx.yaml',
    );
  });

  it('writes canonical YAML and reads the same objects back', async () => {
    const objects = exported();
    const result = await writeExportDir(dir, pathed(objects));
    expect(result.written).toContain('apps.deployments/web.yaml');
    expect(result.written).toContain('_cluster/persistentvolumes/pvc-3f1e.yaml');
    expect(result.written).toContain('example.com.widgets/blue.yaml');
    const text = await readFile(join(dir, 'apps.deployments/web.yaml'), 'utf8');
    expect(
      text.startsWith('apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n'),
    ).toBe(true);
    expect(text).not.toContain('resourceVersion');
    const back = await readExportDir(dir);
    const byPath = (list: KubeObject[]) => new Map(list.map((o) => [guessApiPathOf(o), o]));
    expect(byPath(back)).toEqual(byPath(objects));
  });

  it('prunes files of objects that are gone, and leaves other files alone', async () => {
    await mkdir(join(dir, '.git'), { recursive: true });
    await writeFile(join(dir, '.git', 'x.yaml'), 'not an object');
    await writeFile(join(dir, 'README.md'), 'notes');
    const fewer = exported().filter((o) => o.kind !== 'ConfigMap');
    const result = await writeExportDir(dir, pathed(fewer), { prune: true });
    expect(result.removed).toEqual(['configmaps/settings.yaml']);
    expect(await readdir(dir)).toContain('README.md');
    expect(await readdir(join(dir, '.git'))).toEqual(['x.yaml']);
    expect((await readExportDir(dir)).some((o) => o.kind === 'ConfigMap')).toBe(false);
  });

  it('names the file when one cannot be read', async () => {
    await writeFile(join(dir, 'configmaps', 'broken.yaml'), 'kind: ConfigMap\nmetadata: {}\n').catch(
      async () => {
        await mkdir(join(dir, 'configmaps'), { recursive: true });
        await writeFile(join(dir, 'configmaps', 'broken.yaml'), 'kind: ConfigMap\nmetadata: {}\n');
      },
    );
    await expect(readExportDir(dir)).rejects.toThrow(/configmaps\/broken.yaml: apiVersion missing/);
    await rm(join(dir, 'configmaps', 'broken.yaml'));
  });

  it('refuses two objects for one file', async () => {
    const cm = exported().find((o) => o.kind === 'Secret')!;
    await expect(writeExportDir(dir, pathed([cm, cm]))).rejects.toThrow(
      /two objects map to secrets\/db-password.yaml/,
    );
  });
});
