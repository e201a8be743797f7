// etcd-backup and etcd-restore against a real etcd (the Go module build of test/realcluster) serving TLS with
// certificates in kubeadm's layout, and a local S3: what an operator would see when backing up a control plane and
// bringing its state back.
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { generateEncryptionKey, parseEncryptionKey } from '../../lib/crypto/index.js';
import { createEtcdBackupCommand } from '../../scripts/etcd-backup.js';
import { command as etcdRestore } from '../../scripts/etcd-restore.js';
import { command as etcdVerify } from '../../scripts/etcd-verify.js';
import { command as list } from '../../scripts/list.js';
import { startS3, type LocalS3, startEtcd, freePort, type EtcdServer, makeKubeadmPki } from '../kit/index.js';
import { ensureBuilt } from '../realcluster/index.js';

const CLUSTER = 'prod-eu';
let bin: string;
let dir: string;
let pki: string;
let etcd: EtcdServer;
let s3: LocalS3;
const key = generateEncryptionKey();
const logs: string[] = [];
const pings: string[] = [];

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...s3.env,
    PATH: process.env.PATH ?? '',
    NSBACKUP_CLUSTER_NAME: CLUSTER,
    NSBACKUP_ENCRYPTION_KEY: key,
    NSBACKUP_ETCD_ENDPOINT: etcd.endpoint,
    NSBACKUP_ETCD_CACERT: join(pki, 'etcd/ca.crt'),
    NSBACKUP_ETCD_CERT: join(pki, 'apiserver-etcd-client.crt'),
    NSBACKUP_ETCD_KEY: join(pki, 'apiserver-etcd-client.key'),
    NSBACKUP_PKI_DIR: pki,
    NSBACKUP_ETCDCTL: join(bin, 'etcdctl'),
    NSBACKUP_ETCDUTL: join(bin, 'etcdutl'),
    NSBACKUP_NOTIFY_URL: 'http://127.0.0.1:9/ok-token-123',
    NSBACKUP_NOTIFY_FAILURE_URL: 'http://127.0.0.1:9/fail-token-456',
    TZ: 'UTC',
    // Not a k3s or RKE2 machine, whatever this one is.
    NSBACKUP_RANCHER_DIR: join(dir, 'no-rancher'),
    ...extra,
  };
}

async function run(which: 'backup' | 'restore' | 'verify', env: Record<string, string>, argv: string[] = []) {
  const lines: string[] = [];
  const out: string[] = [];
  const command =
    which === 'backup'
      ? createEtcdBackupCommand({ notifier: async (url) => void pings.push(url) })
      : which === 'restore'
        ? etcdRestore
        : etcdVerify;
  const code = await runCommand(command as any, {
    env,
    argv,
    write: (l) => lines.push(l),
    out: (t) => out.push(t),
  });
  logs.push(...lines);
  return { code, log: lines.join('\n'), out: out.join('') };
}

async function keysIn(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of s3.store('').list(prefix)) keys.push(o.key);
  return keys.sort();
}

beforeAll(async () => {
  bin = join(await ensureBuilt(), 'bin');
  dir = mkdtempSync(join(tmpdir(), 'nsbackup-etcd-test-'));
  pki = makeKubeadmPki(join(dir, 'pki'));
  etcd = await startEtcd({ bin, dataDir: join(dir, 'etcd'), pki, logPath: join(dir, 'etcd.log') });
  for (let i = 0; i < 50; i++) etcd.etcdctl(['put', `/registry/namespaces/ns-${i}`, `value-${i}`]);
  s3 = await startS3();
}, 300_000);

afterAll(async () => {
  await etcd?.stop();
  await s3?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('etcd-backup', () => {
  let backupId: string;

  it('saves, verifies by a trial restore, and stores the snapshot and the PKI encrypted with a manifest', async () => {
    const { code, log } = await run('backup', baseEnv());
    expect(code, log).toBe(0);
    const summary = JSON.parse(log.split('\n').at(-1)!);
    backupId = summary.backupId;
    expect(summary.keys).toBeGreaterThanOrEqual(50);
    expect(log).toContain('snapshot verified by a trial restore');
    const folder = `nsbackup/${CLUSTER}/_etcd/${backupId}/`;
    const keys = await keysIn(folder);
    expect(keys).toEqual(
      [
        'etcd-snapshot.db.gz',
        'manifest.json',
        'pki/ca.crt',
        'pki/ca.key',
        'pki/etcd/ca.crt',
        'pki/etcd/ca.key',
        'pki/front-proxy-ca.crt',
        'pki/front-proxy-ca.key',
        'pki/sa.key',
        'pki/sa.pub',
      ].map((k) => folder + k),
    );
    const manifest = JSON.parse(await s3.store('').downloadText(folder + 'manifest.json'));
    expect(manifest.encryption.keyId).toBe(parseEncryptionKey(key).id);
    expect(manifest.etcd.totalKey).toBeGreaterThanOrEqual(50);
    expect(manifest.etcd.memberName).toBe('m1');
    const caKey = manifest.files.find((f: any) => f.path === 'ca.key');
    expect(caKey.size).toBe(readFileSync(join(pki, 'ca.key')).length);
    expect(caKey.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Stored encrypted: not one byte of the CA key in clear.
    const stored = await s3.store('').downloadText(folder + 'pki/ca.key');
    expect(stored.startsWith('NSBKENC')).toBe(true);
    expect(stored).not.toContain('PRIVATE KEY');
    expect(pings).toContain('http://127.0.0.1:9/ok-token-123');
  });

  it('list --etcd shows the backup with its revision and key count, without a kubeconfig', async () => {
    const out: string[] = [];
    const env = { ...baseEnv(), NSBACKUP_KUBECONFIG: join(dir, 'no-such-kubeconfig') };
    const table = await runCommand(list, {
      env,
      argv: ['--etcd'],
      write: () => undefined,
      out: (t) => out.push(t),
    });
    expect(table).toBe(0);
    expect(out[0]).toContain(`ETCD BACKUPS of cluster ${CLUSTER}`);
    expect(out[0]).toContain(backupId);
    const json = await runCommand(list, {
      env,
      argv: ['--etcd', '-o', 'json'],
      write: () => undefined,
      out: (t) => out.push(t),
    });
    expect(json).toBe(0);
    const rows = JSON.parse(out[1]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ backupId, pkiFiles: 8 });
    expect(rows[0].keys).toBeGreaterThanOrEqual(50);
  });

  it('restores into a folder that a new etcd starts on, with every key back', async () => {
    const target = join(dir, 'restored');
    const peerPort = await freePort();
    const { code, log, out } = await run('restore', baseEnv(), [
      '--backup',
      backupId,
      '--dir',
      target,
      '--initial-cluster',
      `m1=http://127.0.0.1:${peerPort}`,
    ]);
    expect(code, log).toBe(0);
    expect(out).toContain('kubeadm');
    expect(out).toContain('mv /var/lib/etcd /var/lib/etcd.before-restore');
    expect(readFileSync(join(target, 'RUNBOOK.txt'), 'utf8')).toBe(out);
    for (const f of ['ca.key', 'ca.crt', 'sa.key', 'sa.pub', 'front-proxy-ca.key', 'etcd/ca.key']) {
      expect(readFileSync(join(target, 'pki', f)), f).toEqual(readFileSync(join(pki, f)));
    }
    const restored = await startEtcd({
      bin,
      dataDir: join(target, 'data'),
      name: 'm1',
      peerPort,
      logPath: join(dir, 'etcd-restored.log'),
    });
    try {
      const values = restored.etcdctl(['get', '--prefix', '/registry/namespaces/', '--print-value-only']);
      const got = values.split('\n').filter(Boolean).sort();
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `value-${i}`).sort());
    } finally {
      await restored.stop();
    }
  });

  it('refuses a corrupted snapshot: the trial restore fails and nothing is uploaded', async () => {
    // An etcdctl that saves the snapshot and then changes bytes in its middle, as a bad disk or a cut copy would.
    const wrapper = join(dir, 'corrupting-etcdctl');
    writeFileSync(
      wrapper,
      `#!/bin/sh\n"${join(bin, 'etcdctl')}" "$@" || exit $?\n` +
        `for last; do :; done\n` +
        `case "$*" in *"snapshot save"*) size=$(stat -c %s "$last"); ` +
        `printf 'CORRUPTED' | dd of="$last" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null;; esac\n`,
    );
    chmodSync(wrapper, 0o755);
    const before = await keysIn(`nsbackup/${CLUSTER}/_etcd/`);
    pings.length = 0;
    const { code, log } = await run('backup', baseEnv({ NSBACKUP_ETCDCTL: wrapper }));
    expect(code, log).toBe(1);
    expect(log).toContain('the snapshot failed its trial restore, nothing was uploaded');
    expect(await keysIn(`nsbackup/${CLUSTER}/_etcd/`)).toEqual(before);
    expect(pings).toEqual(['http://127.0.0.1:9/fail-token-456']);
  });

  it('a run that fails half-way through the upload leaves nothing in S3 and pings the failure URL', async () => {
    // A copy of the PKI whose sa.key disappears once the snapshot is saved: the snapshot uploads, sa.key cannot.
    const pkiCopy = join(dir, 'pki-vanishing');
    cpSync(pki, pkiCopy, { recursive: true });
    const wrapper = join(dir, 'vanishing-etcdctl');
    writeFileSync(
      wrapper,
      `#!/bin/sh\n"${join(bin, 'etcdctl')}" "$@" || exit $?\n` +
        `case "$*" in *"snapshot save"*) rm -f "${join(pkiCopy, 'sa.key')}";; esac\n`,
    );
    chmodSync(wrapper, 0o755);
    const before = await keysIn(`nsbackup/${CLUSTER}/_etcd/`);
    pings.length = 0;
    const { code, log } = await run(
      'backup',
      baseEnv({ NSBACKUP_ETCDCTL: wrapper, NSBACKUP_PKI_DIR: pkiCopy }),
    );
    expect(code, log).toBe(1);
    expect(log).toContain('snapshot uploaded');
    expect(log).toContain('sa.key');
    expect(await keysIn(`nsbackup/${CLUSTER}/_etcd/`)).toEqual(before);
    expect(pings).toEqual(['http://127.0.0.1:9/fail-token-456']);
  });

  it('refuses to run without an encryption key (exit 2, nothing stored)', async () => {
    const before = await keysIn(`nsbackup/${CLUSTER}/_etcd/`);
    const { code, log } = await run('backup', baseEnv({ NSBACKUP_ENCRYPTION_KEY: '' }));
    expect(code).toBe(2);
    expect(log).toContain('NSBACKUP_ENCRYPTION_KEY or NSBACKUP_ENCRYPTION_KEY_FILE is required');
    expect(await keysIn(`nsbackup/${CLUSTER}/_etcd/`)).toEqual(before);
  });

  it('names a missing certificate and a missing CA key by path (exit 2, nothing stored)', async () => {
    const before = await keysIn(`nsbackup/${CLUSTER}/_etcd/`);
    const missingCert = join(dir, 'nowhere', 'apiserver-etcd-client.crt');
    const { code, log } = await run('backup', baseEnv({ NSBACKUP_ETCD_CERT: missingCert }));
    expect(code).toBe(2);
    expect(log).toContain(`NSBACKUP_ETCD_CERT: ${missingCert} does not exist`);
    const emptyPki = join(dir, 'empty-pki');
    const second = await run('backup', baseEnv({ NSBACKUP_PKI_DIR: emptyPki }));
    expect(second.code).toBe(2);
    expect(second.log).toContain(`${join(emptyPki, 'ca.key')} does not exist`);
    expect(await keysIn(`nsbackup/${CLUSTER}/_etcd/`)).toEqual(before);
  });

  it('refuses a wrong key before writing anything (exit 2, naming the variable)', async () => {
    const target = join(dir, 'wrong-key');
    const { code, log } = await run(
      'restore',
      baseEnv({ NSBACKUP_ENCRYPTION_KEY: generateEncryptionKey() }),
      ['--dir', target],
    );
    expect(code).toBe(2);
    expect(log).toContain('NSBACKUP_ENCRYPTION_KEY: etcd backup');
    expect(existsSync(target)).toBe(false);
  });

  it('etcd-verify restores the stored backup into a scratch folder, checks it and records verification.json', async () => {
    const { code, log, out } = await run('verify', baseEnv(), ['--backup', backupId]);
    expect(code, log).toBe(0);
    expect(out).toMatch(
      new RegExp(`verified etcd backup ${backupId}: restored at revision \\d+ with \\d+ keys`),
    );
    const folder = `nsbackup/${CLUSTER}/_etcd/${backupId}/`;
    const verification = JSON.parse(await s3.store('').downloadText(folder + 'verification.json'));
    expect(verification).toMatchObject({ backupId, ok: true, problems: [] });
    expect(verification.keys).toBeGreaterThanOrEqual(50);
    // The scratch folder is gone.
    expect(readdirSync(tmpdir()).some((d) => d.startsWith('nsbackup-etcd-verify-'))).toBe(false);
  });

  it('refuses a stored file changed in S3 and leaves the folder empty', async () => {
    const folder = `nsbackup/${CLUSTER}/_etcd/${backupId}/`;
    const store = s3.store('');
    const chunks: Buffer[] = [];
    for await (const c of await store.download(folder + 'pki/sa.key')) chunks.push(c as Buffer);
    const changed = Buffer.concat(chunks);
    changed[changed.length - 20] ^= 0xff;
    await store.upload(folder + 'pki/sa.key', changed);
    const target = join(dir, 'tampered');
    const { code, log } = await run('restore', baseEnv(), ['--backup', backupId, '--dir', target]);
    expect(code).toBe(1);
    expect(log).toContain('segment');
    expect(existsSync(target)).toBe(false);

    // etcd-verify finds it too: exit 1, the reason recorded beside the backup, the failure URL called.
    const verify = await run('verify', baseEnv(), ['--backup', backupId]);
    expect(verify.code).toBe(1);
    expect(verify.out).toMatch(new RegExp(`etcd backup ${backupId} FAILED verification: .*segment`));
    const verification = JSON.parse(
      await store.downloadText(`nsbackup/${CLUSTER}/_etcd/${backupId}/verification.json`),
    );
    expect(verification).toMatchObject({ backupId, ok: false });
    expect(verification.problems.join()).toMatch(/sa\.key|segment/);
    expect(verify.log).toMatch(/notification (sent|failed)[^\n]*"outcome":"failure"/);
  });

  it('never logs the key, the PKI private keys or the ping URLs', () => {
    const all = logs.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    const bytes = parseEncryptionKey(key).bytes;
    expect(all).not.toContain(key);
    expect(all).not.toContain(bytes.toString('hex'));
    for (const f of ['ca.key', 'etcd/ca.key', 'sa.key', 'apiserver-etcd-client.key']) {
      const body = readFileSync(join(pki, f), 'utf8').split('\n')[1];
      expect(all).not.toContain(body);
    }
    expect(all).not.toContain('PRIVATE KEY');
    expect(all).not.toContain('token-123');
    expect(all).not.toContain('token-456');
  });

  it('lists only folders with a manifest as restorable (latest skips an unfinished one)', async () => {
    const store = s3.store('');
    await store.upload(`nsbackup/${CLUSTER}/_etcd/29991231-235959-zzzzzz/etcd-snapshot.db.gz`, 'partial');
    const target = join(dir, 'latest');
    const { code, log, out } = await run('restore', baseEnv(), ['--dir', target]);
    // The tampered backup above is the only finished one: latest picks it (and refuses it), never the partial.
    expect(code).toBe(1);
    expect(log).not.toContain('29991231-235959-zzzzzz');
    expect(out).toBe('');
    expect(readdirSync(dir)).not.toContain('latest');
  });

  it('on k3s, takes its own snapshot when asked, and the runbook is k3s’s', async () => {
    const rancher = join(dir, 'rancher');
    mkdirSync(join(rancher, 'k3s', 'server'), { recursive: true });
    const env = baseEnv({ NSBACKUP_RANCHER_DIR: rancher, NSBACKUP_ETCD_OWN_SNAPSHOT: 'true' });
    const { code, log } = await run('backup', env);
    expect(code, log).toBe(0);
    const { backupId: id } = JSON.parse(log.split('\n').at(-1)!);
    const target = join(dir, 'k3s-restore');
    const restored = await run('restore', env, ['--backup', id, '--dir', target]);
    expect(restored.code, restored.log).toBe(0);
    expect(restored.out).toContain(
      `k3s server --cluster-reset --cluster-reset-restore-path=${target}/snapshot.db`,
    );
  });
});
