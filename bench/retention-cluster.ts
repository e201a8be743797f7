// Retention at scale on the emulator: 50,000 VolumeSnapshots over 500 PVCs (50 namespaces x 10 PVCs,
// 100 daily backups each, labelled by gfsLabelsFor), seeded directly. Reports the time to plan, the time
// of full retain + mark-and-delete runs (pause 0, all namespaces), the API calls they made by verb, and
// the commands' peak RSS. The commands run in a child process (this file with --child) so the RSS is
// theirs, not the emulator's.
//   npx tsx bench/retention-cluster.ts
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCommand, type Command } from '../lib/command.js';
import { Labels } from '../lib/labels.js';
import { toSnapshotInfo } from '../lib/prune/snapshots.js';
import {
  activeGfsKeys,
  DEFAULT_GFS_KEEP,
  DEFAULT_RETAIN_POLICY,
  gfsLabelsFor,
  planMark,
  planRetain,
  planSweep,
  type SnapshotRecord,
} from '../lib/retention/index.js';
import { createMarkAndDeleteCommand } from '../scripts/mark-and-delete.js';
import { createRetainCommand } from '../scripts/retain.js';
import { startCluster, type Cluster } from '../test/cluster/index.js';
import { snapshotObjects } from '../test/prune/fixtures.js';

const NAMESPACES = 50;
const PVCS_PER_NAMESPACE = 10;
const DAYS = 100;
const FIRST = Date.parse('2026-01-01T01:00:00Z');
const DAY = 86_400_000;
const ZONE = 'UTC';

/** Runs one command in this process with the clock from BENCH_NOW and prints its peak RSS. */
async function child(name: string) {
  const now = () => new Date(process.env.BENCH_NOW!);
  const command: Command<any> =
    name === 'retain' ? createRetainCommand() : createMarkAndDeleteCommand({ now });
  const code = await runCommand(command, {
    argv: ['-A', '--force'].slice(0, name === 'retain' ? 1 : 2),
    write: () => {},
  });
  process.stdout.write(
    JSON.stringify({ code, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }),
  );
}

async function main() {
  const cluster = await startCluster();
  try {
    const seeded = seed(cluster);
    console.log(`seeded ${seeded.snapshots} snapshots over ${seeded.pvcs} PVCs in ${seeded.ms} ms`);
    planTimes(cluster);
    await step(cluster, 'first run after 100 days without pruning: retain', 'retain', 100);
    await step(cluster, 'first run: mark-and-delete (marks)', 'mark-and-delete', 100);
    await step(cluster, 'two days later: mark-and-delete (deletions, --force)', 'mark-and-delete', 102);
    addDay(cluster, 102);
    await step(cluster, 'steady state, next daily backup: retain', 'retain', 102);
    await step(cluster, 'steady state: mark-and-delete', 'mark-and-delete', 102);
    console.log(`snapshots left: ${cluster.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot').length}`);
  } finally {
    await cluster.close();
  }
}

function seed(cluster: Cluster) {
  const started = Date.now();
  let snapshots = 0;
  for (let n = 0; n < NAMESPACES; n++) {
    for (let p = 0; p < PVCS_PER_NAMESPACE; p++) {
      const previous: SnapshotRecord[] = [];
      const objects: any[] = [];
      for (let d = 0; d < DAYS; d++) {
        const spec = backupOn(`ns-${n}`, `pvc-${p}`, d, previous);
        objects.push(...snapshotObjects({ ...spec, contentPolicy: d % 2 ? 'Delete' : 'Retain' }));
        snapshots++;
      }
      cluster.seed(...objects);
    }
  }
  return { snapshots, pvcs: NAMESPACES * PVCS_PER_NAMESPACE, ms: Date.now() - started };
}

function backupOn(namespace: string, pvc: string, day: number, previous: SnapshotRecord[]) {
  const createdAt = new Date(FIRST + day * DAY).toISOString().replace('.000Z', 'Z');
  const labels = {
    [Labels.retain]: 'gfs',
    [Labels.backup]: `b${day}`,
    ...gfsLabelsFor(createdAt, ZONE, previous, activeGfsKeys(DEFAULT_GFS_KEEP)),
  };
  const record = { namespace, name: `${pvc}-d${day}`, pvc, createdAt, ready: true, failed: false, labels };
  previous.push(record);
  return record;
}

function addDay(cluster: Cluster, day: number) {
  const byPvc = new Map<string, SnapshotRecord[]>();
  for (const vs of cluster.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot')) {
    const { record } = toSnapshotInfo(vs);
    const key = `${record.namespace}/${record.pvc}`;
    byPvc.set(key, [...(byPvc.get(key) ?? []), record]);
  }
  for (const [key, records] of byPvc) {
    const [namespace, pvc] = key.split('/');
    cluster.seed(...snapshotObjects({ ...backupOn(namespace, pvc, day, records), contentPolicy: 'Retain' }));
  }
}

function planTimes(cluster: Cluster) {
  const listed = Date.now();
  const records = cluster
    .list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot')
    .map((vs) => toSnapshotInfo(vs).record);
  const mapped = Date.now();
  const now = new Date(FIRST + 100 * DAY);
  const retain = planRetain(records, DEFAULT_RETAIN_POLICY);
  const retained = Date.now();
  const mark = planMark(records, { now, timeZone: ZONE, graceDays: 1 });
  const marked = Date.now();
  const sweep = planSweep(records, {
    now,
    timeZone: ZONE,
    maxDeleteShare: 0.5,
    maxDeleteCount: 20,
    force: false,
  });
  const swept = Date.now();
  console.log(
    `plan over ${records.length} records: map ${mapped - listed} ms, retain ${retained - mapped} ms ` +
      `(${retain.removals.length} removals), mark ${marked - retained} ms (${mark.marks.length} marks), ` +
      `sweep ${swept - marked} ms (${sweep.deletions.length} deletions)`,
  );
}

const run = promisify(execFile);

async function step(cluster: Cluster, title: string, command: string, day: number) {
  cluster.clearRequests();
  const started = Date.now();
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', command],
    {
      env: {
        ...process.env,
        NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
        TZ: ZONE,
        NSBACKUP_DELETE_PAUSE: '0',
        BENCH_NOW: new Date(FIRST + day * DAY + 3_600_000).toISOString(),
      },
      maxBuffer: 1 << 20,
    },
  );
  const ms = Date.now() - started;
  await cluster.controllers.idle();
  const result = JSON.parse(stdout);
  const byVerb: Record<string, number> = {};
  for (const r of cluster.requests) byVerb[r.verb] = (byVerb[r.verb] ?? 0) + 1;
  console.log(
    `${title}: exit ${result.code}, ${(ms / 1000).toFixed(1)} s (incl. ~1 s process start), ` +
      `API calls ${JSON.stringify(byVerb)}, peak RSS ${result.maxRssMiB} MiB`,
  );
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else await main();
