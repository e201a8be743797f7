// 400 days of daily backups run through labelling, retain, mark and sweep with a fake clock.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { Labels } from '../../lib/labels.js';
import { snapshotLabels } from '../../lib/backup/snapshot-labels.js';
import {
  localDate,
  planMark,
  planRetain,
  planSweep,
  type SnapshotRecord,
} from '../../lib/retention/index.js';
import { applyMark, applyRetain, applySweep } from './apply.js';

const TZ = 'Europe/Berlin';
// PVC data backs up at 02:00 (which does not exist on 2025-03-30: luxon takes 03:00), wal at 23:30.
const SCHEDULE = [
  { pvc: 'data', hour: 2, minute: 0 },
  { pvc: 'wal', hour: 23, minute: 30 },
];

type Policy = { kind: 'gfs' } | { kind: 'days'; days: number };

function newSnapshot(
  records: SnapshotRecord[],
  pvc: string,
  createdAt: string,
  policy: Policy,
): SnapshotRecord {
  // Backup's own labelling: every period, yearly included, judged against the PVC's snapshots.
  const labels = snapshotLabels({
    backupId: `b-${createdAt}`,
    pvc,
    type: 'scheduled',
    retain: policy.kind === 'gfs' ? { policy: 'gfs' } : { policy: 'days', days: policy.days },
    createdAt,
    timeZone: TZ,
    existingOfSamePvc: records.filter((r) => r.pvc === pvc),
  });
  return {
    namespace: 'shop',
    name: `${pvc}-${createdAt}`,
    pvc,
    createdAt,
    ready: true,
    failed: false,
    labels,
  };
}

/** Each backup is followed by one retain + mark + sweep run a minute later, as the CronJobs would. */
function simulate(days: number, policy: Policy) {
  let records: SnapshotRecord[] = [];
  let deleted = 0;
  let refusals = 0;
  const first = DateTime.fromISO('2025-01-01', { zone: TZ });
  for (let day = 0; day < days; day++) {
    for (const { pvc, hour, minute } of SCHEDULE) {
      const at = first.plus({ days: day }).set({ hour, minute });
      const createdAt = at.toUTC().toISO({ suppressMilliseconds: true }) as string;
      records.push(newSnapshot(records, pvc, createdAt, policy));
      const now = at.plus({ minutes: 1 }).toJSDate();
      records = applyRetain(records, planRetain(records));
      records = applyMark(records, planMark(records, { now, timeZone: TZ, graceDays: 1 }));
      const sweep = planSweep(records, {
        now,
        timeZone: TZ,
        maxDeleteShare: 0.5,
        maxDeleteCount: 3,
        force: false,
      });
      refusals += sweep.refusals.length;
      deleted += sweep.deletions.length;
      records = applySweep(records, sweep);
    }
  }
  return { records, deleted, refusals };
}

/** The local backup dates of one PVC's survivors, split into kept and marked (waiting out the grace). */
function survivors(records: readonly SnapshotRecord[], pvc: string) {
  const own = records.filter((r) => r.pvc === pvc);
  const dates = (list: SnapshotRecord[]) => list.map((r) => localDate(r.createdAt, TZ)).sort();
  return {
    kept: dates(own.filter((r) => !(Labels.deleteAfter in r.labels))),
    marked: dates(own.filter((r) => Labels.deleteAfter in r.labels)),
  };
}

describe('a simulated year of daily backups (2025-01-01 .. 2026-02-04, Europe/Berlin)', () => {
  it('gfs keeps 7 daily, 4 weekly and 12 monthly per PVC, and the newest', () => {
    const { records, deleted, refusals } = simulate(400, { kind: 'gfs' });
    // Worked out by calendar, not by the code under test:
    const monthly = [
      '2025-03-01',
      '2025-04-01',
      '2025-05-01',
      '2025-06-01',
      '2025-07-01',
      '2025-08-01',
      '2025-09-01',
      '2025-10-01',
      '2025-11-01',
      '2025-12-01',
      '2026-01-01',
      '2026-02-01',
    ];
    // Mondays starting ISO weeks 2026-w03 .. 2026-w06.
    const weekly = ['2026-01-12', '2026-01-19', '2026-01-26', '2026-02-02'];
    const daily = [
      '2026-01-29',
      '2026-01-30',
      '2026-01-31',
      '2026-02-01',
      '2026-02-02',
      '2026-02-03',
      '2026-02-04',
    ];
    const kept = [...new Set([...monthly, ...weekly, ...daily])].sort();
    expect(kept).toHaveLength(21); // Feb 1 is daily and monthly, Feb 2 daily and weekly.
    for (const pvc of ['data', 'wal']) {
      expect(survivors(records, pvc), pvc).toEqual({
        kept,
        // Lost their daily label today and yesterday; the grace day has not passed yet.
        marked: ['2026-01-27', '2026-01-28'],
      });
    }
    expect(deleted).toBe(2 * (400 - 23));
    expect(refusals).toBe(0);
    const newest = records
      .filter((r) => r.pvc === 'wal')
      .map((r) => r.createdAt)
      .sort()
      .at(-1);
    expect(newest).toBe('2026-02-04T22:30:00Z');
  });

  it('days keeps each backup until its delete-after day is over', () => {
    const { records, deleted } = simulate(400, { kind: 'days', days: 7 });
    const lastEight = [
      '2026-01-28',
      '2026-01-29',
      '2026-01-30',
      '2026-01-31',
      '2026-02-01',
      '2026-02-02',
      '2026-02-03',
      '2026-02-04',
    ];
    for (const pvc of ['data', 'wal']) expect(survivors(records, pvc).marked, pvc).toEqual(lastEight);
    expect(deleted).toBe(2 * (400 - 8));
  });
});
