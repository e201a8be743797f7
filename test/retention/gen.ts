// A small seeded generator of snapshot histories for property tests (no dependency).
import { Labels } from '../../lib/labels.js';
import {
  addDays,
  DELTAS_LABEL,
  deleteAfterFor,
  gfsLabelsFor,
  localDate,
  type SnapshotRecord,
} from '../../lib/retention/index.js';

/** mulberry32: tiny, fast, good enough to spread test cases. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Rng {
  next(): number;
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

export function rng(seed: number): Rng {
  const next = seededRandom(seed);
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}

export function shuffled<T>(items: readonly T[], r: Rng): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

const MINUTE = 60_000;
const DELTA_SPECS = ['PT1H_P1D_P7D', 'P1D_P7D_P30D', 'PT6H_P1D_P7D_P30D_P360D', 'P1D_P3D'];
export const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'UTC'];

/** An ISO timestamp, sometimes in UTC, sometimes with an offset, as clusters and tools write them. */
function isoAt(ms: number, r: Rng): string {
  const offsetMin = r.pick([0, 0, 60, 120, -300, 630]);
  if (offsetMin === 0) return new Date(ms).toISOString().replace('.000Z', 'Z');
  const local = new Date(ms + offsetMin * MINUTE).toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export interface History {
  records: SnapshotRecord[];
  now: Date;
  timeZone: string;
}

/**
 * Several PVCs in two namespaces, each with a run of backups at random gaps (minutes to weeks),
 * labelled by the real labelling functions, then disturbed the way clusters disturb them: not
 * ready, failed, someone else's, pinned, hand-set or broken delete-after, lost labels.
 */
export function generateHistory(seed: number): History {
  const r = rng(seed);
  const timeZone = r.pick(ZONES);
  const start = Date.UTC(2025, r.int(0, 11), r.int(1, 28), r.int(0, 23), r.int(0, 59));
  let latest = start;
  const records: SnapshotRecord[] = [];
  for (const namespace of ['shop', 'blog']) {
    for (const pvc of ['data', 'wal', 'logs'].slice(0, r.int(1, 3))) {
      const made = generatePvc(r, namespace, pvc, start, timeZone);
      records.push(...made.records);
      latest = Math.max(latest, made.last);
    }
  }
  const now = new Date(latest + r.int(0, 20 * 24 * 60) * MINUTE);
  return { records: disturb(records, r, now, timeZone), now, timeZone };
}

function generatePvc(r: Rng, namespace: string, pvc: string, start: number, timeZone: string) {
  const records: SnapshotRecord[] = [];
  const policy = r.pick(['gfs', 'gfs', 'days', 'deltas', 'mixed']);
  const deltas = r.pick(DELTA_SPECS);
  let t = start + r.int(0, 3 * 24 * 60) * MINUTE;
  const count = r.int(0, 40);
  for (let i = 0; i < count; i++) {
    const gap = r.pick([0, 1, 30, 60, 6 * 60, 24 * 60, 24 * 60, 24 * 60, 3 * 24 * 60, 20 * 24 * 60]);
    t += gap * MINUTE;
    const createdAt = isoAt(t, r);
    const own = policy === 'mixed' ? r.pick(['gfs', 'days', 'deltas']) : policy;
    const labels: Record<string, string> = { [Labels.pvc]: pvc, [Labels.retain]: own };
    if (own === 'gfs')
      Object.assign(
        labels,
        gfsLabelsFor(
          createdAt,
          timeZone,
          records.filter((x) => x.pvc === pvc),
        ),
      );
    if (own === 'days') labels[Labels.deleteAfter] = deleteAfterFor(createdAt, timeZone, r.int(0, 10));
    if (own === 'deltas') labels[DELTAS_LABEL] = deltas;
    records.push({
      namespace,
      name: `${pvc}-${i}-${r.int(0, 999)}`,
      pvc,
      createdAt,
      ready: true,
      failed: false,
      labels,
    });
  }
  return { records, last: t };
}

function disturb(records: SnapshotRecord[], r: Rng, now: Date, timeZone: string): SnapshotRecord[] {
  const today = localDate(now, timeZone);
  return records.map((record) => {
    const labels = { ...record.labels };
    if (r.chance(0.08)) delete labels[Labels.retain];
    if (r.chance(0.08)) labels[Labels.pin] = 'true';
    if (r.chance(0.1)) labels[Labels.deleteAfter] = addDays(today, r.int(-5, 3));
    if (r.chance(0.02)) labels[Labels.deleteAfter] = 'soon';
    if (r.chance(0.1)) delete labels[r.pick([Labels.daily, Labels.weekly, Labels.monthly])];
    if (r.chance(0.02)) labels[DELTAS_LABEL] = 'P1M_P1Y';
    if (r.chance(0.02)) labels[Labels.retain] = 'forever';
    const failed = r.chance(0.06);
    if (failed && r.chance(0.5)) labels[Labels.failed] = 'true';
    // How the run ended: none (an older version's snapshot), or one of the labels a run writes, or junk; an
    // in-progress deadline before or after now (interrupted, or still running).
    let completeBy: string | undefined;
    if (r.chance(0.3)) {
      labels[Labels.outcome] = r.pick(['succeeded', 'succeeded', 'in-progress', 'failed', 'half-done']);
      const hours = r.pick([-48, -1, 1, 30]);
      completeBy = r.chance(0.95) ? new Date(now.getTime() + hours * 3_600_000).toISOString() : 'later';
    }
    return { ...record, labels, ready: !r.chance(0.08), failed, ...(completeBy ? { completeBy } : {}) };
  });
}
