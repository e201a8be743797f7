// startRealCluster(): a real Kubernetes control plane on 127.0.0.1, from binaries built by build.ts:
// etcd, kube-apiserver (TLS, RBAC, the default admission chain, ServiceAccount tokens),
// kube-controller-manager, kube-scheduler, snapshot-controller and csi-snapshotter, plus testnode
// (ours): a node whose pods run local processes, the CSI driver behind the snapshotter and a
// stand-in provisioner. Same shape as test/cluster's startCluster() where the two can agree.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import YAML from 'yaml';
import { freePort, makeKubeadmPki } from '../kit/index.js';
import { ensureBuilt } from './build.js';

// The build (its etcd serves the etcd tests too) and the nsbackup image its node runs.
export { ensureBuilt, KUBERNETES_RELEASE } from './build.js';
export { buildNsbackupImage, NSBACKUP_IMAGE, type NsbackupImage } from './image.js';

export const DRIVER = 'hostpath.csi.nsbackup.test';
export const STORAGE_CLASS = 'standard';
export const SNAPSHOT_CLASS = 'csi-hostpath';
export const NODE_NAME = 'testnode-1';

export interface RealClusterOptions {
  clusterName?: string;
  /** Where to write the admin kubeconfig (default: in the cluster's temp folder). */
  kubeconfigPath?: string;
  /** A snapshot reports readyToUse only this long after it was cut (default 0). */
  snapshotReadyAfterMs?: number;
  /** IMAGE (repository, any tag) -> the local command a container of it runs when it names none. */
  images?: Record<string, string[]>;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /**
   * etcd serves clients over TLS with client-certificate auth, certificates in kubeadm's layout (etcd-pki/: etcd/ca,
   * etcd/server, apiserver-etcd-client), and kube-apiserver connects with them, as on a kubeadm control plane.
   * Default: plain HTTP on 127.0.0.1.
   */
  etcdTls?: boolean;
}

export interface RealClusterEtcd {
  endpoint: string;
  dataDir: string;
  /** With etcdTls: the kubeadm-layout PKI folder of etcd's certificates. */
  pki?: string;
}

export interface RealCluster {
  url: string;
  kubeconfigPath: string;
  kubeconfig: any;
  /** Bearer token of the admin user (system:masters). */
  token: string;
  /** The cluster CA (PEM), as in the kubeconfig. */
  caPath: string;
  /** Everything the cluster writes: certs, logs/, etcd, node/ (volumes, snapshots, pods). */
  dir: string;
  etcd: RealClusterEtcd;
  /** kubectl against this cluster with its own cache dir; throws with stderr on a non-zero exit. */
  kubectl(args: string[], input?: string): string;
  /** The same without blocking this process (for waits: the test runner must keep talking to its workers). */
  kubectlAsync(args: string[]): Promise<string>;
  /** Raw API request as admin: status and parsed JSON body. */
  api(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<{ status: number; body: any }>;
  /** A kubeconfig for another user (e.g. a ServiceAccount token), written next to the admin one. */
  kubeconfigFor(name: string, token: string, namespace?: string): string;
  close(): Promise<void>;
}

function kubeconfigYaml(
  clusterName: string,
  url: string,
  ca: string,
  user: string,
  auth: Record<string, string>,
  namespace = 'default',
): any {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: clusterName,
        cluster: { server: url, 'certificate-authority-data': Buffer.from(ca).toString('base64') },
      },
    ],
    users: [{ name: user, user: auth }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user, namespace } }],
    'current-context': clusterName,
    preferences: {},
  };
}

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  exited?: string;
}

/**
 * Starts the control plane; when one of its servers finds its port taken (freePort's port was free a moment before,
 * and the other test files of a run pick ports too), starts it again on new ports, up to three times.
 */
export async function startRealCluster(options: RealClusterOptions = {}): Promise<RealCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt >= 3 || !/address already in use/.test(String(error))) throw error;
      options.log?.(`realcluster: a port was taken, starting again (${String(error).split('\n').at(-1)})`);
    }
  }
}

async function startOnce(options: RealClusterOptions): Promise<RealCluster> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const cache = await ensureBuilt(log);
  const bin = (name: string) => join(cache, 'bin', name);
  const clusterName = options.clusterName ?? 'nsbackup-real';
  const dir = mkdtempSync(join(tmpdir(), 'nsbackup-realcluster-'));
  const pki = join(dir, 'pki');
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const procs: Proc[] = [];
  let closed = false;

  const run = (name: string, file: string, args: string[]): Proc => {
    const logPath = join(logs, name + '.log');
    const fd = openSync(logPath, 'a');
    const child = spawn(file, args, { stdio: ['ignore', fd, fd], detached: false });
    closeSync(fd);
    const proc: Proc = { name, child, log: logPath };
    child.on('exit', (code, signal) => {
      proc.exited = `exited with ${code ?? signal}`;
      if (!closed) log(`realcluster: ${name} ${proc.exited} (log: ${logPath})`);
    });
    procs.push(proc);
    return proc;
  };
  const tail = (p: Proc) => readFileSync(p.log, 'utf8').split('\n').slice(-25).join('\n');
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const p of [...procs].reverse()) {
      if (p.exited) continue;
      p.child.kill('SIGTERM');
      const gone = await Promise.race([
        new Promise<boolean>((r) => p.child.once('exit', () => r(true))),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!gone) p.child.kill('SIGKILL');
    }
    // Pods' processes run in their own process groups; the node kills them, this is the backstop.
    spawnSync('pkill', ['-KILL', '-f', join(dir, 'node')]);
    if (!process.env.REALCLUSTER_KEEP) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const gen = spawnSync(bin('testnode'), ['certs', '--dir', pki], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`testnode certs: ${gen.stderr}`);
    const [etcdPort, peerPort, apiPort, kubeletPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const url = `https://127.0.0.1:${apiPort}`;
    const ca = readFileSync(join(pki, 'ca.crt'), 'utf8');
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(pki, 'tokens.csv'), `${token},nsbackup-admin,nsbackup-admin,"system:masters"\n`, {
      mode: 0o600,
    });

    const etcdPki = options.etcdTls ? makeKubeadmPki(join(dir, 'etcd-pki')) : undefined;
    const etcdEndpoint = `${etcdPki ? 'https' : 'http'}://127.0.0.1:${etcdPort}`;
    const etcdServerTls = etcdPki
      ? [
          `--cert-file=${join(etcdPki, 'etcd/server.crt')}`,
          `--key-file=${join(etcdPki, 'etcd/server.key')}`,
          `--trusted-ca-file=${join(etcdPki, 'etcd/ca.crt')}`,
          '--client-cert-auth',
        ]
      : [];
    const etcdClientTls = etcdPki
      ? [
          `--etcd-cafile=${join(etcdPki, 'etcd/ca.crt')}`,
          `--etcd-certfile=${join(etcdPki, 'apiserver-etcd-client.crt')}`,
          `--etcd-keyfile=${join(etcdPki, 'apiserver-etcd-client.key')}`,
        ]
      : [];
    const etcd = run('etcd', bin('etcd'), [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdEndpoint}`,
      `--advertise-client-urls=${etcdEndpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
      ...etcdServerTls,
    ]);
    const apiserver = run('kube-apiserver', bin('kube-apiserver'), [
      ...apiserverArgs({ etcdEndpoint, pki, port: apiPort, tokenFile: join(pki, 'tokens.csv') }),
      ...etcdClientTls,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      `--kubelet-client-certificate=${join(pki, 'apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${join(pki, 'apiserver-kubelet-client.key')}`,
      '--kubelet-preferred-address-types=InternalIP',
    ]);
    const agent = new Agent({ ca, keepAlive: true });
    const api = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
        const req = request(
          url + path,
          {
            method,
            agent,
            headers: { Authorization: `Bearer ${token}`, ...(data ? { 'Content-Type': contentType } : {}) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString();
              let parsed: any = text;
              try {
                parsed = JSON.parse(text);
              } catch {
                /* plain text (healthz) */
              }
              resolve({ status: res.statusCode ?? 0, body: parsed });
            });
          },
        );
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
      });
    const until = async (what: string, ok: () => Promise<boolean>, watch: Proc[], timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const p of watch)
          if (p.exited)
            throw new Error(`realcluster: ${p.name} ${p.exited} while waiting for ${what}:\n${tail(p)}`);
        if (await ok().catch(() => false)) return;
        if (Date.now() > deadline) throw new Error(`realcluster: timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await until('kube-apiserver /readyz', async () => (await api('GET', '/readyz')).status === 200, [
      etcd,
      apiserver,
    ]);
    log(`realcluster: kube-apiserver ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const write = (name: string, cfg: any) => {
      const path = join(dir, name);
      writeFileSync(path, YAML.stringify(cfg), { mode: 0o600 });
      return path;
    };
    const certUser = (name: string) => ({
      'client-certificate': join(pki, name + '.crt'),
      'client-key': join(pki, name + '.key'),
    });
    const kubeconfig = kubeconfigYaml(clusterName, url, ca, `${clusterName}-admin`, { token });
    const kubeconfigPath = options.kubeconfigPath ?? join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, YAML.stringify(kubeconfig), { mode: 0o600 });
    const kcmConfig = write(
      'kube-controller-manager.kubeconfig',
      kubeconfigYaml(clusterName, url, ca, 'kcm', certUser('kube-controller-manager')),
    );
    const schedConfig = write(
      'kube-scheduler.kubeconfig',
      kubeconfigYaml(clusterName, url, ca, 'sched', certUser('kube-scheduler')),
    );
    const adminCert = write(
      'admin-cert.kubeconfig',
      kubeconfigYaml(clusterName, url, ca, 'admin', certUser('admin')),
    );

    const controllers = [
      run('kube-controller-manager', bin('kube-controller-manager'), [
        `--kubeconfig=${kcmConfig}`,
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${join(pki, 'sa.key')}`,
        `--root-ca-file=${join(pki, 'ca.crt')}`,
        `--cluster-signing-cert-file=${join(pki, 'ca.crt')}`,
        `--cluster-signing-key-file=${join(pki, 'ca.key')}`,
        '--leader-elect=false',
        '--secure-port=0',
        '--kube-api-qps=200',
        '--kube-api-burst=400',
      ]),
      run('kube-scheduler', bin('kube-scheduler'), [
        `--kubeconfig=${schedConfig}`,
        '--leader-elect=false',
        '--secure-port=0',
      ]),
    ];

    // The VolumeSnapshot CRDs before the snapshot controllers, which wait for them.
    for (const f of readdirSync(join(cache, 'crds')).sort()) {
      const crd = YAML.parse(readFileSync(join(cache, 'crds', f), 'utf8'));
      const res = await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      if (res.status !== 201)
        throw new Error(`realcluster: CRD ${f}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    }
    const images = Object.entries(options.images ?? {}).map(
      ([image, argv]) => `--image=${image}=${argv.join(',')}`,
    );
    const csiSocket = join(dir, 'csi.sock');
    controllers.push(
      run('snapshot-controller', bin('snapshot-controller'), [
        `--kubeconfig=${adminCert}`,
        '--worker-threads=4',
        '--kube-api-qps=100',
        '--kube-api-burst=200',
        '--retry-interval-start=200ms',
      ]),
      run('testnode', bin('testnode'), [
        'node',
        `--kubeconfig=${adminCert}`,
        `--name=${NODE_NAME}`,
        `--root=${join(dir, 'node')}`,
        `--driver=${DRIVER}`,
        `--csi-socket=${csiSocket}`,
        `--kubelet-port=${kubeletPort}`,
        `--tls-cert=${join(pki, 'kubelet.crt')}`,
        `--tls-key=${join(pki, 'kubelet.key')}`,
        `--api-port=${apiPort}`,
        `--snapshot-ready-after=${options.snapshotReadyAfterMs ?? 0}ms`,
        ...images,
      ]),
    );
    await until('the CSI socket', async () => existsSync(csiSocket), controllers);
    controllers.push(
      run('csi-snapshotter', bin('csi-snapshotter'), [
        `--kubeconfig=${adminCert}`,
        `--csi-address=${csiSocket}`,
        '--timeout=60s',
        '--worker-threads=4',
        '--kube-api-qps=100',
        '--kube-api-burst=200',
        '--retry-interval-start=200ms',
      ]),
    );

    const create = async (path: string, obj: any) => {
      const res = await api('POST', path, obj);
      if (res.status !== 201 && res.status !== 409)
        throw new Error(`realcluster: ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    };
    await create('/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: STORAGE_CLASS,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: DRIVER,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: true,
    });
    await until(
      'VolumeSnapshotClass to be served',
      async () => (await api('GET', '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses')).status === 200,
      controllers,
    );
    await create('/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses', {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: {
        name: SNAPSHOT_CLASS,
        annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
      },
      driver: DRIVER,
      deletionPolicy: 'Delete',
    });
    await until(
      `node ${NODE_NAME} Ready`,
      async () => {
        const n = await api('GET', `/api/v1/nodes/${NODE_NAME}`);
        const ready = n.body?.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True';
        const tainted = (n.body?.spec?.taints ?? []).some(
          (t: any) => t.key === 'node.kubernetes.io/not-ready',
        );
        return n.status === 200 && ready && !tainted;
      },
      controllers,
    );
    await until(
      'the default ServiceAccount',
      async () => (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
      controllers,
    );
    await until(
      'kube-root-ca.crt in default',
      async () => (await api('GET', '/api/v1/namespaces/default/configmaps/kube-root-ca.crt')).status === 200,
      controllers,
    );
    log(`realcluster: ready after ${((Date.now() - started) / 1000).toFixed(1)} s (${dir})`);

    const kubectlCache = join(dir, 'kubectl-cache');
    return {
      url,
      kubeconfigPath,
      kubeconfig,
      token,
      caPath: join(pki, 'ca.crt'),
      dir,
      etcd: { endpoint: etcdEndpoint, dataDir: join(dir, 'etcd'), pki: etcdPki },
      api,
      kubectl: (args, input) => {
        const res = spawnSync(
          'kubectl',
          ['--kubeconfig', kubeconfigPath, '--cache-dir', kubectlCache, ...args],
          { input, encoding: 'utf8' },
        );
        if (res.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
        return res.stdout;
      },
      kubectlAsync: (args) =>
        new Promise((resolve, reject) => {
          execFile(
            'kubectl',
            ['--kubeconfig', kubeconfigPath, '--cache-dir', kubectlCache, ...args],
            { maxBuffer: 64 * 1024 * 1024 },
            (err, stdout, stderr) =>
              err
                ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`))
                : resolve(stdout),
          );
        }),
      kubeconfigFor: (name, userToken, namespace = 'default') =>
        write(
          `${name}.kubeconfig`,
          kubeconfigYaml(clusterName, url, ca, name, { token: userToken }, namespace),
        ),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * kube-apiserver's flags for a PKI folder in kubeadm's layout: TLS, token and ServiceAccount keys, the service range,
 * no endpoint reconciler. What the test cluster and a server started on a restored etcd have in common.
 */
export function apiserverArgs(o: {
  etcdEndpoint: string;
  pki: string;
  port: number;
  tokenFile: string;
}): string[] {
  return [
    `--etcd-servers=${o.etcdEndpoint}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${o.port}`,
    `--tls-cert-file=${join(o.pki, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(o.pki, 'apiserver.key')}`,
    `--client-ca-file=${join(o.pki, 'ca.crt')}`,
    `--token-auth-file=${o.tokenFile}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(o.pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(o.pki, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/12',
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ];
}
