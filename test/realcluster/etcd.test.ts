// The control plane's state, end to end on the real kube-apiserver + etcd: etcd-backup of its etcd (TLS, kubeadm
// layout) and PKI, a namespace deleted afterwards, etcd-restore into a folder, a new etcd on that data directory
// and a new kube-apiserver on it with the restored PKI: the namespaces are back as they were at the backup.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { generateEncryptionKey } from '../../lib/crypto/index.js';
import { createEtcdBackupCommand } from '../../scripts/etcd-backup.js';
import { command as etcdRestore } from '../../scripts/etcd-restore.js';
import { freePort, startEtcd, type EtcdServer, startS3, type LocalS3 } from '../kit/index.js';
import { ensureBuilt } from './build.js';
import { apiserverArgs, startRealCluster, type RealCluster } from './index.js';

let cluster: RealCluster;
let s3: LocalS3;
let bin: string;
let work: string;
const key = generateEncryptionKey();
const children: ChildProcess[] = [];
let restoredEtcd: EtcdServer | undefined;

beforeAll(async () => {
  bin = join(await ensureBuilt(), 'bin');
  work = mkdtempSync(join(tmpdir(), 'nsbackup-etcd-rt-'));
  [cluster, s3] = await Promise.all([startRealCluster({ etcdTls: true }), startS3()]);
}, 300_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await restoredEtcd?.stop();
  await cluster?.close();
  await s3?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function env(): Record<string, string> {
  const etcdPki = cluster.etcd.pki!;
  return {
    ...s3.env,
    PATH: process.env.PATH ?? '',
    NSBACKUP_CLUSTER_NAME: 'real',
    NSBACKUP_ENCRYPTION_KEY: key,
    NSBACKUP_ETCD_ENDPOINT: cluster.etcd.endpoint,
    NSBACKUP_ETCD_CACERT: join(etcdPki, 'etcd/ca.crt'),
    NSBACKUP_ETCD_CERT: join(etcdPki, 'apiserver-etcd-client.crt'),
    NSBACKUP_ETCD_KEY: join(etcdPki, 'apiserver-etcd-client.key'),
    // The cluster's own PKI: what the new API server below starts with.
    NSBACKUP_PKI_DIR: join(cluster.dir, 'pki'),
    NSBACKUP_PKI_FILES: 'ca.crt,ca.key,sa.key,sa.pub,apiserver.crt,apiserver.key',
    NSBACKUP_ETCDCTL: join(bin, 'etcdctl'),
    NSBACKUP_ETCDUTL: join(bin, 'etcdutl'),
    TZ: 'UTC',
  };
}

function get(url: string, ca: string, token: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent: new Agent({ ca }), headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let body: any = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* plain text */
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('etcd backup of a real control plane', () => {
  it('restores into a new etcd that a new kube-apiserver serves the namespaces from', async () => {
    cluster.kubectl(['create', 'namespace', 'etcd-rt-kept']);
    cluster.kubectl(['create', 'namespace', 'etcd-rt-deleted-later']);
    cluster.kubectl(['-n', 'etcd-rt-kept', 'create', 'configmap', 'settings', '--from-literal=colour=teal']);

    const lines: string[] = [];
    const backup = await runCommand(createEtcdBackupCommand({ notifier: async () => undefined }), {
      env: env(),
      write: (l) => lines.push(l),
      out: () => undefined,
    });
    expect(backup, lines.join('\n')).toBe(0);
    // Changed after the backup: the restore must bring back the backup's state, not today's.
    cluster.kubectl(['delete', 'namespace', 'etcd-rt-deleted-later', '--wait=false']);

    const dir = join(work, 'restored');
    const [clientPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const out: string[] = [];
    const restore = await runCommand(etcdRestore, {
      env: env(),
      argv: ['--dir', dir, '--initial-cluster', `default=http://127.0.0.1:${peerPort}`],
      write: (l) => lines.push(l),
      out: (t) => out.push(t),
    });
    expect(restore, lines.join('\n')).toBe(0);
    expect(out.join('')).toContain('Stop the control plane');

    restoredEtcd = await startEtcd({
      bin,
      dataDir: join(dir, 'data'),
      name: 'default',
      clientPort,
      peerPort,
      logPath: join(work, 'etcd.log'),
    });
    const pki = join(dir, 'pki');
    const token = 'restored-admin-token-0123456789';
    writeFileSync(join(work, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
    const log = openSync(join(work, 'apiserver.log'), 'a');
    const apiserver = spawn(
      join(bin, 'kube-apiserver'),
      [
        ...apiserverArgs({
          etcdEndpoint: restoredEtcd.endpoint,
          pki,
          port: apiPort,
          tokenFile: join(work, 'tokens.csv'),
        }),
        '--authorization-mode=RBAC',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    children.push(apiserver);
    const ca = readFileSync(join(pki, 'ca.crt'), 'utf8');
    const url = `https://127.0.0.1:${apiPort}`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ready = await get(`${url}/readyz`, ca, token).catch(() => undefined);
      if (ready?.status === 200) break;
      if (apiserver.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `restored kube-apiserver not ready:\n${readFileSync(join(work, 'apiserver.log'), 'utf8').slice(-3000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const namespaces = await get(`${url}/api/v1/namespaces`, ca, token);
    const names = namespaces.body.items.map((n: any) => n.metadata.name);
    expect(names).toContain('etcd-rt-kept');
    // Deleted in the live cluster after the backup: restored as it was then, not terminating.
    const deleted = namespaces.body.items.find((n: any) => n.metadata.name === 'etcd-rt-deleted-later');
    expect(deleted?.metadata.deletionTimestamp).toBeUndefined();
    expect(deleted?.status.phase).toBe('Active');
    const cm = await get(`${url}/api/v1/namespaces/etcd-rt-kept/configmaps/settings`, ca, token);
    expect(cm.body.data).toEqual({ colour: 'teal' });
  }, 300_000);
});
