// Retention of etcd backups in S3: the same GFS and days policies as the VolumeSnapshots, derived from the backup
// times each run, behind the same safety valve.
import { describe, expect, it } from 'vitest';
import { backupIdFor } from '../../lib/naming.js';
import { createdAtOfId, planEtcdRetention, type EtcdRetentionOptions } from '../../lib/etcd/retention.js';
import { DEFAULT_GFS_KEEP, gfsValues } from '../../lib/retention/index.js';

const options = (now: Date, extra: Partial<EtcdRetentionOptions> = {}): EtcdRetentionOptions => ({
  policy: 'gfs',
  keep: DEFAULT_GFS_KEEP,
  retainDays: 0,
  now,
  timeZone: 'Europe/Berlin',
  maxDeleteShare: 0.5,
  maxDeleteCount: 20,
  ...extra,
});

const day = 86_400_000;

describe('etcd backup retention', () => {
  it('a year of nightly backups, retention after each, keeps 7 days, 4 weeks and 12 months', () => {
    let ids: string[] = [];
    const start = Date.parse('2026-01-01T01:30:00Z');
    let now = new Date(start);
    for (let i = 0; i < 366; i++) {
      now = new Date(start + i * day);
      ids.push(backupIdFor(now));
      const plan = planEtcdRetention(ids, options(now));
      expect(plan.refused).toBe(false);
      ids = ids.filter((id) => !plan.deletions.includes(id));
    }
    const times = ids.map((id) => createdAtOfId(id)!).sort();
    const values = times.map((t) => gfsValues(t, 'Europe/Berlin'));
    const distinct = (k: 'daily' | 'weekly' | 'monthly') => new Set(values.map((v) => v[k]));
    // The newest 7 nights, the first night of the newest 4 weeks and 12 months; nothing else.
    expect(times.slice(-7).map((t) => t.slice(0, 10))).toEqual(
      Array.from({ length: 7 }, (_, i) => new Date(now.getTime() - (6 - i) * day).toISOString().slice(0, 10)),
    );
    expect(distinct('weekly').size).toBeGreaterThanOrEqual(4);
    expect(distinct('monthly').size).toBe(12);
    expect(ids.length).toBeLessThanOrEqual(7 + 4 + 12);
    expect(ids.length).toBeGreaterThan(12);
  });

  it('days: a backup goes the day after its last day, but the newest never', () => {
    const ids = ['20261101-010000-aaaaaa', '20261105-010000-bbbbbb', '20261109-010000-cccccc'];
    const plan = planEtcdRetention(
      ids,
      options(new Date('2026-11-09T12:00:00Z'), { policy: 'days', retainDays: 5 }),
    );
    expect(plan.deletions).toEqual(['20261101-010000-aaaaaa']);
    const late = planEtcdRetention(
      ids,
      options(new Date('2027-06-01T00:00:00Z'), { policy: 'days', retainDays: 5 }),
    );
    expect(late.refused).toBe(true); // two of three at once trips the 50 % valve
    const forced = planEtcdRetention(
      ids,
      options(new Date('2027-06-01T00:00:00Z'), { policy: 'days', retainDays: 5, maxDeleteShare: 1 }),
    );
    expect(forced.deletions).toEqual(['20261101-010000-aaaaaa', '20261105-010000-bbbbbb']);
  });

  it('refuses a run that would delete many at once, and never touches folders it did not name', () => {
    const now = new Date('2026-11-21T23:00:00Z');
    const sameDay = Array.from({ length: 10 }, (_, i) => `20261121-0${i}0000-abcdef`);
    const plan = planEtcdRetention([...sameDay, 'hand-made-copy'], options(now));
    expect(plan.refused).toBe(true);
    expect(plan.deletions).toEqual([]);
    const valveOpen = planEtcdRetention([...sameDay, 'hand-made-copy'], options(now, { maxDeleteShare: 1 }));
    // All but the first of the day (it holds the period labels) and the newest (never deleted).
    expect(valveOpen.deletions).toEqual(sameDay.slice(1, -1));
  });
});
