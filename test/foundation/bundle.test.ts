// What the image runs: the esbuild bundle of tools/bundle.ts. It loads heavy dependencies only on the paths that
// use them (issue 15's start-up goal): `list` and `--version` never load the AWS SDK, and a command that reaches
// S3 loads it from its own chunk, which must then work as the SDK (the chunk of a CommonJS package exports only
// a default, lib/s3/sdk.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleNsbackup } from '../../tools/bundle.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { startS3, type LocalS3 } from '../kit/index.js';

let work: string;
let frontDoor: string;
let cluster: Cluster;
let s3: LocalS3;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nsbackup-bundle-'));
  [frontDoor, cluster, s3] = await Promise.all([bundleNsbackup(work), startCluster(), startS3('bundle')]);
  cluster.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
}, 120_000);
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [frontDoor, ...args],
      { cwd: work, env: { PATH: process.env.PATH ?? '', HOME: work, ...env } },
      (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The files a bundled script loads before it runs: its static imports, transitively (esbuild's own syntax). */
function staticallyLoaded(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const m of source.matchAll(/^(?:import|export)\s(?:[^;]*?\sfrom\s)?"(\.[^"]+)";?$/gms))
    staticallyLoaded(resolve(dirname(file), m[1]), seen);
  return seen;
}

/** The packages a set of bundle files holds, from esbuild's `// node_modules/<package>/...` source markers. */
function packagesIn(files: Set<string>): Set<string> {
  const packages = new Set<string>();
  for (const file of files)
    for (const m of readFileSync(file, 'utf8').matchAll(
      /^\/\/ (?:\.\.\/)*node_modules\/((?:@[^/]+\/)?[^/]+)\//gm,
    ))
      packages.add(m[1]);
  return packages;
}

describe('the bundle (dist/)', () => {
  it('list and the front door load neither the AWS SDK nor what client-node has beside KubeConfig', () => {
    const list = packagesIn(staticallyLoaded(join(work, 'dist', 'scripts', 'list.js')));
    expect(list).toContain('@kubernetes/client-node');
    expect([...list].filter((p) => p.startsWith('@aws-sdk/') || p.startsWith('@smithy/'))).toEqual([]);
    // client-node's generated models (tools/start-up-plugins.ts drops what nsbackup never imports).
    const listSource = [...staticallyLoaded(join(work, 'dist', 'scripts', 'list.js'))]
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(listSource).not.toContain('node_modules/@kubernetes/client-node/dist/gen/models/');
    const frontDoorPackages = packagesIn(staticallyLoaded(frontDoor));
    expect(frontDoorPackages).not.toContain('@kubernetes/client-node');
    expect(frontDoorPackages).not.toContain('@aws-sdk/client-s3');
  });

  it('runs list against a cluster', async () => {
    const listed = await run(['list', '-n', 'shop', '-o', 'json'], {
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it('runs a command that reaches S3: the SDK loads from its own chunk', async () => {
    const listed = await run(['backups', '-n', 'shop', '-o', 'json'], {
      ...s3.env,
      NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'bundle',
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });
});
