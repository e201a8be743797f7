// Export half of the issue-6 benchmark: a 5,000-object namespace on the emulator, exported to S3 (s3rver) by
// `nsbackup export` (compiled, as shipped), beside `kubectl get <the same kinds> -n bench -o json` (real
// kubectl, warm --cache-dir).
//   npx tsx bench/export-restore.ts [--objects 5000] [--runs 3] [--no-build]
// The emulator and s3rver run in this process. Both tools run as child processes and are timed as whole
// processes (start-up and discovery included), peak RSS read with /usr/bin/time. The export is bundled as shipped
// (tools/bundle.ts) into .tmp/bench-dist first (--no-build reuses it), so that RSS is the product's, not a TS
// loader's. Goals: export no slower than 1.5x kubectl's listing (issue 6), 1.2x start-up included (issue 15);
// export peak RSS < 250 MB. Also reported: CPU time of both processes and the export command's own time (its
// summary line: after start-up and imports), because wall times swing with the machine's load (printed too).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NAMESPACE, objectsOf, timed, type Timed, compiledNsbackup } from './objects.js';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '3' },
    'no-build': { type: 'boolean', default: false },
  },
});

/** The kinds of this bench (no Roles: kubectl's listing names these five). */
const MIX: [string, number][] = [
  ['ConfigMap', 0.4],
  ['Secret', 0.3],
  ['Service', 0.12],
  ['Deployment', 0.12],
  ['ServiceAccount', 0.06],
];
const KINDS = 'configmaps,secrets,services,deployments,serviceaccounts';
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await parent();

async function parent(): Promise<void> {
  const nsbackup = await compiledNsbackup('bench-dist', values['no-build']);
  const { startCluster } = await import('../test/cluster/index.js');
  const { startS3 } = await import('../test/kit/index.js');
  const total = Number(values.objects);
  const runs = Number(values.runs);
  const [cluster, s3] = await Promise.all([startCluster(), startS3('bench')]);
  const cacheDir = mkdtempSync(join(tmpdir(), 'nsbackup-bench-kubectl-'));
  try {
    cluster.seed(...objectsOf(total, { mix: MIX, clusterIPs: true }));

    // kubectl: one run to fill its discovery cache, then timed runs.
    const kubectlArgs = ['get', KINDS, '-n', NAMESPACE, '-o', 'json', '--kubeconfig', cluster.kubeconfigPath];
    kubectlArgs.push('--cache-dir', cacheDir);
    const listed = JSON.parse((await timed('kubectl', kubectlArgs)).stdout).items.length;
    // nsbackup export, to S3, a new backup id each run; runs alternate with kubectl's so that both see the
    // same machine load.
    const env = {
      ...process.env,
      ...s3.env,
      NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'bench',
    };
    const kubectl: Timed[] = [];
    const exports: Timed[] = [];
    for (let i = 0; i < runs; i++) {
      kubectl.push(await timed('kubectl', kubectlArgs));
      const args = [nsbackup, 'export', '-n', NAMESPACE, '--backup-id', `run-${i}`];
      exports.push(await timed(process.execPath, args, env));
    }
    const store = s3.store();
    const { readManifest } = await import('../lib/export/index.js');
    const manifest = await readManifest(store, 'nsbackup/bench/bench/run-0/');

    // The command's own time, from its summary line: after Node start-up and module loading.
    const inCommandMs = exports.map((r) => {
      const summary = r.stderr.split('\n').find((line) => line.includes('"summary":true'));
      return Math.round(JSON.parse(summary!).durationSeconds * 1000);
    });
    const exportMs = median(exports.map((r) => r.ms));
    const kubectlMs = median(kubectl.map((r) => r.ms));
    const exportRssMb = Math.max(...exports.map((r) => r.rssMb));
    const ratio = exportMs / kubectlMs;
    const report = {
      objects: total,
      kubectlListed: listed,
      exported: manifest.objectCount,
      archiveBytes: manifest.files[0].size,
      exportMs: exports.map((r) => Math.round(r.ms)),
      exportInCommandMs: inCommandMs,
      exportCpuMs: exports.map((r) => Math.round(r.cpuMs)),
      kubectlMs: kubectl.map((r) => Math.round(r.ms)),
      kubectlCpuMs: kubectl.map((r) => Math.round(r.cpuMs)),
      loadAverage: loadavg().map((x) => Number(x.toFixed(1))),
      exportMedianMs: Math.round(exportMs),
      kubectlMedianMs: Math.round(kubectlMs),
      exportToKubectl: Number(ratio.toFixed(2)),
      exportToKubectlCpu: Number(
        (median(exports.map((r) => r.cpuMs)) / median(kubectl.map((r) => r.cpuMs))).toFixed(2),
      ),
      exportPeakRssMb: Math.round(exportRssMb),
      kubectlPeakRssMb: Math.round(Math.max(...kubectl.map((r) => r.rssMb))),
      goals: {
        exportAtMost1_5xKubectl: ratio <= 1.5,
        exportAtMost1_2xKubectl: ratio <= 1.2,
        // Without Node start-up and module loading (client-node alone is ~0.6 s of CPU to import).
        exportInCommandAtMost1_5xKubectl: median(inCommandMs) / kubectlMs <= 1.5,
        exportRssUnder250Mb: exportRssMb < 250,
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    await Promise.all([cluster.close(), s3.close()]);
  }
}
