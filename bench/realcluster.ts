// Restore and export against the real kube-apiserver + etcd (test/realcluster), side by side in one run:
//   nsbackup restore (compiled, as shipped) of 5,000 and 20,000 mixed objects from S3 (s3rver) into a new namespace,
//   kubectl create -f of the same objects (warm --cache-dir, the server validating fields as it does for any user),
//   and a raw baseline: the same objects pre-built as JSON and POSTed over keep-alive connections at the best
//   concurrency found, the server's own write limit on this machine;
//   then nsbackup export (to S3) of the 5,000-object namespace vs kubectl get -o json of the same kinds.
//   npx tsx bench/realcluster.ts [--sizes 5000,20000] [--concurrency 16] [--no-build]
// Everything shares the machine's 2 cores with etcd and kube-apiserver: figures are for this machine, not a cluster.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { BACKUP_ID, NAMESPACE, objectsOf, timed, writeBackup, compiledNsbackup } from './objects.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '5000,20000' },
    concurrency: { type: 'string', default: '16' },
    'raw-concurrency': { type: 'string', default: '4,8,16' },
    'no-build': { type: 'boolean', default: false },
  },
});

const run = promisify(execFile);
const CLUSTER = 'bench';

/** The REST collection of an object (the six kinds objectsOf makes). */
function collectionOf(obj: any, ns: string): string {
  const plural = `${obj.kind.toLowerCase()}s`;
  if (obj.apiVersion === 'v1') return `/api/v1/namespaces/${ns}/${plural}`;
  return `/apis/${obj.apiVersion}/namespaces/${ns}/${plural}`;
}

/** CPU seconds used so far by the control plane's processes (those whose command line names the cluster's folder). */
function controlPlaneCpuSeconds(dir: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}

/**
 * Waits until the controllers are done with what the last phase created (ReplicaSets, EndpointSlices, ...): each
 * phase then starts on a quiet control plane instead of paying for the previous one. At most a minute.
 */
async function settle(dir: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let before = controlPlaneCpuSeconds(dir);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    const now = controlPlaneCpuSeconds(dir);
    if (now - before < 0.2) return; // under a tenth of a core over 2 s
    before = now;
  }
  process.stderr.write('control plane still busy after 60 s: this phase is measured on a loaded server\n');
}

/** POSTs every body, `concurrency` at a time over keep-alive connections; returns the wall time in ms. */
async function rawCreate(
  url: string,
  token: string,
  ca: string,
  bodies: { path: string; data: string }[],
  concurrency: number,
): Promise<number> {
  const agent = new Agent({ ca, keepAlive: true, maxSockets: concurrency });
  const post = (b: { path: string; data: string }) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        url + b.path,
        {
          method: 'POST',
          agent,
          headers: {
            Authorization: `Bearer ${token}`,
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(b.data),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 201 ? resolve() : reject(new Error(`${b.path}: ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(b.data);
    });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) await post(bodies[next++]);
    }),
  );
  agent.destroy();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const nsbackup = await compiledNsbackup('bench-restore-dist', values['no-build']);
  const { startRealCluster } = await import('../test/realcluster/index.js');
  const { startS3 } = await import('../test/kit/index.js');
  const [cluster, s3] = await Promise.all([startRealCluster(), startS3('bench')]);
  const work = mkdtempSync(join(tmpdir(), 'nsbackup-bench-real-'));
  const cacheDir = join(work, 'kubectl-cache');
  const kubectl = (...args: string[]) => [
    ...args,
    '--kubeconfig',
    cluster.kubeconfigPath,
    '--cache-dir',
    cacheDir,
  ];
  const ca = readFileSync(cluster.caPath, 'utf8');
  const env = {
    ...process.env,
    ...s3.env,
    NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    NSBACKUP_CLUSTER_NAME: CLUSTER,
    NSBACKUP_RESTORE_CONCURRENCY: values.concurrency,
  };
  const reports: unknown[] = [];
  try {
    await run('kubectl', kubectl('api-resources')); // kubectl runs warm
    for (const total of values.sizes.split(',').map(Number)) {
      // Deployments at 0 replicas: otherwise every run starts pods on the test node, whose work grows with each
      // namespace and lands on the same 2 cores as the writes being measured.
      const objects = objectsOf(total).map((o) =>
        o.kind === 'Deployment' ? { ...o, spec: { ...o.spec, replicas: 0 } } : o,
      );
      // The backup of NAMESPACE (one at a time: the next size overwrites it); restore maps it to a new namespace.
      await writeBackup(s3.store(), objects, CLUSTER);
      const nsOf = (name: string) => cluster.kubectl(['create', 'namespace', name]);

      const restoreNs = `restored-${total}`;
      await settle(cluster.dir);
      const restore = await timed(
        process.execPath,
        [
          nsbackup,
          'restore',
          '--backup',
          BACKUP_ID,
          '-n',
          NAMESPACE,
          '--namespace-mapping',
          `${NAMESPACE}=${restoreNs}`,
        ],
        env,
      );
      const summary = JSON.parse(restore.stderr.split('\n').find((l) => l.includes('"summary":true'))!);
      if (summary.created !== total + 1)
        throw new Error(`restore created ${summary.created} of ${total + 1}: ${restore.stderr.slice(-2000)}`);

      const kubectlNs = `kubectl-${total}`;
      nsOf(kubectlNs);
      const listFile = join(work, `objects-${total}.json`);
      const items = objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: undefined } }));
      writeFileSync(listFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      await settle(cluster.dir);
      const create = await timed('kubectl', kubectl('create', '-f', listFile, '-n', kubectlNs));

      const raw: Record<string, number> = {};
      for (const concurrency of values['raw-concurrency'].split(',').map(Number)) {
        const ns = `raw-${total}-${concurrency}`;
        nsOf(ns);
        const bodies = objects.map((o) => ({
          path: collectionOf(o, ns),
          data: JSON.stringify({ ...o, metadata: { ...o.metadata, namespace: ns } }),
        }));
        await settle(cluster.dir);
        raw[concurrency] = Math.round(await rawCreate(cluster.url, cluster.token, ca, bodies, concurrency));
      }
      const rawBest = Math.min(...Object.values(raw));
      const perSecond = (ms: number) => Math.round(total / (ms / 1000));
      reports.push({
        objects: total,
        restoreMs: Math.round(restore.ms),
        restoreObjectsPerSecond: perSecond(restore.ms),
        restorePeakRssMb: Math.round(restore.rssMb),
        kubectlCreateMs: Math.round(create.ms),
        kubectlObjectsPerSecond: perSecond(create.ms),
        rawCreateMsByConcurrency: raw,
        rawBestObjectsPerSecond: perSecond(rawBest),
        restoreShareOfRaw: Number((rawBest / restore.ms).toFixed(2)),
        kubectlShareOfRaw: Number((rawBest / create.ms).toFixed(2)),
        restoreSpeedupOverKubectl: Number((create.ms / restore.ms).toFixed(2)),
        loadAverage: loadavg().map((x) => Number(x.toFixed(1))),
      });
      process.stderr.write(`${JSON.stringify(reports.at(-1))}\n`);
    }

    // Export of the first size's restored namespace vs kubectl get -o json of the same kinds.
    const first = Number(values.sizes.split(',')[0]);
    const exportRuns = [];
    const getRuns = [];
    await settle(cluster.dir);
    for (let i = 0; i < 3; i++) {
      exportRuns.push(
        await timed(
          process.execPath,
          [nsbackup, 'export', '-n', `restored-${first}`, '--backup-id', `20261121-00000${i}-export`],
          env,
        ),
      );
      getRuns.push(
        await timed(
          'kubectl',
          kubectl(
            'get',
            'configmaps,secrets,services,deployments,roles,serviceaccounts',
            '-n',
            `restored-${first}`,
            '-o',
            'json',
          ),
        ),
      );
    }
    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[1];
    const exportMs = median(exportRuns.map((r) => r.ms));
    const getMs = median(getRuns.map((r) => r.ms));
    reports.push({
      export: {
        objects: first,
        exportMs: Math.round(exportMs),
        kubectlGetMs: Math.round(getMs),
        ratio: Number((exportMs / getMs).toFixed(2)),
        exportPeakRssMb: Math.round(Math.max(...exportRuns.map((r) => r.rssMb))),
      },
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
    await Promise.all([cluster.close(), s3.close()]);
  }
  process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
}

await main();
