// `nsbackup list --calendar`: a person sees which days, months and years are held, and what goes when.
import { describe, expect, it } from 'vitest';
import { pvcCalendar, formatCalendars, CALENDAR_LEGEND } from '../../lib/prune/calendar-view.js';
import { listRow } from './fixtures.js';

const row = listRow;

// Monday 2026-12-07, 12:00 in Berlin.
const today = new Date('2026-12-07T11:00:00Z');
const rows = [
  row('d-1201', '2026-12-01T01:00:00Z', { monthly: '2026-12', weekly: '2026-w49', daily: '2026-12-01' }),
  row('d-1203', '2026-12-03T01:00:00Z', { daily: '2026-12-03' }),
  row('d-1204', '2026-12-04T01:00:00Z', { deleteAfter: '2026-12-08' }),
  row('d-1205', '2026-12-05T01:00:00Z', { pinned: true }),
  row('d-1206', '2026-12-06T01:00:00Z'),
  row('d-1207', '2026-12-07T01:00:00Z', { daily: '2026-12-07', weekly: '2026-w50' }),
  row('y-2026', '2026-11-02T01:00:00Z', { yearly: '2026', monthly: '2026-11', weekly: '2026-w45' }),
];

describe('list --calendar', () => {
  it('draws the last six ISO weeks, Monday first, each day its strongest reason', () => {
    const lines = pvcCalendar(rows, today, 'Europe/Berlin').split('\n');
    expect(lines[0]).toBe('           Mo Tu We Th Fr Sa Su');
    expect(lines[1]).toBe('2026-w45   Y  ·  ·  ·  ·  ·  ·');
    expect(lines[1].indexOf('Y')).toBe(lines[0].indexOf('Mo'));
    // Week 49: Tue monthly, Thu daily, Fri marked, Sat pinned, Sun a snapshot holding nothing.
    expect(lines[5]).toBe('2026-w49   ·  M  ·  D  x  P  o');
    // This week, only today so far: the days to come are blank.
    expect(lines[6]).toBe('2026-w50   W');
  });

  it('says which snapshot holds each month and year, and what goes when', () => {
    const text = pvcCalendar(rows, today, 'Europe/Berlin');
    expect(text).toContain('months: 2026-12 d-1201, 2026-11 y-2026');
    expect(text).toContain('years:  2026 y-2026');
    expect(text).toContain('goes after 2026-12-08: d-1204');
  });

  it('one picture per PVC, the legend once', () => {
    const text = formatCalendars(
      [...rows, row('wal-1', '2026-12-07T01:00:00Z', { pvc: 'wal', daily: '2026-12-07' })],
      today,
      'UTC',
    );
    expect(text).toMatch(/^PVC shop\/data\n/);
    expect(text).toContain('\n\nPVC shop/wal\n');
    expect(text.split(CALENDAR_LEGEND)).toHaveLength(2);
  });
});
