// A real etcd (the build of test/realcluster) serving clients over TLS with client-certificate auth, as kubeadm
// runs it, on free ports of 127.0.0.1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { freePort } from './ports.js';
import { join } from 'node:path';

export interface EtcdServer {
  endpoint: string;
  peerUrl: string;
  name: string;
  /** etcdctl against this server with the API server's client certificate; throws on failure. */
  etcdctl(args: string[]): string;
  stop(): Promise<void>;
}

export interface EtcdServerOptions {
  bin: string;
  dataDir: string;
  /** kubeadm-layout PKI (makeKubeadmPki); without it the server speaks plain HTTP. */
  pki?: string;
  name?: string;
  clientPort?: number;
  peerPort?: number;
  logPath: string;
}

export async function startEtcd(o: EtcdServerOptions): Promise<EtcdServer> {
  const name = o.name ?? 'm1';
  const clientPort = o.clientPort ?? (await freePort());
  const peerPort = o.peerPort ?? (await freePort());
  const scheme = o.pki ? 'https' : 'http';
  const endpoint = `${scheme}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const tls = o.pki
    ? [
        `--cert-file=${join(o.pki, 'etcd/server.crt')}`,
        `--key-file=${join(o.pki, 'etcd/server.key')}`,
        `--trusted-ca-file=${join(o.pki, 'etcd/ca.crt')}`,
        '--client-cert-auth',
      ]
    : [];
  const fd = openSync(o.logPath, 'a');
  const child: ChildProcess = spawn(
    join(o.bin, 'etcd'),
    [
      `--name=${name}`,
      `--data-dir=${o.dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${name}=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
      ...tls,
    ],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `etcd exited with ${code ?? signal}`));
  const clientArgs = o.pki
    ? [
        `--cacert=${join(o.pki, 'etcd/ca.crt')}`,
        `--cert=${join(o.pki, 'apiserver-etcd-client.crt')}`,
        `--key=${join(o.pki, 'apiserver-etcd-client.key')}`,
      ]
    : [];
  const etcdctl = (args: string[]) => {
    const res = spawnSync(join(o.bin, 'etcdctl'), [`--endpoints=${endpoint}`, ...clientArgs, ...args], {
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`${exited}:\n${readFileSync(o.logPath, 'utf8').slice(-2000)}`);
    try {
      etcdctl(['endpoint', 'health']);
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    endpoint,
    peerUrl,
    name,
    etcdctl,
    stop: async () => {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}
