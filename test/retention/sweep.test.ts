import { describe, expect, it } from 'vitest';
import { Labels } from '../../lib/labels.js';
import { planSweep, type SnapshotRecord, type SweepOptions } from '../../lib/retention/index.js';
import { names, snapshot } from './fixtures.js';

// 22:30 UTC on Mar 29 is already Mar 30 in Berlin.
const options: SweepOptions = {
  now: new Date('2026-03-29T22:30:00Z'),
  timeZone: 'Europe/Berlin',
  maxDeleteShare: 0.5,
  maxDeleteCount: 10,
  force: false,
};
const newest = snapshot('newest', '2026-03-29T02:00:00Z', { [Labels.daily]: '2026-03-29' });
const expiring = (name: string, deleteAfter: string, more: Partial<SnapshotRecord> = {}) =>
  snapshot(name, '2026-03-01T02:00:00Z', { [Labels.deleteAfter]: deleteAfter }, more);
const keepers = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    snapshot(`keep${i}`, `2026-03-10T${String(i).padStart(2, '0')}:00:00Z`, { [Labels.weekly]: `w${i}` }),
  );

describe('planSweep', () => {
  it('deletes once the delete-after day is over in the time zone, not on that day', () => {
    const records = [
      newest,
      ...keepers(4),
      expiring('yesterday', '2026-03-29'),
      expiring('today', '2026-03-30'),
    ];
    const plan = planSweep(records, options);
    expect(plan.deletions).toEqual([
      {
        namespace: 'shop',
        name: 'yesterday',
        pvc: 'data',
        createdAt: '2026-03-01T02:00:00Z',
        deleteAfter: '2026-03-29',
      },
    ]);
    // In UTC it is still Mar 29, so nothing is due yet.
    expect(planSweep(records, { ...options, timeZone: 'UTC' }).deletions).toEqual([]);
  });

  it("deletes a failed or killed run's snapshot once its day is over, newest or not; the count limit includes it", () => {
    const failedRun = (name: string, deleteAfter: string, outcome = 'failed') =>
      snapshot(
        name,
        '2026-03-29T20:00:00Z',
        {
          [Labels.outcome]: outcome,
          [Labels.deleteAfter]: deleteAfter,
        },
        { completeBy: '2026-03-29T21:00:00Z' },
      );
    const records = [
      newest,
      failedRun('failed-due', '2026-03-29'),
      failedRun('killed-due', '2026-03-29', 'in-progress'),
      failedRun('failed-today', '2026-03-30'),
    ];
    const plan = planSweep(records, options);
    expect(plan.deletions.map((d) => [d.name, d.runOutcome])).toEqual([
      ['failed-due', 'failed'],
      ['killed-due', 'interrupted'],
    ]);
    // The only good snapshot stays; only the count limit applies to the others.
    const crowd = Array.from({ length: 11 }, (_, i) => failedRun(`f${i}`, '2026-03-20'));
    const refused = planSweep([newest, ...crowd], options);
    expect(refused.refused).toBe(true);
    expect(refused.refusals[0].reason).toBe(
      'would delete 0 of 1 good snapshots and 11 of failed or interrupted runs, more than 10',
    );
    expect(planSweep([newest, ...crowd.slice(0, 10)], options).deletions).toHaveLength(10);
  });

  it('never deletes the newest good snapshot, even when its delete-after has passed', () => {
    const onlyOne = snapshot('only', '2026-03-01T02:00:00Z', {
      [Labels.retain]: 'days',
      [Labels.deleteAfter]: '2026-03-08',
    });
    const failedNewer = snapshot('failed-newer', '2026-03-29T02:00:00Z', {}, { failed: true });
    expect(planSweep([onlyOne, failedNewer], options).deletions).toEqual([]);
  });

  it('leaves pinned, foreign, failed and unready snapshots whatever their delete-after says', () => {
    const records = [
      newest,
      ...keepers(6),
      expiring('pinned', '2026-03-01', {
        labels: { [Labels.retain]: 'gfs', [Labels.pin]: 'true', [Labels.deleteAfter]: '2026-03-01' },
      }),
      expiring('foreign', '2026-03-01', { labels: { [Labels.deleteAfter]: '2026-03-01' } }),
      expiring('failed', '2026-03-01', { failed: true }),
      expiring('unready', '2026-03-01', { ready: false }),
    ];
    expect(planSweep(records, options).deletions).toEqual([]);
  });

  it('reports a delete-after that is not a date and keeps the snapshot', () => {
    const plan = planSweep(
      [newest, ...keepers(3), expiring('odd', '2026-02-30'), expiring('word', 'soon')],
      options,
    );
    expect(plan.deletions).toEqual([]);
    expect(names(plan.problems)).toEqual(['odd', 'word']);
  });

  describe('safety valve', () => {
    const otherPvc = [
      snapshot('wal-new', '2026-03-29T02:00:00Z', { [Labels.daily]: '2026-03-29' }, { pvc: 'wal' }),
      snapshot('wal-old', '2026-03-01T02:00:00Z', { [Labels.deleteAfter]: '2026-03-02' }, { pvc: 'wal' }),
      ...['a', 'b', 'c'].map((n) =>
        snapshot(`wal-${n}`, '2026-03-10T02:00:00Z', { [Labels.weekly]: n }, { pvc: 'wal' }),
      ),
    ];
    // data: 3 of 4 good snapshots due (75% > 50%).
    const tooMuch = [
      newest,
      expiring('x1', '2026-03-02'),
      expiring('x2', '2026-03-02'),
      expiring('x3', '2026-03-02'),
    ];

    it('refuses the whole run, other PVCs included, when one PVC would lose more than the share', () => {
      const plan = planSweep([...tooMuch, ...otherPvc], options);
      expect(plan.refused).toBe(true);
      expect(plan.deletions).toEqual([]);
      expect(plan.refusals).toEqual([
        {
          namespace: 'shop',
          pvc: 'data',
          wouldDelete: 3,
          of: 4,
          reason: 'would delete 3 of 4 snapshots, more than 50%',
        },
      ]);
    });

    it('refuses more than the count', () => {
      const plan = planSweep([...tooMuch, ...keepers(20)], { ...options, maxDeleteCount: 2 });
      expect(plan.refused).toBe(true);
      expect(plan.refusals[0].reason).toBe('would delete 3 of 24 snapshots, more than 2');
    });

    it('deletes anyway when forced, and still reports what it overrode', () => {
      const plan = planSweep([...tooMuch, ...otherPvc], { ...options, force: true });
      expect(plan.refused).toBe(false);
      expect(names(plan.deletions)).toEqual(['x1', 'x2', 'x3', 'wal-old']);
      expect(plan.refusals).toHaveLength(1);
    });

    it('lets a normal day through', () => {
      const plan = planSweep([newest, ...keepers(5), expiring('x1', '2026-03-02'), ...otherPvc], options);
      expect(plan.refused).toBe(false);
      expect(names(plan.deletions)).toEqual(['x1', 'wal-old']);
    });
  });
});
