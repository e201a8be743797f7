// Retention at scale on the emulator: 50,000 VolumeSnapshots over 500 PVCs (50 namespaces x 10 PVCs,
// 100 daily backups each, labelled by backup's own snapshotLabels), seeded directly. Reports the time to plan,
// the time of full retain + mark-and-delete runs (pause 0, all namespaces), the API calls they made by verb,
// and the commands' peak RSS. The commands run in a child process (this file with --child) so the RSS is
// theirs, not the emulator's.
// Then the simulated year on a fresh emulator: daily backups for 400 days, each labelled by
// snapshotLabels against the PVC's snapshots in the cluster, followed by retain and mark-and-delete with a
// fake clock (in this process: 800 child processes would take longer than the year itself). Prints what
// survives per PVC (expect 7 daily, 4 weekly and 12 monthly, plus the marked ones still in their grace day)
// and the PATCH requests per PVC and day.
//   npx tsx bench/retention-cluster.ts [--namespaces 50] [--pvcs 10] [--days 100] [--year-pvcs 4] [--year-days 400]
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { DateTime } from 'luxon';
import { snapshotLabels } from '../lib/backup/snapshot-labels.js';
import { runCommand, type Command } from '../lib/command.js';
import { Labels } from '../lib/labels.js';
import { toSnapshotInfo } from '../lib/snapshots/list.js';
import {
  DEFAULT_RETAIN_POLICY,
  planMark,
  planRetain,
  planSweep,
  type SnapshotRecord,
} from '../lib/retention/index.js';
import { createMarkAndDeleteCommand } from '../scripts/mark-and-delete.js';
import { createRetainCommand } from '../scripts/retain.js';
import { startCluster, type Cluster } from '../test/cluster/index.js';
import { pruneNight, snapshotObjects } from '../test/kit/index.js';

const { values } = parseArgs({
  args: process.argv[2] === '--child' ? [] : process.argv.slice(2),
  options: {
    namespaces: { type: 'string', default: '50' },
    pvcs: { type: 'string', default: '10' },
    days: { type: 'string', default: '100' },
    'year-pvcs': { type: 'string', default: '4' },
    'year-days': { type: 'string', default: '400' },
  },
});
const NAMESPACES = Number(values.namespaces);
const PVCS_PER_NAMESPACE = Number(values.pvcs);
const DAYS = Number(values.days);
const YEAR_PVCS = Number(values['year-pvcs']);
const YEAR_DAYS = Number(values['year-days']);
const FIRST = Date.parse('2026-01-01T01:00:00Z');
const DAY = 86_400_000;
const ZONE = 'UTC';
const SNAP_API = 'snapshot.storage.k8s.io/v1';

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
    await step(cluster, `first run after ${DAYS} days without pruning: retain`, 'retain', DAYS);
    await step(cluster, 'first run: mark-and-delete (marks)', 'mark-and-delete', DAYS);
    await step(cluster, 'two days later: mark-and-delete (deletions, --force)', 'mark-and-delete', DAYS + 2);
    addDay(cluster, DAYS + 2);
    await step(cluster, 'steady state, next daily backup: retain', 'retain', DAYS + 2);
    await step(cluster, 'steady state: mark-and-delete', 'mark-and-delete', DAYS + 2);
    console.log(`snapshots left: ${cluster.list(SNAP_API, 'VolumeSnapshot').length}`);
  } finally {
    await cluster.close();
  }
  await simulatedYear();
}

/**
 * The simulated year: a daily backup of each PVC at 02:30 in Europe/Berlin (both DST changes and a new
 * year), labelled by backup's snapshotLabels against the PVC's snapshots in the cluster, then retain and
 * mark-and-delete as the prune CronJob runs them, half an hour later.
 */
async function simulatedYear() {
  const zone = 'Europe/Berlin';
  const first = DateTime.fromISO('2025-01-01T02:30', { zone });
  const pvcs = Array.from({ length: YEAR_PVCS }, (_, i) => `pvc-${i}`);
  const cluster = await startCluster();
  const env = { NSBACKUP_KUBECONFIG: cluster.kubeconfigPath, TZ: zone, NSBACKUP_DELETE_PAUSE: '0' };
  const started = Date.now();
  let day = first;
  try {
    for (let i = 0; i < YEAR_DAYS; i++, day = day.plus({ days: 1 })) {
      const createdAt = day.toUTC().toISO({ suppressMilliseconds: true })!;
      const existing = cluster
        .list(SNAP_API, 'VolumeSnapshot', 'year')
        .map((vs) => toSnapshotInfo(vs).record);
      for (const pvc of pvcs) {
        const labels = snapshotLabels({
          backupId: `b${day.toFormat('yyyyMMdd')}`,
          pvc,
          type: 'scheduled',
          retain: { policy: 'gfs' },
          createdAt,
          timeZone: zone,
          existingOfSamePvc: existing.filter((r) => r.pvc === pvc),
        });
        const name = `${pvc}-${day.toFormat('yyyyMMdd')}`;
        cluster.seed(
          ...snapshotObjects({ namespace: 'year', name, pvc, createdAt, labels, contentPolicy: 'Retain' }),
        );
      }
      await pruneNight(cluster, 'year', env, day.plus({ minutes: 30 }).toJSDate());
    }
    const last = day.minus({ days: 1 }).toISODate();
    const patches = cluster.requests.filter((r) => r.verb === 'patch').length;
    console.log(
      `simulated year: ${YEAR_DAYS} days to ${last} (${zone}), ${pvcs.length} PVCs, ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${patches} PATCH requests (${(patches / pvcs.length / YEAR_DAYS).toFixed(2)} per PVC and day)`,
    );
    const survivors = cluster.list(SNAP_API, 'VolumeSnapshot', 'year').map((vs) => toSnapshotInfo(vs).record);
    for (const pvc of pvcs)
      console.log(
        survivorLine(
          pvc,
          survivors.filter((r) => r.pvc === pvc),
        ),
      );
  } finally {
    await cluster.close();
  }
}

/** One PVC's survivors: how many hold each period, the marked ones in their grace, and every date. */
function survivorLine(pvc: string, records: SnapshotRecord[]): string {
  const count = (label: string) => records.filter((r) => label in r.labels).length;
  const dates = records
    .map((r) => `${r.createdAt.slice(0, 10)}${Labels.deleteAfter in r.labels ? '(marked)' : ''}`)
    .sort();
  return (
    `  ${pvc}: ${records.length} survive: ${count(Labels.daily)} daily, ${count(Labels.weekly)} weekly, ` +
    `${count(Labels.monthly)} monthly, ${count(Labels.yearly)} yearly, ${count(Labels.deleteAfter)} marked\n` +
    `    ${dates.join(' ')}`
  );
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
  // Backup's own labelling: every period (yearly too), judged against the PVC's snapshots so far.
  const labels = snapshotLabels({
    backupId: `b${day}`,
    pvc,
    type: 'scheduled',
    retain: { policy: 'gfs' },
    createdAt,
    timeZone: ZONE,
    existingOfSamePvc: previous,
  });
  const record = { namespace, name: `${pvc}-d${day}`, pvc, createdAt, ready: true, failed: false, labels };
  previous.push(record);
  return record;
}

function addDay(cluster: Cluster, day: number) {
  const byPvc = new Map<string, SnapshotRecord[]>();
  for (const vs of cluster.list(SNAP_API, 'VolumeSnapshot')) {
    const { record } = toSnapshotInfo(vs);
    const key = `${record.namespace}/${record.pvc}`;
    const group = byPvc.get(key);
    if (group) group.push(record);
    else byPvc.set(key, [record]);
  }
  for (const [key, records] of byPvc) {
    const [namespace, pvc] = key.split('/');
    cluster.seed(...snapshotObjects({ ...backupOn(namespace, pvc, day, records), contentPolicy: 'Retain' }));
  }
}

function planTimes(cluster: Cluster) {
  const listed = Date.now();
  const records = cluster.list(SNAP_API, 'VolumeSnapshot').map((vs) => toSnapshotInfo(vs).record);
  const mapped = Date.now();
  const now = new Date(FIRST + DAYS * DAY);
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
