import { describe, expect, it } from 'vitest';
import { Labels } from '../../lib/labels.js';
import { DELTAS_LABEL, planMark, type SnapshotRecord } from '../../lib/retention/index.js';
import { names, snapshot } from './fixtures.js';

// 22:30 UTC on Mar 29 is 00:30 on Mar 30 in Berlin (summer time began that night).
const options = { now: new Date('2026-03-29T22:30:00Z'), timeZone: 'Europe/Berlin', graceDays: 1 };
const newest = snapshot('newest', '2026-03-29T02:00:00Z', { [Labels.daily]: '2026-03-29' });

describe('planMark', () => {
  it('marks a gfs snapshot that lost every period label with today + grace in the zone', () => {
    const bare = snapshot('bare', '2026-03-01T02:00:00Z');
    const weekly = snapshot('weekly', '2026-03-02T02:00:00Z', { [Labels.weekly]: '2026-w10' });
    const plan = planMark([newest, weekly, bare], options);
    expect(plan.marks).toEqual([
      {
        namespace: 'shop',
        name: 'bare',
        pvc: 'data',
        createdAt: '2026-03-01T02:00:00Z',
        deleteAfter: '2026-03-31',
      },
    ]);
    expect(planMark([newest, bare], { ...options, graceDays: 0 }).marks[0].deleteAfter).toBe('2026-03-30');
  });

  it('never marks the newest good snapshot, even with no label at all (an ad-hoc backup)', () => {
    const adhoc = snapshot('adhoc', '2026-03-29T15:00:00Z');
    const failedLater = snapshot('failed-later', '2026-03-29T20:00:00Z', {}, { failed: true });
    const creating = snapshot('creating', '2026-03-29T21:00:00Z', {}, { ready: false });
    expect(planMark([newest, adhoc, failedLater, creating], options).marks).toEqual([]);
  });

  it("keeps an ad-hoc backup taken after the night's one through its keep-until day, then marks it", () => {
    // The nightly backup took the day's labels; the ad-hoc one "before the upgrade" has none, only keep-until.
    const nightly = snapshot('nightly', '2026-03-28T02:00:00Z', { [Labels.daily]: '2026-03-28' });
    const adhoc = snapshot('before-upgrade', '2026-03-28T15:00:00Z', {
      [Labels.type]: 'adhoc',
      [Labels.keepUntil]: '2026-04-27',
    });
    expect(planMark([newest, adhoc, nightly], options).marks).toEqual([]);
    // On its last day (Berlin) still kept; the day after, marked like any snapshot with no reason left.
    const lastDay = { ...options, now: new Date('2026-04-27T21:00:00Z') };
    expect(planMark([newest, adhoc, nightly], lastDay).marks).toEqual([]);
    const dayAfter = { ...options, now: new Date('2026-04-27T22:30:00Z') };
    expect(names(planMark([newest, adhoc, nightly], dayAfter).marks)).toEqual(['before-upgrade']);
  });

  it('leaves pinned, already marked, days, foreign, failed and unready snapshots alone', () => {
    const old = '2026-03-01T02:00:00Z';
    const records: SnapshotRecord[] = [
      newest,
      snapshot('pinned', old, { [Labels.pin]: 'true' }),
      snapshot('marked', old, { [Labels.deleteAfter]: '2026-04-30' }),
      snapshot('days', old, { [Labels.retain]: 'days' }),
      { ...snapshot('foreign', old), labels: {} },
      snapshot('failed', old, {}, { failed: true }),
      snapshot('unready', old, {}, { ready: false }),
    ];
    expect(planMark(records, options).marks).toEqual([]);
  });

  it("marks the snapshots of failed and killed runs, never one still running, unpinned or an older version's", () => {
    const old = '2026-03-01T02:00:00Z';
    const outcome = (value: string) => ({ [Labels.outcome]: value });
    // The run's deadline: 22:00 UTC passed, 23:00 UTC not yet.
    const records: SnapshotRecord[] = [
      newest,
      snapshot('s3-failed', '2026-03-29T21:00:00Z', outcome('failed')),
      snapshot('labelled-failed', old, { [Labels.failed]: 'true' }, { ready: false }),
      snapshot('killed', old, outcome('in-progress'), { completeBy: '2026-03-29T22:00:00Z' }),
      snapshot('running', '2026-03-29T21:00:00Z', outcome('in-progress'), {
        completeBy: '2026-03-29T23:00:00Z',
      }),
      snapshot('no-deadline', old, outcome('in-progress')),
      snapshot('newer-version', old, outcome('verified')),
      snapshot('pinned-failed', old, { ...outcome('failed'), [Labels.pin]: 'true' }),
      snapshot('older-version', old, { [Labels.weekly]: '2026-w09' }),
      snapshot('status-error', old, {}, { failed: true }),
    ];
    const plan = planMark(records, options);
    expect(plan.marks.map((m) => [m.name, m.runOutcome, m.deleteAfter])).toEqual([
      ['killed', 'interrupted', '2026-03-31'],
      ['labelled-failed', 'failed', '2026-03-31'],
      ['s3-failed', 'failed', '2026-03-31'],
    ]);
  });

  it('never counts a snapshot whose run is not known to have succeeded as the newest good one', () => {
    const older = snapshot('older', '2026-03-28T02:00:00Z');
    const running = snapshot('running', '2026-03-29T21:00:00Z', { [Labels.outcome]: 'in-progress' });
    const succeeded = snapshot('succeeded', '2026-03-29T21:30:00Z', { [Labels.outcome]: 'succeeded' });
    // Without a succeeded run after it, `older` is the newest backup and stays unmarked.
    expect(planMark([older, running], options).marks).toEqual([]);
    expect(names(planMark([older, running, succeeded], options).marks)).toEqual(['older']);
  });

  it('marks the deltas snapshots outside the keep set', () => {
    const day = (d: number) => `2026-03-${String(d).padStart(2, '0')}T02:00:00Z`;
    const deltas = { [Labels.retain]: 'deltas', [DELTAS_LABEL]: 'P1D_P3D' };
    // Daily backups on the 20th..29th: "P1D P3D" keeps the newest and one a day for three days.
    const records = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29].map((d) => snapshot(`d${d}`, day(d), deltas));
    expect(names(planMark(records, options).marks)).toEqual(['d20', 'd21', 'd22', 'd23', 'd24', 'd25']);
  });

  it('chooses the deltas keep set among snapshots not marked yet', () => {
    const deltas = { [Labels.retain]: 'deltas', [DELTAS_LABEL]: 'P1D_P3D' };
    const at = (h: number) => new Date(Date.parse('2026-03-26T02:00:00Z') + h * 3_600_000).toISOString();
    // d26 was marked by hand; the walk must land on the neighbour instead of counting on it.
    const records = [
      snapshot('d26', at(0), { ...deltas, [Labels.deleteAfter]: '2026-04-01' }),
      snapshot('d26-late', at(5), deltas),
      snapshot('d27', at(24), deltas),
      snapshot('d28', at(48), deltas),
      snapshot('d29', at(72), deltas),
    ];
    expect(planMark(records, options).marks).toEqual([]);
  });

  it('keeps every deltas snapshot of a PVC whose deltas cannot be read, and says so', () => {
    const broken = { [Labels.retain]: 'deltas', [DELTAS_LABEL]: 'P1M_P1Y' };
    const records = [
      snapshot('a', '2026-03-01T02:00:00Z', broken),
      snapshot('b', '2026-03-02T02:00:00Z', broken),
      snapshot('c', '2026-03-03T02:00:00Z', broken),
    ];
    const plan = planMark(records, options);
    expect(plan.marks).toEqual([]);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0].reason).toMatch(/P1M_P1Y.*kept/);
  });

  it('reports an unknown policy and an unreadable creation time instead of acting on them', () => {
    const records = [
      newest,
      snapshot('typo', '2026-03-01T02:00:00Z', { [Labels.retain]: 'gfs-ish' }),
      snapshot('no-time', 'yesterday'),
    ];
    const plan = planMark(records, options);
    expect(plan.marks).toEqual([]);
    expect(names(plan.problems)).toEqual(['no-time', 'typo']);
  });

  it('refuses a negative grace and an unknown time zone', () => {
    expect(() => planMark([], { ...options, graceDays: -1 })).toThrow(/graceDays/);
    expect(() => planMark([], { ...options, timeZone: 'Mars/Olympus' })).toThrow(/time zone/);
  });
});
