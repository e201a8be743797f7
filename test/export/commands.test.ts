// `nsbackup export` and `nsbackup diff` as a user runs them, on the emulator and s3rver.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { EXPORT_MARKER, readManifest } from '../../lib/export/index.js';
import { readOutcome } from '../../lib/resources/index.js';
import { connect, type KubeClient } from '../../lib/kube/index.js';
import { generateEncryptionKey } from '../../lib/crypto/index.js';
import { command as diffCommand } from '../../scripts/diff.js';
import { command as exportCommand } from '../../scripts/export.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { startS3, type LocalS3 } from '../kit/index.js';
import { SHOP_EXPORT_PATHS, shopObjects } from './shop.js';

let cluster: Cluster;
let s3: LocalS3;
let kube: KubeClient;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startCluster(), startS3()]);
  cluster.seed(...shopObjects());
  kube = connect({ kubeconfigPath: cluster.kubeconfigPath });
  work = await mkdtemp(join(tmpdir(), 'nsbackup-export-test-'));
  env = {
    ...s3.env,
    NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
    NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    NSBACKUP_CLUSTER_NAME: 'prod',
    // The whole namespace, cluster dependencies included; the defaults have their own tests below.
    NSBACKUP_EXPORT_SECRETS: 'include',
    NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES: 'true',
  };
});
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close(), work && rm(work, { recursive: true, force: true })]);
});

async function run(
  cmd: typeof exportCommand | typeof diffCommand,
  argv: string[],
  extraEnv: Record<string, string> = {},
) {
  const logs: string[] = [];
  let stdout = '';
  const code = await runCommand(cmd as any, {
    argv,
    env: { ...env, ...extraEnv },
    write: (line) => logs.push(line),
    out: (text) => (stdout += text),
  });
  return { code, stdout, logs: logs.join('\n') };
}

/** One hash over every file's relative path and content. */
async function folderHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (folder: string): Promise<void> => {
    for (const entry of (await readdir(folder, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else
        hash
          .update(relative(dir, full))
          .update('\0')
          .update(await readFile(full))
          .update('\0');
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((name) => name.endsWith('.yaml')).sort();
}

describe('nsbackup export --dir', () => {
  it('writes one canonical YAML file per object, and a second export of an unchanged namespace changes nothing', async () => {
    const dir = join(work, 'shop');
    const first = await run(exportCommand, ['-n', 'shop', '--dir', dir]);
    expect(first.code, first.logs).toBe(0);
    const files = await yamlFiles(dir);
    expect(files).toHaveLength(SHOP_EXPORT_PATHS.length);
    expect(files).toEqual(
      expect.arrayContaining([
        'configmaps/settings.yaml',
        'apps.deployments/web.yaml',
        'example.com.widgets/blue.yaml',
        join('_cluster', 'storage.k8s.io.storageclasses', 'fast.yaml'),
      ]),
    );
    const deployment = await readFile(join(dir, 'apps.deployments/web.yaml'), 'utf8');
    expect(deployment).toMatch(
      /^apiVersion: apps\/v1\nkind: Deployment\nmetadata:\n {2}name: web\n {2}namespace: shop\n/,
    );
    expect(deployment).not.toMatch(/uid|resourceVersion|creationTimestamp|status:/);

    const before = await folderHash(dir);
    const second = await run(exportCommand, ['-n', 'shop', '--dir', dir]);
    expect(second.code, second.logs).toBe(0);
    expect(await folderHash(dir)).toBe(before);
  });

  it('removes the file of an object deleted since, and refuses a folder it did not write', async () => {
    const dir = join(work, 'pruned');
    expect((await run(exportCommand, ['-n', 'shop', '--dir', dir])).code).toBe(0);
    cluster.seed({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'temp', namespace: 'shop' },
      data: {},
    });
    expect((await run(exportCommand, ['-n', 'shop', '--dir', dir])).code).toBe(0);
    expect(await yamlFiles(dir)).toContain('configmaps/temp.yaml');
    await kube.delete('/api/v1/namespaces/shop/configmaps/temp');
    expect((await run(exportCommand, ['-n', 'shop', '--dir', dir])).code).toBe(0);
    expect(await yamlFiles(dir)).not.toContain('configmaps/temp.yaml');

    // Another namespace's export folder, or a folder of someone's files: never pruned.
    expect((await run(exportCommand, ['-n', 'other', '--dir', dir])).code).toBe(1);
    const foreign = join(work, 'foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'notes.yaml'), 'keep: me\n');
    const refused = await run(exportCommand, ['-n', 'shop', '--dir', foreign]);
    expect(refused.code).toBe(1);
    expect(refused.logs).toContain(EXPORT_MARKER);
    expect(await readFile(join(foreign, 'notes.yaml'), 'utf8')).toBe('keep: me\n');
  });
});

describe('nsbackup export --dir --secrets mask', () => {
  it('writes no Secret value, and diff (namespace from the folder) still sees a changed one', async () => {
    const dir = join(work, 'masked');
    expect((await run(exportCommand, ['-n', 'shop', '--dir', dir, '--secrets', 'mask'])).code).toBe(0);
    const secret = await readFile(join(dir, 'secrets/db-password.yaml'), 'utf8');
    expect(secret).toMatch(/password: sha256:[0-9a-f]{12}\n/);
    expect(secret).not.toContain(Buffer.from('s3cr3t-pa55').toString('base64'));

    const equal = await run(diffCommand, ['--from', dir]);
    expect(equal.code, equal.stdout + equal.logs).toBe(0);
    const original = Buffer.from('s3cr3t-pa55').toString('base64');
    await kube.mergePatch('/api/v1/namespaces/shop/secrets/db-password', { data: { password: 'b3RoZXI=' } });
    try {
      const changed = await run(diffCommand, ['--from', dir]);
      expect(changed.code).toBe(1);
      expect(changed.stdout).toMatch(
        /changed \/api\/v1\/namespaces\/shop\/secrets\/db-password\n {4}data\.password: "sha256:/,
      );
    } finally {
      await kube.mergePatch('/api/v1/namespaces/shop/secrets/db-password', { data: { password: original } });
    }
  });
});

describe('nsbackup export to S3', () => {
  it('records its outcome: succeeded, or failed with exit 1 when a type could not be read, and latest skips that', async () => {
    const good = await run(exportCommand, ['-n', 'shop', '--backup-id', '20261122-010000-aaaaaa']);
    expect(good.code, good.logs).toBe(0);
    const store = s3.store();
    expect(await readOutcome(store, 'nsbackup/prod/shop/20261122-010000-aaaaaa/')).toMatchObject({
      formatVersion: 1,
      backupId: '20261122-010000-aaaaaa',
      outcome: 'succeeded',
      failures: [],
      // No VolumeSnapshot: an S3-only backup, expired by mark-and-delete as an ad-hoc one (kept 30 days at least).
      snapshots: [],
      type: 'adhoc',
      retain: { policy: 'gfs' },
      keepUntil: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10),
    });
    // --adhoc-keep-days 0: no floor, the policy alone decides.
    const unfloored = await run(exportCommand, [
      '-n',
      'shop',
      '--backup-id',
      '20261122-013000-cccccc',
      '--adhoc-keep-days',
      '0',
    ]);
    expect(unfloored.code, unfloored.logs).toBe(0);
    const noFloor = await readOutcome(store, 'nsbackup/prod/shop/20261122-013000-cccccc/');
    expect(noFloor).toMatchObject({ outcome: 'succeeded', type: 'adhoc', snapshots: [] });
    expect(noFloor).not.toHaveProperty('keepUntil');

    cluster.faults.add({ verb: 'list', path: /\/widgets$/, status: 403 });
    let bad;
    try {
      bad = await run(exportCommand, ['-n', 'shop', '--backup-id', '20261122-020000-bbbbbb']);
    } finally {
      cluster.faults.clear();
    }
    expect(bad.code).toBe(1);
    const outcome = await readOutcome(store, 'nsbackup/prod/shop/20261122-020000-bbbbbb/');
    expect(outcome).toMatchObject({
      outcome: 'failed',
      failures: [expect.stringContaining('widgets.example.com')],
    });
    // Newer, but failed: latest is the older one that succeeded, which equals the namespace (the failed one
    // lacks the Widget, so a diff with it would exit 1).
    const diff = await run(diffCommand, ['-n', 'shop', '--from', 'latest', '--format', 'json']);
    expect(diff.code, diff.stdout + diff.logs).toBe(0);
    expect((await run(diffCommand, ['-n', 'shop', '--from', '20261122-020000-bbbbbb'])).stdout).toContain(
      'added   /apis/example.com/v1/namespaces/shop/widgets/blue',
    );
  });

  it('leaves out the types NSBACKUP_EXPORT_EXCLUDE names, as the backup does', async () => {
    const excluded = await run(exportCommand, ['-n', 'shop', '--backup-id', 'exclude-1'], {
      NSBACKUP_EXPORT_EXCLUDE: 'secrets',
    });
    expect(excluded.code, excluded.logs).toBe(0);
    const manifest = await readManifest(s3.store(), 'nsbackup/prod/shop/exclude-1/');
    expect(manifest.paths.filter((p) => p.includes('/secrets/'))).toEqual([]);
    expect(manifest.notExported).toEqual([
      { what: 'secrets', reason: 'excluded by NSBACKUP_EXPORT_EXCLUDE' },
    ]);
  });
});

describe('the defaults, the same as the chart', () => {
  const withDefaults = (extra: Record<string, string> = {}) => {
    const { NSBACKUP_EXPORT_SECRETS: _s, NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES: _c, ...rest } = env;
    return { ...rest, ...extra };
  };
  const runWith = (argv: string[], runEnv: Record<string, string>) =>
    runCommand(exportCommand as any, { argv, env: runEnv, write: (l) => void l, out: () => undefined });

  it('an unencrypted export to S3 leaves Secrets out, records that, and says so in the summary', async () => {
    const logs: string[] = [];
    const code = await runCommand(exportCommand as any, {
      argv: ['-n', 'shop', '--backup-id', 'defaults-1'],
      env: withDefaults(),
      write: (line) => logs.push(line),
      out: () => undefined,
    });
    expect(code, logs.join('\n')).toBe(0);
    const manifest = await readManifest(s3.store(), 'nsbackup/prod/shop/defaults-1/');
    expect(manifest.paths.filter((p) => p.includes('/secrets/'))).toEqual([]);
    // Nor the cluster-scoped StorageClass: cluster dependencies are off by default, as in the chart.
    expect(manifest.paths.filter((p) => p.includes('storageclasses'))).toEqual([]);
    expect(manifest.notExported).toContainEqual({
      what: 'secrets',
      reason: 'excluded by NSBACKUP_EXPORT_EXCLUDE',
    });
    const summary = JSON.parse(logs.find((l) => l.includes('"summary":true'))!);
    expect(summary.warnings).toEqual([
      expect.stringMatching(/^Secrets left out: the export is not encrypted/),
    ]);
  });

  it('an encrypted export takes the Secrets; include takes them unencrypted, named in the summary', async () => {
    const key = generateEncryptionKey();
    expect(
      await runWith(
        ['-n', 'shop', '--backup-id', 'defaults-2'],
        withDefaults({ NSBACKUP_ENCRYPTION_KEY: key }),
      ),
    ).toBe(0);
    const encrypted = await readManifest(s3.store(), 'nsbackup/prod/shop/defaults-2/');
    expect(encrypted.paths.some((p) => p.includes('/secrets/'))).toBe(true);

    const logs: string[] = [];
    const code = await runCommand(exportCommand as any, {
      argv: ['-n', 'shop', '--backup-id', 'defaults-3', '--secrets', 'include'],
      env: withDefaults(),
      write: (line) => logs.push(line),
      out: () => undefined,
    });
    expect(code).toBe(0);
    const plain = await readManifest(s3.store(), 'nsbackup/prod/shop/defaults-3/');
    expect(plain.paths.some((p) => p.includes('/secrets/'))).toBe(true);
    expect(logs.join('\n')).toContain('Secrets stored unencrypted');
  });

  it('refuses mask for S3 (a backup could not restore its Secrets) as a configuration error', async () => {
    expect(
      await runWith(['-n', 'shop', '--backup-id', 'defaults-4', '--secrets', 'mask'], withDefaults()),
    ).toBe(2);
    expect(await s3.store().exists('nsbackup/prod/shop/defaults-4/manifest.json')).toBe(false);
  });

  it('an export folder leaves Secrets out by default, and diff with it does not see them as added', async () => {
    const dir = join(work, 'defaults-dir');
    expect(await runWith(['-n', 'shop', '--dir', dir], withDefaults())).toBe(0);
    expect((await yamlFiles(dir)).filter((f) => f.startsWith('secrets/'))).toEqual([]);
    const logs: string[] = [];
    const code = await runCommand(diffCommand as any, {
      argv: ['-n', 'shop', '--from', dir],
      env: withDefaults(),
      write: (line) => logs.push(line),
      out: () => undefined,
    });
    expect(code, logs.join('\n')).toBe(0);
  });
});

describe('nsbackup diff', () => {
  it('exits 0 for an unchanged namespace and 1 naming the ConfigMap changed live', async () => {
    const dir = join(work, 'diffed');
    expect((await run(exportCommand, ['-n', 'shop', '--dir', dir])).code).toBe(0);
    const equal = await run(diffCommand, ['-n', 'shop', '--from', dir]);
    expect(equal.code, equal.logs).toBe(0);
    expect(equal.stdout).toContain('no differences');

    await kube.mergePatch('/api/v1/namespaces/shop/configmaps/settings', { data: { mode: 'slow' } });
    try {
      const changed = await run(diffCommand, ['-n', 'shop', '--from', dir]);
      expect(changed.code).toBe(1);
      expect(changed.stdout).toContain('changed /api/v1/namespaces/shop/configmaps/settings');
      expect(changed.stdout).toContain('data.mode: "fast" -> "slow"');
      expect(changed.stdout.match(/^(changed|added|removed)/gm)).toHaveLength(1);

      const unified = await run(diffCommand, ['-n', 'shop', '--from', dir, '--format', 'unified']);
      expect(unified.stdout).toContain('-  mode: fast\n+  mode: slow');
    } finally {
      await kube.mergePatch('/api/v1/namespaces/shop/configmaps/settings', { data: { mode: 'fast' } });
    }
  });

  it('compares with an encrypted S3 backup (latest), shows added objects, and never prints a Secret value', async () => {
    const key = generateEncryptionKey();
    const exported = await run(exportCommand, ['-n', 'shop', '--backup-id', '20261121-120000-cccccc'], {
      NSBACKUP_ENCRYPTION_KEY: key,
    });
    expect(exported.code, exported.logs).toBe(0);
    expect(await s3.store().exists('nsbackup/prod/shop/20261121-120000-cccccc/manifest.json')).toBe(true);

    const equal = await run(diffCommand, ['-n', 'shop', '--from', 'latest'], {
      NSBACKUP_ENCRYPTION_KEY: key,
    });
    expect(equal.code, equal.logs).toBe(0);

    const newPassword = Buffer.from('n3w-pa55').toString('base64');
    await kube.mergePatch('/api/v1/namespaces/shop/secrets/db-password', { data: { password: newPassword } });
    cluster.seed({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'extra', namespace: 'shop' },
      data: {},
    });
    try {
      for (const format of ['text', 'unified', 'json']) {
        const changed = await run(
          diffCommand,
          ['-n', 'shop', '--from', '20261121-120000-cccccc', '--format', format],
          {
            NSBACKUP_ENCRYPTION_KEY: key,
          },
        );
        expect(changed.code).toBe(1);
        expect(changed.stdout).toContain('/api/v1/namespaces/shop/secrets/db-password');
        expect(changed.stdout).toContain('/api/v1/namespaces/shop/configmaps/extra');
        expect(changed.stdout).toContain('sha256:');
        expect(changed.stdout).not.toContain(newPassword);
        expect(changed.stdout).not.toContain(Buffer.from('s3cr3t-pa55').toString('base64'));
      }
      const text = await run(diffCommand, ['-n', 'shop', '--from', 'latest'], {
        NSBACKUP_ENCRYPTION_KEY: key,
      });
      expect(text.stdout).toContain('added   /api/v1/namespaces/shop/configmaps/extra');

      // Without the key the backup cannot be read: an error, not "equal".
      const noKey = await run(diffCommand, ['-n', 'shop', '--from', 'latest']);
      expect(noKey.code).not.toBe(0);
      expect(noKey.logs).toMatch(/encrypted/);
    } finally {
      await kube.delete('/api/v1/namespaces/shop/configmaps/extra');
      await kube.mergePatch('/api/v1/namespaces/shop/secrets/db-password', {
        data: { password: Buffer.from('s3cr3t-pa55').toString('base64') },
      });
    }
  });
});
