import { describe, expect, it } from 'vitest';
import { Labels } from '../../lib/labels.js';
import {
  DEFAULT_RETAIN_POLICY,
  planMark,
  planRetain,
  type SnapshotRecord,
} from '../../lib/retention/index.js';
import { applyRetain } from './apply.js';
import { snapshot } from './fixtures.js';

/** One gfs backup a day at 02:00 UTC from Jan 1, holding the daily label. */
function dailies(count: number, pvc = 'data'): SnapshotRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const day = `2026-01-${String(i + 1).padStart(2, '0')}`;
    return snapshot(`${pvc}-${day}`, `${day}T02:00:00Z`, { [Labels.daily]: day }, { pvc });
  });
}

describe('planRetain (gfs)', () => {
  it('keeps the newest 7 daily labels and takes the key off the older holders', () => {
    const plan = planRetain(dailies(10));
    expect(plan.removals.map((r) => [r.name, r.remove])).toEqual([
      ['data-2026-01-01', [Labels.daily]],
      ['data-2026-01-02', [Labels.daily]],
      ['data-2026-01-03', [Labels.daily]],
    ]);
    expect(plan.problems).toEqual([]);
  });

  it('counts per PVC: a second PVC keeps its own 7', () => {
    const plan = planRetain([...dailies(8, 'data'), ...dailies(8, 'wal')]);
    expect(plan.removals.map((r) => r.name)).toEqual(['data-2026-01-01', 'wal-2026-01-01']);
  });

  it('uses the configured counts', () => {
    const records = dailies(5).map((r, i) => ({
      ...r,
      labels: { ...r.labels, [Labels.weekly]: `2026-w0${i + 1}` },
    }));
    const plan = planRetain(records, { gfs: { daily: 2, weekly: 4, monthly: 12, yearly: 0 } });
    const removed = Object.fromEntries(plan.removals.map((r) => [r.name, r.remove]));
    expect(removed).toEqual({
      'data-2026-01-01': [Labels.daily, Labels.weekly],
      'data-2026-01-02': [Labels.daily],
      'data-2026-01-03': [Labels.daily],
    });
  });

  it('keeps nothing by a key kept 0 times, and takes its label off only with the last kept one', () => {
    // Backup labels every period, yearly too; the default keeps 0 yearly. Taking the label off at once would
    // be a patch per PVC per day: the next backup of the year would get it again.
    const records = dailies(10).map((r, i) => ({
      ...r,
      labels: { ...r.labels, ...(i === 0 ? { [Labels.yearly]: '2026', [Labels.monthly]: '2026-01' } : {}) },
    }));
    records.push(snapshot('only-yearly', '2025-12-01T02:00:00Z', { [Labels.yearly]: '2025' }));
    const keep = { daily: 7, weekly: 4, monthly: 12, yearly: 0 };
    const removed = Object.fromEntries(
      planRetain(records, { gfs: keep }).removals.map((r) => [r.name, r.remove]),
    );
    expect(removed).toEqual({
      'only-yearly': [Labels.yearly],
      'data-2026-01-01': [Labels.daily], // still held by its monthly: the yearly label stays, no patch for it
      'data-2026-01-02': [Labels.daily],
      'data-2026-01-03': [Labels.daily],
    });
    // Once its last kept label goes, the yearly one goes in the same patch, and mark takes it from there.
    const noMonthly = planRetain(records, { gfs: { ...keep, monthly: 0 } }).removals;
    expect(noMonthly.find((r) => r.name === 'data-2026-01-01')?.remove).toEqual([
      Labels.daily,
      Labels.monthly,
      Labels.yearly,
    ]);
    const after = applyRetain(records, planRetain(records, { gfs: keep }));
    const marks = planMark(after, { now: new Date('2026-01-10T12:00:00Z'), timeZone: 'UTC', graceDays: 1 });
    expect(marks.marks.map((m) => m.name)).toEqual(['only-yearly', 'data-2026-01-02', 'data-2026-01-03']);
  });

  it('leaves one holder per value when two racing backups took the same day: the first of it', () => {
    const early = snapshot('early', '2026-01-05T02:00:00Z', { [Labels.daily]: '2026-01-05' });
    const late = snapshot('late', '2026-01-05T02:00:30Z', { [Labels.daily]: '2026-01-05' });
    const plan = planRetain([late, early]);
    expect(plan.removals.map((r) => [r.name, r.remove])).toEqual([['late', [Labels.daily]]]);
  });

  it('neither counts nor changes snapshots not ready, failed or not ours', () => {
    const [day1, ...rest] = dailies(8);
    const newer = [
      snapshot('creating', '2026-01-20T02:00:00Z', { [Labels.daily]: '2026-01-20' }, { ready: false }),
      snapshot('broken', '2026-01-21T02:00:00Z', { [Labels.daily]: '2026-01-21' }, { failed: true }),
      { ...snapshot('foreign', '2026-01-22T02:00:00Z', { [Labels.daily]: '2026-01-22' }), labels: {} },
    ];
    const plan = planRetain([day1, ...rest, ...newer]);
    expect(plan.removals.map((r) => r.name)).toEqual(['data-2026-01-01']);
  });

  it('counts only holders that will survive: one expired by hand does not take a slot', () => {
    const records = dailies(8);
    records[7] = { ...records[7], labels: { ...records[7].labels, [Labels.deleteAfter]: '2026-01-08' } };
    // 01-08 is expiring, so 01-01..01-07 are the 7 newest that stay: nothing to remove.
    expect(planRetain(records).removals).toEqual([]);
  });

  it('gives days and deltas snapshots nothing to lose, and reports an unknown policy', () => {
    const records = [
      snapshot('d', '2026-01-01T00:00:00Z', { [Labels.retain]: 'days', [Labels.deleteAfter]: '2026-01-08' }),
      snapshot('x', '2026-01-02T00:00:00Z', { [Labels.retain]: 'deltas', 'nsbackup.io/deltas': 'P1D_P7D' }),
      snapshot('?', '2026-01-03T00:00:00Z', { [Labels.retain]: 'forever', [Labels.daily]: '2026-01-03' }),
    ];
    const plan = planRetain(records, { gfs: { daily: 0, weekly: 0, monthly: 0, yearly: 0 } });
    expect(plan.removals).toEqual([]);
    expect(plan.problems.map((p) => p.name)).toEqual(['?']);
  });

  it('refuses a keep count that is not a whole number >= 0', () => {
    expect(() => planRetain([], { gfs: { ...DEFAULT_RETAIN_POLICY.gfs, daily: -1 } })).toThrow(/daily/);
    expect(() => planRetain([], { gfs: { ...DEFAULT_RETAIN_POLICY.gfs, weekly: 1.5 } })).toThrow(/weekly/);
  });
});
