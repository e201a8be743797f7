// The mover against the real restic binary and an S3 server (s3rver over HTTPS): what a user would notice about
// their volume data. Every kind of file comes back as it was; a second run adds almost nothing; two PVCs in one
// repository never cross; a flipped byte in a pack is found by check; a backup killed with -9 leaves a lock
// that neither stops the next backup nor survives the pruner's unlock.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as moverCommand } from '../../scripts/volume-mover.js';
import { Repository } from '../../lib/volumes/repo-ops.js';
import { resticRunner } from '../../lib/volumes/restic.js';
import { repositoryUrl, snapshotHost, snapshotTags } from '../../lib/volumes/repository.js';
import { backupArgs } from '../../lib/volumes/restic-args.js';
import { startS3, type LocalS3, runNsbackup } from '../kit/index.js';
import { describeTree, makeKindTree } from './tree.js';

const PASSWORD = 'correct horse battery staple';
let s3: LocalS3;
let tmp: string;

beforeAll(async () => {
  s3 = await startS3('backups', { tls: true });
  tmp = mkdtempSync(join(tmpdir(), 'nsbackup-restic-'));
});
afterAll(async () => {
  await s3?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const location = () => ({
  bucket: s3.bucket,
  prefix: 'nsbackup',
  endpoint: s3.endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
});
const repoUrl = (namespace: string) => repositoryUrl(location(), 'prod', namespace);

function repository(namespace: string): Repository {
  return new Repository(
    { repository: repoUrl(namespace), cacert: s3.caFile, cacheDir: join(tmp, 'cache') },
    resticRunner({ password: PASSWORD, env: { ...process.env, ...s3.env } }),
  );
}

/** The mover command as its Job runs it (same variables), in this process. */
async function mover(op: 'backup' | 'restore', env: Record<string, string>) {
  const r = await runNsbackup(moverCommand, {
    ...s3.env,
    NSBACKUP_MOVER_OPERATION: op,
    NSBACKUP_MOVER_REPOSITORY: repoUrl(env.NSBACKUP_MOVER_NAMESPACE ?? 'shop'),
    NSBACKUP_MOVER_NAMESPACE: 'shop',
    NSBACKUP_MOVER_CA_PEM: readFileSync(s3.caFile!, 'utf8'),
    RESTIC_PASSWORD: PASSWORD,
    TMPDIR: tmp,
    ...env,
  });
  return { ...r, volume: r.summary?.volume };
}

describe('volume data with restic', () => {
  let source: string;
  let first: any;

  it('keeps modes, owners, symlinks, hard links, empty directories, sparse files, timestamps and unicode names', async () => {
    source = join(tmp, 'kinds');
    mkdirSync(source);
    makeKindTree(source);
    const backup = await mover('backup', {
      NSBACKUP_MOVER_PVC: 'data',
      NSBACKUP_MOVER_BACKUP_ID: '20261207-010000-aaaa',
      NSBACKUP_MOVER_PATH: source,
    });
    expect(backup.code, backup.text).toBe(0);
    first = backup.volume.backup;
    expect(first.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(first.files).toBe(9);
    // The password is in no log line, and not in restic's arguments (it is never one).
    expect(backup.text).not.toContain(PASSWORD);
    expect(
      backupArgs({ repository: 'x' }, { namespace: 'a', pvc: 'b', backupId: 'c' }).join(' '),
    ).not.toContain(PASSWORD);

    const target = join(tmp, 'kinds-restored');
    mkdirSync(target);
    const restore = await mover('restore', {
      NSBACKUP_MOVER_PVC: 'data',
      NSBACKUP_MOVER_BACKUP_ID: '20261207-010000-aaaa',
      NSBACKUP_MOVER_PATH: target,
      NSBACKUP_MOVER_SNAPSHOT: first.snapshotId,
    });
    expect(restore.code, restore.text).toBe(0);
    const want = describeTree(source);
    const got = describeTree(target);
    expect(got).toEqual(want);
    expect(got['link-to-plain']).toMatchObject({ type: 'symlink', target: 'dir/plain.txt' });
    expect(got['dir/hardlink-b'].links).toEqual(['dir/hardlink-b', 'hardlink-a']);
    if (process.getuid?.() === 0)
      expect(got['dir/secret.key']).toMatchObject({ uid: 999, gid: 999, mode: '600' });
    expect(got['empty/nested-empty'].type).toBe('dir');
    expect(got['sparse.img'].size).toBe(64 * 1024 * 1024);
  });

  it('a second run of an unchanged volume adds (almost) nothing and takes the first as its parent', async () => {
    writeFileSync(join(source, 'new-file'), 'one more\n');
    const second = await mover('backup', {
      NSBACKUP_MOVER_PVC: 'data',
      NSBACKUP_MOVER_BACKUP_ID: '20261208-010000-bbbb',
      NSBACKUP_MOVER_PATH: source,
    });
    expect(second.code, second.text).toBe(0);
    const b = second.volume.backup;
    expect(b.filesNew).toBe(1);
    expect(b.bytesProcessed).toBeGreaterThan(64 * 1024 * 1024);
    expect(b.bytesAdded).toBeLessThan(64 * 1024);
    expect(b.snapshotId).not.toBe(first.snapshotId);
  });

  it('two PVCs in one repository: each selection returns only its own PVC, its own backup', async () => {
    const other = join(tmp, 'uploads');
    mkdirSync(other);
    // Same relative path, size and time as a file of `data`: a parent taken from the wrong PVC would reuse it.
    mkdirSync(join(other, 'dir'));
    writeFileSync(join(other, 'dir/plain.txt'), 'PLAIN\n');
    const old = new Date('2020-02-29T12:34:56Z');
    (await import('node:fs')).utimesSync(join(other, 'dir/plain.txt'), old, old);
    const r = await mover('backup', {
      NSBACKUP_MOVER_PVC: 'uploads',
      NSBACKUP_MOVER_BACKUP_ID: '20261208-010000-bbbb',
      NSBACKUP_MOVER_PATH: other,
    });
    expect(r.code, r.text).toBe(0);
    const repo = repository('shop');
    const data = await repo.snapshotsOf({ namespace: 'shop', pvc: 'data' });
    const uploads = await repo.snapshotsOf({ namespace: 'shop', pvc: 'uploads' });
    expect(data.map((s) => s.pvc)).toEqual(['data', 'data']);
    expect(uploads.map((s) => s.id)).toEqual([r.volume.backup.snapshotId]);
    expect(uploads[0].host).toBe(snapshotHost({ namespace: 'shop', pvc: 'uploads' }));
    const oneBackup = await repo.snapshotsOf({
      namespace: 'shop',
      pvc: 'data',
      backupId: '20261208-010000-bbbb',
    });
    expect(oneBackup).toHaveLength(1);
    // And the contents: uploads' file is its own, not data's.
    const target = join(tmp, 'uploads-restored');
    mkdirSync(target);
    await repo.restore(uploads[0].id, target);
    expect(readFileSync(join(target, 'dir/plain.txt'), 'utf8')).toBe('PLAIN\n');
    expect(readdirSync(target)).toEqual(['dir']);
    expect(snapshotTags({ namespace: 'shop', pvc: 'uploads', backupId: 'x' })).toHaveLength(3);
  });

  it('a backup killed with -9 leaves a lock; the next backup still succeeds, unlock then prune succeed', async () => {
    const big = join(tmp, 'big');
    mkdirSync(big);
    for (let i = 0; i < 40; i++) writeFileSync(join(big, `f${i}`), randomBytes(4 * 1024 * 1024));
    const ref = { namespace: 'shop', pvc: 'big', backupId: '20261209-010000-cccc' };
    const global = { repository: repoUrl('shop'), cacert: s3.caFile, cacheDir: join(tmp, 'cache') };
    const child = spawn('restic', backupArgs(global, ref), {
      cwd: big,
      env: { ...process.env, ...s3.env, RESTIC_PASSWORD: PASSWORD },
      stdio: 'ignore',
    });
    // Killed once it uploads: a lock file is in the bucket then.
    const lockDir = join(s3Root(), 'nsbackup/prod/shop.restic/locks');
    await waitFor(() => readdirSync(lockDir).length > 0, 20_000);
    await new Promise((r) => setTimeout(r, 700));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect(readdirSync(lockDir).length).toBeGreaterThan(0);

    const rerun = await mover('backup', {
      NSBACKUP_MOVER_PVC: 'big',
      NSBACKUP_MOVER_BACKUP_ID: ref.backupId,
      NSBACKUP_MOVER_PATH: big,
    });
    expect(rerun.code, rerun.text).toBe(0);
    expect(rerun.volume.backup.files).toBe(40);
    const repo = repository('shop');
    // The dead run's lock is this host's and its process is gone: unlock removes it, and prune (exclusive) runs.
    await repo.unlock();
    await repo.prune();
    await repo.check({ n: 1, of: 1 });
  }, 120_000);

  it('check --read-data-subset finds a flipped byte in a pack', async () => {
    const repo = repository('shop');
    await repo.check({ n: 1, of: 1 });
    const packs = listFiles(join(s3Root(), 'nsbackup/prod/shop.restic/data')).filter((f) =>
      f.endsWith('._S3rver_object'),
    );
    const pack = packs.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    const bytes = readFileSync(pack);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(pack, bytes);
    await expect(repo.check({ n: 1, of: 1 })).rejects.toThrow(/restic check failed/);
  }, 120_000);
});

function s3Root(): string {
  // s3rver keeps each bucket as a folder of the keys' paths.
  return join(s3.caFile!, '..', 'data', s3.bucket);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

async function waitFor(probe: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (probe()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
