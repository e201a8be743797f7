// `nsbackup backups` and `nsbackup describe`, as a user picking a backup to restore runs them: on the emulator and
// s3rver, with backups that succeeded, failed and never finished.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { command as backupsCommand } from '../../scripts/backups.js';
import { command as describeCommand } from '../../scripts/describe.js';
import { command as exportCommand } from '../../scripts/export.js';
import { command as verifyCommand } from '../../scripts/verify.js';
import { generateEncryptionKey } from '../../lib/crypto/index.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { startS3, type LocalS3 } from '../kit/index.js';
import { shopObjects } from './shop.js';

let cluster: Cluster;
let s3: LocalS3;
let env: Record<string, string>;

async function run(cmd: any, argv: string[]) {
  const logs: string[] = [];
  let stdout = '';
  const code = await runCommand(cmd, {
    argv,
    env,
    write: (line) => logs.push(line),
    out: (text) => (stdout += text),
  });
  return { code, stdout, logs: logs.join('\n') };
}

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startCluster(), startS3()]);
  cluster.seed(...shopObjects());
  env = {
    ...s3.env,
    NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
    NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    NSBACKUP_CLUSTER_NAME: 'prod',
  };
  expect((await run(exportCommand, ['-n', 'shop', '--backup-id', '20261201-020000-good01'])).code).toBe(0);
  cluster.faults.add({ verb: 'list', path: /\/widgets$/, status: 403 });
  try {
    expect((await run(exportCommand, ['-n', 'shop', '--backup-id', '20261202-020000-fail01'])).code).toBe(1);
  } finally {
    cluster.faults.clear();
  }
  // A run killed after its export: its files and manifest, no outcome record.
  const store = s3.store();
  for await (const object of store.list('nsbackup/prod/shop/20261201-020000-good01/')) {
    if (object.key.endsWith('/outcome.json')) continue;
    const copy = object.key.replace('20261201-020000-good01', '20261203-020000-kill01');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.download(object.key)) chunks.push(chunk as Buffer);
    await store.upload(copy, Buffer.concat(chunks));
  }
});
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
});

describe('nsbackup backups', () => {
  it('lists every backup of the namespace with how its run ended', async () => {
    const { code, stdout, logs } = await run(backupsCommand, ['-n', 'shop', '-o', 'json']);
    expect(code, logs).toBe(0);
    // Oldest first by start time; these three started within a second, so compare them by id.
    const rows = JSON.parse(stdout).sort((a: any, b: any) => (a.backupId < b.backupId ? -1 : 1));
    expect(rows.map((r: any) => [r.backupId, r.state])).toEqual([
      ['20261201-020000-good01', 'succeeded'],
      ['20261202-020000-fail01', 'failed'],
      ['20261203-020000-kill01', 'interrupted'],
    ]);
    expect(rows[0].objects).toBeGreaterThan(10);
    expect(rows[0].bytes).toBeGreaterThan(0);
    expect(rows[1].failures).toEqual([expect.stringContaining('widgets.example.com')]);
  });

  it('prints a table for people', async () => {
    const { stdout } = await run(backupsCommand, ['-n', 'shop']);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^BACKUP\s+STARTED\s+STATE\s+OBJECTS/);
    expect(lines.find((l) => l.startsWith('20261202-020000-fail01'))).toMatch(/\sfailed\s/);
    expect(lines.find((l) => l.startsWith('20261203-020000-kill01'))).toMatch(/\sinterrupted\s/);
  });
});

describe('nsbackup describe', () => {
  it('shows objects by kind, files with checksums, and how to restore', async () => {
    const { code, stdout, logs } = await run(describeCommand, ['20261201-020000-good01', '-n', 'shop']);
    expect(code, logs).toBe(0);
    expect(stdout).toContain('State:       succeeded');
    expect(stdout).toMatch(/ConfigMap\s+\d+/);
    expect(stdout).toMatch(/resources\.ndjson\.gz\s+resources\s+.*sha256:[0-9a-f]{64}/);
    expect(stdout).toContain('nsbackup restore --backup 20261201-020000-good01 -n shop');
  });

  it('says why a failed run failed, and refuses an id that is not there', async () => {
    const failed = await run(describeCommand, ['20261202-020000-fail01', '-n', 'shop', '-o', 'json']);
    expect(JSON.parse(failed.stdout).row).toMatchObject({ state: 'failed' });
    const missing = await run(describeCommand, ['20991231-000000-nope00', '-n', 'shop']);
    expect(missing.code).toBe(1);
    expect(missing.logs).toContain('no backup 20991231-000000-nope00 of namespace shop');
  });
});

describe('nsbackup verify', () => {
  it('reads every file of the latest good backup back whole, and backups shows it verified', async () => {
    const r = await run(verifyCommand, ['-n', 'shop']);
    expect(r.code, r.logs).toBe(0);
    expect(r.stdout).toMatch(/^ok {4} {2}resources\.ndjson\.gz \(\d+ bytes read back\)$/m);
    const rows = JSON.parse((await run(backupsCommand, ['-n', 'shop', '-o', 'json'])).stdout);
    const good = rows.find((row: any) => row.backupId === '20261201-020000-good01');
    expect(good.verified).toMatchObject({ ok: true });
    expect(rows.find((row: any) => row.backupId === '20261202-020000-fail01').verified).toBeUndefined();
  });

  it('finds a flipped byte in an encrypted backup: exit 1, the file named, recorded as failed', async () => {
    const key = generateEncryptionKey();
    env = { ...env, NSBACKUP_ENCRYPTION_KEY: key };
    try {
      expect((await run(exportCommand, ['-n', 'shop', '--backup-id', '20261204-020000-flip01'])).code).toBe(
        0,
      );
      const store = s3.store();
      const name = 'nsbackup/prod/shop/20261204-020000-flip01/resources.ndjson.gz.enc';
      const chunks: Buffer[] = [];
      for await (const chunk of await store.download(name)) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      bytes[bytes.length >> 1] ^= 0x01;
      await store.upload(name, bytes);

      const r = await run(verifyCommand, ['20261204-020000-flip01', '-n', 'shop']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAILED {2}resources\.ndjson\.gz\.enc: /m);
      const described = await run(describeCommand, ['20261204-020000-flip01', '-n', 'shop']);
      expect(described.stdout).toMatch(/Verified: {4}FAILED at /);
    } finally {
      delete env.NSBACKUP_ENCRYPTION_KEY;
    }
  });
});
