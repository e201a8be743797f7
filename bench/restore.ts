// Restore half of the issue-6 benchmark: a 5,000-object namespace (mixed kinds) restored from S3 (s3rver) into an
// empty namespace of the emulator by `nsbackup restore` (compiled, as shipped), beside `kubectl create -f` of the
// same objects (real kubectl, warm --cache-dir).
//   npx tsx bench/restore.ts [--objects 5000] [--runs 3] [--concurrency 16] [--no-build]
// The emulator and s3rver run in this process. Both tools run as child processes and are timed as whole processes
// (start-up, discovery, for nsbackup also the download and checksum), peak RSS read with /usr/bin/time.
// Goals (issue 6): restore at least 5x faster than kubectl create; restore peak RSS < 250 MB.
// --latency-ms 0,5: one scenario per value, each on a fresh emulator; a value > 0 delays every create by that much
// (a fault rule with delayMs, which does not block the emulator). Why: the emulator is one Node process on our two
// cores, at ~1 ms of CPU per create it is itself the bottleneck, and kubectl's one-at-a-time creates already keep it
// busy; on a real API server a create costs little CPU and waits ~2-10 ms for etcd to commit, which is what
// parallel creates overlap. Latency 0 measures the client cost; latency 5 ms the etcd-like case.
import { execFile } from 'node:child_process';
import {
  BACKUP_ID,
  NAMESPACE,
  objectsOf,
  timed,
  writeBackup,
  type Timed,
  compiledNsbackup,
} from './objects.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    'latency-ms': { type: 'string', default: '0,5' },
    'no-build': { type: 'boolean', default: false },
  },
});

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const run = promisify(execFile);

/** The compiled front door (set by main before any scenario runs). */
let nsbackup: string;

async function main(): Promise<void> {
  nsbackup = await compiledNsbackup('bench-restore-dist', values['no-build']);
  const { startCluster } = await import('../test/cluster/index.js');
  const { startS3 } = await import('../test/kit/index.js');
  const total = Number(values.objects);
  const runs = Number(values.runs);
  const reports = [];
  for (const latency of values['latency-ms'].split(',').map(Number)) {
    reports.push(await scenario(startCluster, startS3, total, runs, latency));
  }
  process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
}

async function scenario(
  startCluster: typeof import('../test/cluster/index.js').startCluster,
  startS3: typeof import('../test/kit/index.js').startS3,
  total: number,
  runs: number,
  latencyMs: number,
): Promise<unknown> {
  const [cluster, s3] = await Promise.all([startCluster(), startS3('bench')]);
  const work = mkdtempSync(join(tmpdir(), 'nsbackup-bench-restore-'));
  const cacheDir = join(work, 'kubectl-cache');
  try {
    const objects = objectsOf(total);
    await writeBackup(s3.store(), objects);
    // kubectl gets the same objects as one List, without a namespace (given with -n).
    const listFile = join(work, 'objects.json');
    const items = objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: undefined } }));
    writeFileSync(listFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    const kubectl = (...args: string[]) => [
      ...args,
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--cache-dir',
      cacheDir,
    ];
    await run('kubectl', kubectl('api-resources')); // fills the discovery cache: kubectl runs warm
    if (latencyMs > 0) cluster.faults.add({ verb: 'create', delayMs: latencyMs });

    const kubectlRuns: Timed[] = [];
    const restoreRuns: Timed[] = [];
    const env = {
      ...process.env,
      ...s3.env,
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'bench',
      NSBACKUP_RESTORE_CONCURRENCY: values.concurrency,
    };
    for (let i = 0; i < runs; i++) {
      const kubectlNs = `kubectl-${i}`;
      // (kubectl create namespace sends protobuf, which the emulator decodes only for Jobs.)
      cluster.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: kubectlNs } });
      // --validate=false: the emulator's OpenAPI cannot validate every kind; skipping it only makes kubectl faster.
      const kubectlRun = () =>
        timed('kubectl', kubectl('create', '-f', listFile, '-n', kubectlNs, '--validate=false'));
      const args = [
        nsbackup,
        'restore',
        '--backup',
        BACKUP_ID,
        '-n',
        NAMESPACE,
        '--namespace-mapping',
        `${NAMESPACE}=restored-${i}`,
      ];
      // The emulator's creates get slower as its store grows: alternate which tool goes first.
      if (i % 2 === 0) {
        restoreRuns.push(await timed(process.execPath, args, env));
        kubectlRuns.push(await kubectlRun());
      } else {
        kubectlRuns.push(await kubectlRun());
        restoreRuns.push(await timed(process.execPath, args, env));
      }
      const restored = cluster.list('v1', 'ConfigMap', `restored-${i}`).length;
      const created = cluster.list('v1', 'ConfigMap', kubectlNs).length;
      if (restored !== created)
        throw new Error(`run ${i}: restore made ${restored} ConfigMaps, kubectl ${created}`);
    }
    const summary = JSON.parse(restoreRuns[0].stderr.split('\n').find((l) => l.includes('"summary":true'))!);
    const restoreMs = median(restoreRuns.map((r) => r.ms));
    const kubectlMs = median(kubectlRuns.map((r) => r.ms));
    const rssMb = Math.max(...restoreRuns.map((r) => r.rssMb));
    const speedup = kubectlMs / restoreMs;
    return {
      createLatencyMs: latencyMs,
      objects: total,
      restoredPerRun: summary.created,
      failed: summary.failed,
      concurrency: Number(values.concurrency),
      restoreMs: restoreRuns.map((r) => Math.round(r.ms)),
      restoreCpuMs: restoreRuns.map((r) => Math.round(r.cpuMs)),
      kubectlCreateMs: kubectlRuns.map((r) => Math.round(r.ms)),
      kubectlCreateCpuMs: kubectlRuns.map((r) => Math.round(r.cpuMs)),
      restoreMedianMs: Math.round(restoreMs),
      kubectlMedianMs: Math.round(kubectlMs),
      restoreObjectsPerSecond: Math.round(total / (restoreMs / 1000)),
      speedupOverKubectl: Number(speedup.toFixed(2)),
      restorePeakRssMb: Math.round(rssMb),
      kubectlPeakRssMb: Math.round(Math.max(...kubectlRuns.map((r) => r.rssMb))),
      loadAverage: loadavg().map((x) => Number(x.toFixed(1))),
      goals: { atLeast5xKubectl: speedup >= 5, rssUnder250Mb: rssMb < 250 },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
    await Promise.all([cluster.close(), s3.close()]);
  }
}

await main();
