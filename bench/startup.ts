// Start-up of the shipped bundle (tools/bundle.ts), side by side with kubectl's (issue 15's goal: `nsbackup
// --version` and `nsbackup list` within 2x of `kubectl version --client`):
//   npx tsx bench/startup.ts [--runs 11] [--no-build]
// Each command runs as a whole process, timed with /usr/bin/time, the runs of all commands interleaved so that
// they see the same machine load; the median is reported. `list` lists the VolumeSnapshots of an emulator
// namespace (in this process), as `kubectl get volumesnapshots` does. nsbackup runs twice over: with the V8
// compile cache warm, as the image ships it (NODE_COMPILE_CACHE, Dockerfile), and with it disabled; and the
// single-file executable of `npm run package` (tools/package.ts, started from its V8 startup snapshot) runs beside
// them.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Labels } from '../lib/labels.js';
import { packageNsbackup } from '../tools/package.js';
import { NAMESPACE, timed, compiledNsbackup } from './objects.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '11' },
    'no-build': { type: 'boolean', default: false },
  },
});
/** The namespace of 20 snapshots (NAMESPACE has none). */
const FULL = 'bench-full';
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const nsbackup = await compiledNsbackup('bench-dist', values['no-build']);
const seaPath = fileURLToPath(new URL('../.tmp/bench-sea/nsbackup', import.meta.url));
const sea = values['no-build'] && existsSync(seaPath) ? seaPath : await packageNsbackup(dirname(seaPath));
const { startCluster } = await import('../test/cluster/index.js');
const { seedSnapshots } = await import('../test/kit/index.js');
const cluster = await startCluster();
const scratch = mkdtempSync(join(tmpdir(), 'nsbackup-bench-startup-'));
try {
  cluster.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  // A namespace with snapshots too: its table formats dates in the time zone, which an empty list never does.
  cluster.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: FULL } });
  seedSnapshots(
    cluster,
    Array.from({ length: 20 }, (_, i) => {
      const day = `2026-11-${String(i + 1).padStart(2, '0')}`;
      return {
        namespace: FULL,
        name: `data-${day.replaceAll('-', '')}-020000-bench${String(i).padStart(2, '0')}`,
        pvc: 'data',
        createdAt: `${day}T02:00:00Z`,
        labels: { [Labels.retain]: 'gfs', [Labels.daily]: day },
      };
    }),
  );
  const kubeconfig = cluster.kubeconfigPath;
  const cacheDir = join(scratch, 'kubectl-cache');
  const warm = { ...process.env, NODE_COMPILE_CACHE: join(scratch, 'compile-cache') };
  const cold = { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' };
  const listEnv = (env: NodeJS.ProcessEnv) => ({ ...env, NSBACKUP_KUBECONFIG: kubeconfig });
  const commands: Record<string, () => ReturnType<typeof timed>> = {
    'kubectl version --client': () => timed('kubectl', ['version', '--client']),
    'kubectl get volumesnapshots': () =>
      timed('kubectl', [
        'get',
        'volumesnapshots',
        '-n',
        NAMESPACE,
        '--kubeconfig',
        kubeconfig,
        '--cache-dir',
        cacheDir,
      ]),
    'kubectl get volumesnapshots (20)': () =>
      timed('kubectl', [
        'get',
        'volumesnapshots',
        '-n',
        FULL,
        '--kubeconfig',
        kubeconfig,
        '--cache-dir',
        cacheDir,
      ]),
    'nsbackup --version (warm cache)': () => timed(process.execPath, [nsbackup, '--version'], warm),
    'nsbackup --version (no cache)': () => timed(process.execPath, [nsbackup, '--version'], cold),
    'nsbackup list (warm cache)': () =>
      timed(process.execPath, [nsbackup, 'list', '-n', NAMESPACE], listEnv(warm)),
    'nsbackup list (no cache)': () =>
      timed(process.execPath, [nsbackup, 'list', '-n', NAMESPACE], listEnv(cold)),
    'nsbackup list, 20 snapshots (warm cache)': () =>
      timed(process.execPath, [nsbackup, 'list', '-n', FULL], listEnv(warm)),
    'nsbackup --version (executable)': () => timed(sea, ['--version'], cold),
    'nsbackup list (executable)': () => timed(sea, ['list', '-n', NAMESPACE], listEnv(cold)),
  };
  // One untimed round: kubectl's discovery cache and the compile cache filled, as on a node that ran it before.
  for (const run of Object.values(commands)) await run();
  const ms: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  const rss: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let i = 0; i < Number(values.runs); i++) {
    for (const [name, run] of Object.entries(commands)) {
      const r = await run();
      ms[name].push(r.ms);
      cpu[name].push(r.cpuMs);
      rss[name].push(r.rssMb);
    }
  }
  const base = median(ms['kubectl version --client']);
  console.log(`runs: ${values.runs} each, interleaved; load average ${loadavg()[0].toFixed(2)}`);
  console.log('goal: --version and list within 2x of kubectl version --client');
  console.log('| command | wall (median) | CPU (median) | peak RSS | x kubectl version --client |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const name of Object.keys(commands)) {
    const wall = median(ms[name]);
    console.log(
      `| ${name} | ${Math.round(wall)} ms | ${Math.round(median(cpu[name]))} ms | ${Math.round(Math.max(...rss[name]))} MB | ${(wall / base).toFixed(2)}x |`,
    );
  }
} finally {
  await cluster.close();
  rmSync(scratch, { recursive: true, force: true });
}
