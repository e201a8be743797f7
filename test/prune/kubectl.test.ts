// Manual control of retention with plain kubectl (the commands in lib/prune/README.md), real kubectl 1.32.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { Labels } from '../../lib/labels.js';
import { createMarkAndDeleteCommand } from '../../scripts/mark-and-delete.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { capture } from './fixtures.js';
import { labelsByName, seedSnapshots, snapshotNames } from '../kit/index.js';

const run = promisify(execFile);
let cluster: Cluster;
let cacheDir: string;

beforeAll(async () => {
  cluster = await startCluster();
  cacheDir = mkdtempSync(join(tmpdir(), 'nsbackup-kubectl-cache-'));
});
afterAll(async () => {
  await cluster?.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(
    '/usr/bin/kubectl',
    ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', cacheDir, '-n', 'shop', ...args],
    { env: { ...process.env, HOME: cacheDir } },
  );
  return stdout;
}

async function markAndDelete(today: string): Promise<number> {
  const c = capture();
  const code = await runCommand(createMarkAndDeleteCommand({ now: () => new Date(`${today}T12:00:00Z`) }), {
    argv: ['-n', 'shop'],
    env: { NSBACKUP_KUBECONFIG: cluster.kubeconfigPath, TZ: 'UTC', NSBACKUP_DELETE_PAUSE: '0' },
    write: c.write,
    out: c.out,
  });
  await cluster.controllers.idle();
  return code;
}

it('pin, unpin, expire now and keep a marked snapshot with kubectl label', async () => {
  const gfs = { [Labels.retain]: 'gfs' };
  seedSnapshots(cluster, [
    { namespace: 'shop', name: 'a', pvc: 'data', createdAt: '2026-03-01T01:00:00Z', labels: { ...gfs } },
    { namespace: 'shop', name: 'b', pvc: 'data', createdAt: '2026-03-02T01:00:00Z', labels: { ...gfs } },
    {
      namespace: 'shop',
      name: 'c',
      pvc: 'data',
      createdAt: '2026-03-03T01:00:00Z',
      labels: { ...gfs, [Labels.daily]: '2026-03-03' },
    },
    {
      namespace: 'shop',
      name: 'd',
      pvc: 'data',
      createdAt: '2026-03-04T01:00:00Z',
      labels: { ...gfs, [Labels.daily]: '2026-03-04' },
    },
  ]);

  // Pin a before it is marked: it is never marked.
  await kubectl('label', 'vs/a', 'nsbackup.io/pin=true');
  expect(await markAndDelete('2026-03-10')).toBe(0);
  expect(labelsByName(cluster, 'shop').a[Labels.deleteAfter]).toBeUndefined();
  expect(labelsByName(cluster, 'shop').b[Labels.deleteAfter]).toBe('2026-03-11');

  // Keep the marked b: remove delete-after and pin it in one command.
  await kubectl('label', 'vs/b', 'nsbackup.io/delete-after-', 'nsbackup.io/pin=true');
  expect(await markAndDelete('2026-03-20')).toBe(0);
  expect(snapshotNames(cluster, 'shop')).toEqual(['a', 'b', 'c', 'd']);
  expect(labelsByName(cluster, 'shop').b[Labels.deleteAfter]).toBeUndefined();

  // Expire c now: a delete-after before today; the next run deletes it.
  await kubectl('label', 'vs/c', 'nsbackup.io/delete-after=2026-03-19', '--overwrite');
  expect(await markAndDelete('2026-03-20')).toBe(0);
  expect(snapshotNames(cluster, 'shop')).toEqual(['a', 'b', 'd']);

  // Unpin a: it is marked on the next run, deleted after the grace day.
  await kubectl('label', 'vs/a', 'nsbackup.io/pin-');
  expect(await markAndDelete('2026-03-20')).toBe(0);
  expect(labelsByName(cluster, 'shop').a[Labels.deleteAfter]).toBe('2026-03-21');
  expect(await markAndDelete('2026-03-22')).toBe(0);
  expect(snapshotNames(cluster, 'shop')).toEqual(['b', 'd']);

  // What kubectl sent: merge patches from the kubectl-label field manager.
  const labelPatches = cluster.requests.filter(
    (r) => r.verb === 'patch' && r.query.includes('fieldManager=kubectl-label'),
  );
  expect(labelPatches).toHaveLength(4);
  expect(labelPatches.every((r) => r.contentType === 'application/merge-patch+json')).toBe(true);
  expect(await kubectl('get', 'vs', '-L', 'nsbackup.io/pin')).toMatch(/b\s.*true/);
});
