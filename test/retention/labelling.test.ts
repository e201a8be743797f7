import { describe, expect, it } from 'vitest';
import { Labels } from '../../lib/labels.js';
import {
  activeGfsKeys,
  DEFAULT_GFS_KEEP,
  deleteAfterFor,
  gfsLabelsFor,
  gfsValues,
  planMark,
  planRetain,
  planSweep,
  type SnapshotRecord,
} from '../../lib/retention/index.js';
import { snapshotLabels } from '../../lib/backup/snapshot-labels.js';
import { applyMark, applyRetain, applySweep } from './apply.js';
import { snapshot } from './fixtures.js';

const all = (daily: string, weekly: string, monthly: string, yearly: string) => ({
  [Labels.daily]: daily,
  [Labels.weekly]: weekly,
  [Labels.monthly]: monthly,
  [Labels.yearly]: yearly,
});

describe('gfs label values in the time zone', () => {
  it('puts 23:30 on Dec 31 in Berlin into that year, ISO week 53 of 2026', () => {
    expect(gfsLabelsFor('2026-12-31T22:30:00Z', 'Europe/Berlin', [])).toEqual(
      all('2026-12-31', '2026-w53', '2026-12', '2026'),
    );
  });

  it('gives Jan 1 2027 the ISO week-year 2026 (its week began on Dec 28)', () => {
    expect(gfsValues('2027-01-01T00:30:00+01:00', 'Europe/Berlin')).toEqual({
      daily: '2027-01-01',
      weekly: '2026-w53',
      monthly: '2027-01',
      yearly: '2027',
    });
    expect(gfsValues('2027-01-04T08:00:00+01:00', 'Europe/Berlin').weekly).toBe('2027-w01');
  });

  it('gives Dec 31 2025 in New York the ISO week 1 of 2026 but the year 2025', () => {
    // 04:30 UTC on Jan 1 is 23:30 on Dec 31 in New York.
    expect(gfsLabelsFor('2026-01-01T04:30:00Z', 'America/New_York', [])).toEqual(
      all('2025-12-31', '2026-w01', '2025-12', '2025'),
    );
  });

  it('does not shift the day across DST changes', () => {
    // Berlin springs forward on 2026-03-29: 22:30 UTC that day is 00:30 on the 30th.
    expect(gfsValues('2026-03-29T22:30:00Z', 'Europe/Berlin').daily).toBe('2026-03-30');
    expect(gfsValues('2026-03-28T22:30:00Z', 'Europe/Berlin').daily).toBe('2026-03-28');
    // New York falls back on 2026-11-01: 04:30 UTC on the 2nd is still 23:30 on the 1st.
    expect(gfsValues('2026-11-02T04:30:00Z', 'America/New_York').daily).toBe('2026-11-01');
    // Lord Howe moves by 30 minutes (+11 to +10:30) on 2026-04-05: 13:15 UTC is 23:45 local.
    expect(gfsValues('2026-04-05T13:15:00Z', 'Australia/Lord_Howe').daily).toBe('2026-04-05');
    expect(gfsValues('2026-04-04T13:15:00Z', 'Australia/Lord_Howe').daily).toBe('2026-04-05');
  });

  it('refuses an unknown time zone and a timestamp without offset', () => {
    expect(() => gfsValues('2026-01-01T00:00:00Z', 'Europe/Berlinn')).toThrow(/unknown time zone/);
    expect(() => gfsValues('2026-01-01T00:00:00', 'UTC')).toThrow(/offset/);
  });
});

describe('gfsLabelsFor: first of its period for this PVC', () => {
  const first = snapshot('a', '2026-12-31T10:00:00Z', all('2026-12-31', '2026-w53', '2026-12', '2026'));

  it('gives the second backup of a day no label for a period already held', () => {
    expect(gfsLabelsFor('2026-12-31T20:00:00Z', 'UTC', [first])).toEqual({});
    expect(gfsLabelsFor('2027-01-01T01:00:00Z', 'UTC', [first])).toEqual({
      [Labels.daily]: '2027-01-01',
      [Labels.monthly]: '2027-01',
      [Labels.yearly]: '2027',
    });
  });

  it('counts as holder only a snapshot retain counts: ready, not failed, ours, gfs, not marked', () => {
    const expected = all('2026-12-31', '2026-w53', '2026-12', '2026');
    const at = '2026-12-31T20:00:00Z';
    // A snapshot that never became ready (its backup was killed) would hold the day forever: retain never
    // counts it, so no ready backup of the day would carry the label.
    expect(gfsLabelsFor(at, 'UTC', [{ ...first, ready: false }])).toEqual(expected);
    expect(gfsLabelsFor(at, 'UTC', [{ ...first, failed: true }])).toEqual(expected);
    const foreign = { ...first, labels: { ...first.labels } };
    delete foreign.labels[Labels.retain];
    expect(gfsLabelsFor(at, 'UTC', [foreign])).toEqual(expected);
    const expiring = { ...first, labels: { ...first.labels, [Labels.deleteAfter]: '2027-01-01' } };
    expect(gfsLabelsFor(at, 'UTC', [expiring])).toEqual(expected);
    const days = { ...first, labels: { ...first.labels, [Labels.retain]: 'days' } };
    expect(gfsLabelsFor(at, 'UTC', [days])).toEqual(expected);
  });

  it('labels only the keys asked for', () => {
    expect(activeGfsKeys(DEFAULT_GFS_KEEP)).toEqual(['daily', 'weekly', 'monthly']);
    expect(gfsLabelsFor('2026-06-01T10:00:00Z', 'UTC', [], activeGfsKeys(DEFAULT_GFS_KEEP))).toEqual({
      [Labels.daily]: '2026-06-01',
      [Labels.weekly]: '2026-w23',
      [Labels.monthly]: '2026-06',
    });
  });
});

describe("backup's labelling and retention agree on who holds a period", () => {
  const ZONE = 'UTC';
  /** A gfs snapshot as backup labels it, given the PVC's snapshots so far. */
  function backup(records: SnapshotRecord[], name: string, createdAt: string, ready = true): SnapshotRecord {
    const labels = snapshotLabels({
      backupId: name,
      pvc: 'data',
      type: 'scheduled',
      retain: { policy: 'gfs' },
      createdAt,
      timeZone: ZONE,
      existingOfSamePvc: records,
    });
    return { namespace: 'shop', name, pvc: 'data', createdAt, ready, failed: false, labels };
  }
  /** Retain, mark and sweep as the prune CronJob runs them, an hour after `createdAt`. */
  function prune(records: SnapshotRecord[], createdAt: string): SnapshotRecord[] {
    const now = new Date(Date.parse(createdAt) + 3_600_000);
    let next = applyRetain(records, planRetain(records));
    next = applyMark(next, planMark(next, { now, timeZone: ZONE, graceDays: 1 }));
    const sweep = { now, timeZone: ZONE, maxDeleteShare: 1, maxDeleteCount: 99, force: false };
    return applySweep(next, planSweep(next, sweep));
  }

  it('a snapshot that never became ready does not cost its month the monthly backup', () => {
    // The nightly backup of Mar 1 was killed before its snapshot became ready (and before it could label
    // it failed); a backup re-run that morning succeeded. Then daily backups until mid-April.
    let records = [backup([], 'stuck', '2026-03-01T01:00:00Z', false)];
    records.push(backup(records, 'rerun', '2026-03-01T09:00:00Z'));
    records = prune(records, '2026-03-01T09:00:00Z');
    for (let day = 2; day <= 45; day++) {
      const createdAt = new Date(Date.UTC(2026, 2, day, 1)).toISOString().replace('.000Z', 'Z');
      records.push(backup(records, `d${day}`, createdAt));
      records = prune(records, createdAt);
    }
    const holderOf = (value: string) =>
      records.filter((r) => r.ready && r.labels[Labels.monthly] === value).map((r) => r.name);
    expect(holderOf('2026-03')).toEqual(['rerun']);
    expect(records.map((r) => r.name)).toContain('rerun');
    // The stuck one is never touched: it keeps what backup gave it, and retention leaves it alone.
    expect(records.find((r) => r.name === 'stuck')?.labels[Labels.monthly]).toBe('2026-03');
  });
});

describe('deleteAfterFor', () => {
  it('counts calendar days in the zone, across DST and the year end', () => {
    // 23:30 on Mar 28 in Berlin; the night loses an hour, the date still advances by one.
    expect(deleteAfterFor('2026-03-28T22:30:00Z', 'Europe/Berlin', 1)).toBe('2026-03-29');
    expect(deleteAfterFor('2026-12-31T22:30:00Z', 'Europe/Berlin', 1)).toBe('2027-01-01');
    expect(deleteAfterFor('2026-12-31T22:30:00Z', 'UTC', 1)).toBe('2027-01-01');
    expect(deleteAfterFor('2026-12-31T23:30:00Z', 'Europe/Berlin', 30)).toBe('2027-01-31');
  });

  it('refuses a negative or fractional day count', () => {
    expect(() => deleteAfterFor('2026-01-01T00:00:00Z', 'UTC', -1)).toThrow();
    expect(() => deleteAfterFor('2026-01-01T00:00:00Z', 'UTC', 1.5)).toThrow();
  });
});
