// The rules no plan may break, checked over generated histories: random creation times and gaps,
// several PVCs in two namespaces, all three policies, disturbed labels, shuffled input order.
import { describe, expect, it } from 'vitest';
import { Labels } from '../../lib/labels.js';
import {
  localDate,
  planMark,
  planRetain,
  planSweep,
  type SnapshotRecord,
  type SweepOptions,
} from '../../lib/retention/index.js';
import { applyMark, applyRetain, applySweep } from './apply.js';
import { generateHistory, rng, shuffled, type History } from './gen.js';

const SEEDS = Array.from({ length: 250 }, (_, i) => i + 1);
// Generated once: the histories are read, never changed, by every test below.
const HISTORIES = new Map(SEEDS.map((seed) => [seed, generateHistory(seed)]));
const history = (seed: number) => HISTORIES.get(seed) as History;
const id = (r: { namespace: string; name: string }) => `${r.namespace}/${r.name}`;

function plans(h: History, records: readonly SnapshotRecord[] = h.records) {
  const sweepOptions: SweepOptions = {
    now: h.now,
    timeZone: h.timeZone,
    maxDeleteShare: 0.6,
    maxDeleteCount: 8,
    force: false,
  };
  return {
    retain: planRetain(records),
    mark: planMark(records, { now: h.now, timeZone: h.timeZone, graceDays: 1 }),
    sweep: planSweep(records, sweepOptions),
    forced: planSweep(records, { ...sweepOptions, force: true }),
  };
}

/** Independently of the core: the run that made it succeeded, or predates the outcome label. */
const runCompleted = (r: SnapshotRecord) =>
  r.labels[Labels.failed] !== 'true' && [undefined, 'succeeded'].includes(r.labels[Labels.outcome]);

/** Independently of the core: ours, and its run failed or was killed (still in progress past its deadline). */
const leftByBadRun = (r: SnapshotRecord, now: Date) =>
  Labels.retain in r.labels &&
  (r.labels[Labels.failed] === 'true' ||
    r.labels[Labels.outcome] === 'failed' ||
    (r.labels[Labels.outcome] === 'in-progress' && Date.parse(r.completeBy ?? '') < now.getTime()));

/** Independently of the core: the newest ready, not failed, completed snapshot of ours per PVC. */
function newestGoodPerPvc(records: readonly SnapshotRecord[]): Set<string> {
  const newest = new Map<string, SnapshotRecord>();
  for (const r of records) {
    if (
      !r.ready ||
      r.failed ||
      !runCompleted(r) ||
      !(Labels.retain in r.labels) ||
      Number.isNaN(Date.parse(r.createdAt))
    )
      continue;
    const key = `${r.namespace}/${r.pvc}`;
    const current = newest.get(key);
    const t = Date.parse(r.createdAt);
    const ct = current ? Date.parse(current.createdAt) : -Infinity;
    if (!current || t > ct || (t === ct && r.name < current.name)) newest.set(key, r);
  }
  return new Set([...newest.values()].map(id));
}

function touched(p: ReturnType<typeof plans>): { changed: Set<string>; goneOrMarked: Set<string> } {
  const goneOrMarked = new Set([...p.mark.marks, ...p.forced.deletions].map(id));
  return { goneOrMarked, changed: new Set([...p.retain.removals.map(id), ...goneOrMarked]) };
}

describe('retention invariants over generated histories', () => {
  it('generates histories that exercise every decision', () => {
    let removals = 0;
    let marks = 0;
    let deletions = 0;
    let refusals = 0;
    for (const seed of SEEDS) {
      const p = plans(history(seed));
      removals += p.retain.removals.length;
      marks += p.mark.marks.length;
      deletions += p.sweep.deletions.length;
      refusals += p.sweep.refusals.length;
    }
    expect(removals).toBeGreaterThan(100);
    expect(marks).toBeGreaterThan(100);
    expect(deletions).toBeGreaterThan(50);
    expect(refusals).toBeGreaterThan(10);
  });

  it('never marks or deletes the newest good snapshot of a PVC', () => {
    for (const seed of SEEDS) {
      const h = history(seed);
      const { goneOrMarked } = touched(plans(h));
      for (const newest of newestGoodPerPvc(h.records))
        expect(goneOrMarked.has(newest), `seed ${seed}`).toBe(false);
    }
  });

  it('never marks or deletes a pinned snapshot', () => {
    for (const seed of SEEDS) {
      const h = history(seed);
      const { goneOrMarked } = touched(plans(h));
      const pinned = h.records.filter((r) => r.labels[Labels.pin] === 'true').map(id);
      for (const name of pinned) expect(goneOrMarked.has(name), `seed ${seed}`).toBe(false);
    }
  });

  it('never touches snapshots not ours, not ready, failed or still in progress, unless their run failed or was killed', () => {
    for (const seed of SEEDS) {
      const h = history(seed);
      const { changed } = touched(plans(h));
      const untouchable = h.records
        .filter(
          (r) =>
            !(Labels.retain in r.labels) ||
            (!leftByBadRun(r, h.now) && (!r.ready || r.failed || !runCompleted(r))),
        )
        .map(id);
      for (const name of untouchable) expect(changed.has(name), `seed ${seed}`).toBe(false);
    }
  });

  it('marks every unpinned snapshot of a failed or killed run, and deletes it only once its day is over', () => {
    let seen = 0;
    for (const seed of SEEDS) {
      const h = history(seed);
      const p = plans(h);
      const marked = new Set(p.mark.marks.map(id));
      const deleted = new Set(p.forced.deletions.map(id));
      const today = localDate(h.now, h.timeZone);
      for (const r of h.records) {
        if (!leftByBadRun(r, h.now) || r.labels[Labels.pin] === 'true') continue;
        if (Number.isNaN(Date.parse(r.createdAt))) continue;
        seen++;
        const deleteAfter = r.labels[Labels.deleteAfter];
        expect(marked.has(id(r)), `seed ${seed} ${id(r)}`).toBe(deleteAfter === undefined);
        const due =
          deleteAfter !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(deleteAfter) && deleteAfter < today;
        expect(deleted.has(id(r)), `seed ${seed} ${id(r)}`).toBe(due);
        expect(p.retain.removals.map(id), `seed ${seed}`).not.toContain(id(r));
      }
    }
    expect(seen).toBeGreaterThan(50);
  });

  it('leaves no snapshot kept by a period that keeps nothing: after retain and mark, each is held or marked', () => {
    // The default keeps 0 yearly, and backup labels yearly anyway: that label alone must never keep one.
    const active = [Labels.daily, Labels.weekly, Labels.monthly];
    for (const seed of SEEDS) {
      const h = history(seed);
      let records = applyRetain(h.records, plans(h).retain);
      records = applyMark(records, plans(h, records).mark);
      const newest = newestGoodPerPvc(records);
      const loose = records.filter(
        (r) =>
          r.ready &&
          !r.failed &&
          runCompleted(r) &&
          r.labels[Labels.retain] === 'gfs' &&
          r.labels[Labels.pin] !== 'true' &&
          !newest.has(id(r)) &&
          !Number.isNaN(Date.parse(r.createdAt)) &&
          !active.some((label) => label in r.labels) &&
          !(Labels.deleteAfter in r.labels),
      );
      expect(loose.map(id), `seed ${seed}`).toEqual([]);
    }
  });

  it('decides the same whatever the input order', () => {
    for (const seed of SEEDS) {
      const h = history(seed);
      const expected = plans(h);
      for (let round = 0; round < 3; round++) {
        expect(plans(h, shuffled(h.records, rng(seed * 7 + round))), `seed ${seed}`).toEqual(expected);
      }
    }
  });

  it('plans nothing new once its plans are applied (forced sweep included)', () => {
    for (const seed of SEEDS) {
      const h = history(seed);
      let records = applyRetain(h.records, plans(h).retain);
      records = applyMark(records, plans(h, records).mark);
      records = applySweep(records, plans(h, records).forced);
      const again = plans(h, records);
      expect(again.retain.removals, `seed ${seed}`).toEqual([]);
      expect(again.mark.marks, `seed ${seed}`).toEqual([]);
      expect(again.forced.deletions, `seed ${seed}`).toEqual([]);
    }
  });

  it('plans nothing new on a second run of each phase alone', () => {
    for (const seed of SEEDS) {
      const h = history(seed);
      const first = plans(h);
      expect(plans(h, applyRetain(h.records, first.retain)).retain.removals, `seed ${seed}`).toEqual([]);
      expect(plans(h, applyMark(h.records, first.mark)).mark.marks, `seed ${seed}`).toEqual([]);
      const afterSweep = plans(h, applySweep(h.records, first.sweep)).sweep;
      if (first.sweep.refused) expect(afterSweep, `seed ${seed}`).toEqual(first.sweep);
      else expect(afterSweep.deletions, `seed ${seed}`).toEqual([]);
    }
  });
});
