// Times the retention planners on 50,000 snapshots over 500 PVCs (and one PVC of 50,000 for
// deltas, the case tarsnapper's quadratic walk cannot do), and reports peak RSS.
// Run: npx tsx bench/retention-plan.ts
import { Labels } from '../lib/labels.js';
import {
  activeGfsKeys,
  DEFAULT_GFS_KEEP,
  DELTAS_LABEL,
  gfsValues,
  planMark,
  planRetain,
  planSweep,
  type SnapshotRecord,
} from '../lib/retention/index.js';

const TZ = 'Europe/Berlin';
const HOUR = 3_600_000;
const START = Date.UTC(2025, 0, 1, 1, 0);

/** `perPvc` backups `everyMs` apart per PVC, labelled as backup would label them. */
function history(pvcs: number, perPvc: number, everyMs: number, policy: 'gfs' | 'deltas'): SnapshotRecord[] {
  const records: SnapshotRecord[] = [];
  for (let p = 0; p < pvcs; p++) {
    const pvc = `pvc-${p}`;
    const held = new Set<string>();
    for (let i = 0; i < perPvc; i++) {
      const createdAt = new Date(START + i * everyMs + p * 1000).toISOString();
      const labels: Record<string, string> = { [Labels.pvc]: pvc, [Labels.retain]: policy };
      if (policy === 'deltas') labels[DELTAS_LABEL] = 'PT1H_P1D_P7D_P30D_P360D';
      else {
        const values = gfsValues(createdAt, TZ);
        for (const key of activeGfsKeys(DEFAULT_GFS_KEEP)) {
          if (held.has(`${key}=${values[key]}`)) continue;
          held.add(`${key}=${values[key]}`);
          labels[Labels[key]] = values[key];
        }
      }
      const namespace = `ns-${p % 50}`;
      records.push({ namespace, name: `${pvc}-${i}`, pvc, createdAt, ready: true, failed: false, labels });
    }
  }
  return records;
}

function timed<T>(run: () => T): { ms: number; result: T } {
  let best = Infinity;
  let result = run();
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    result = run();
    best = Math.min(best, performance.now() - started);
  }
  return { ms: best, result };
}

function bench(label: string, records: SnapshotRecord[]) {
  const last = Math.max(...records.map((r) => Date.parse(r.createdAt)));
  const now = new Date(last + 60_000);
  const retain = timed(() => planRetain(records));
  const retained = applyRemovals(records, retain.result.removals);
  const mark = timed(() => planMark(retained, { now, timeZone: TZ, graceDays: 1 }));
  const marked = applyMarks(retained, mark.result.marks);
  const later = new Date(now.getTime() + 2 * 24 * HOUR);
  const options = { now: later, timeZone: TZ, maxDeleteShare: 0.5, maxDeleteCount: 1000, force: true };
  const sweep = timed(() => planSweep(marked, options));
  console.log(
    `${label.padEnd(34)} retain ${fmt(retain.ms)} (${retain.result.removals.length} removals)  ` +
      `mark ${fmt(mark.ms)} (${mark.result.marks.length} marks)  ` +
      `sweep ${fmt(sweep.ms)} (${sweep.result.deletions.length} deletions)  ` +
      `total ${fmt(retain.ms + mark.ms + sweep.ms)}`,
  );
}

function applyRemovals(records: SnapshotRecord[], removals: { name: string; remove: string[] }[]) {
  const byName = new Map(removals.map((r) => [r.name, r.remove]));
  return records.map((r) => {
    const remove = byName.get(r.name);
    if (!remove) return r;
    const labels = { ...r.labels };
    for (const key of remove) delete labels[key];
    return { ...r, labels };
  });
}

function applyMarks(records: SnapshotRecord[], marks: { name: string; deleteAfter: string }[]) {
  const byName = new Map(marks.map((m) => [m.name, m.deleteAfter]));
  return records.map((r) => {
    const deleteAfter = byName.get(r.name);
    return deleteAfter ? { ...r, labels: { ...r.labels, [Labels.deleteAfter]: deleteAfter } } : r;
  });
}

const fmt = (ms: number) => `${ms.toFixed(0).padStart(5)} ms`;

// One scenario per argument (gfs, deltas, deltas-one-pvc) gives that scenario's own peak RSS.
const scenarios: Record<string, () => void> = {
  gfs: () => bench('gfs, 500 PVCs x 100 (every 8 h)', history(500, 100, 8 * HOUR, 'gfs')),
  deltas: () => bench('deltas, 500 PVCs x 100 (hourly)', history(500, 100, HOUR, 'deltas')),
  'deltas-one-pvc': () => bench('deltas, 1 PVC x 50,000 (hourly)', history(1, 50_000, HOUR, 'deltas')),
};
const chosen = process.argv.slice(2);
console.log(`node ${process.version}; best of 5 runs per planner; plans are pure, so no API calls`);
for (const name of chosen.length > 0 ? chosen : Object.keys(scenarios)) {
  const run = scenarios[name];
  if (!run) throw new Error(`unknown scenario ${name}; choose from ${Object.keys(scenarios).join(', ')}`);
  run();
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
