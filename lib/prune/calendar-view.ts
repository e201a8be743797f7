// `nsbackup list --calendar`: retention at a glance. Per PVC, the last weeks as a calendar (a row per ISO week,
// Monday first), each day showing what its snapshots hold, then which months and years are held by which
// snapshot, and what is marked and when it goes. Pure: rows and "today" in, text out.
import { DateTime } from '../luxon.js';
import type { SnapshotRow } from './list.js';

/** The mark of a day: the strongest reason among its snapshots. */
function dayMark(rows: readonly SnapshotRow[]): string {
  if (!rows.length) return '·';
  if (rows.some((r) => r.pinned)) return 'P';
  if (rows.some((r) => r.yearly)) return 'Y';
  if (rows.some((r) => r.monthly)) return 'M';
  if (rows.some((r) => r.weekly)) return 'W';
  if (rows.some((r) => r.daily)) return 'D';
  if (rows.some((r) => r.keepUntil)) return 'K';
  if (rows.some((r) => r.deleteAfter)) return 'x';
  return 'o';
}

export const CALENDAR_LEGEND =
  'P pinned  Y yearly  M monthly  W weekly  D daily  K kept until (ad-hoc)  x marked for deletion  ' +
  'o a snapshot holding nothing (marked on the next run)  · no snapshot';

/** One PVC's picture: `weeks` ISO weeks ending with today's, in `timeZone`. */
export function pvcCalendar(rows: readonly SnapshotRow[], today: Date, timeZone: string, weeks = 6): string {
  const byDay = new Map<string, SnapshotRow[]>();
  for (const row of rows) {
    if (row.terminating) continue;
    const day = DateTime.fromISO(row.createdAt, { setZone: true }).setZone(timeZone).toFormat('yyyy-MM-dd');
    byDay.set(day, [...(byDay.get(day) ?? []), row]);
  }
  const now = DateTime.fromJSDate(today).setZone(timeZone).startOf('day');
  const firstMonday = now.startOf('week').minus({ weeks: weeks - 1 });
  const lines = ['           Mo Tu We Th Fr Sa Su'];
  for (let w = 0; w < weeks; w++) {
    const monday = firstMonday.plus({ weeks: w });
    const cells: string[] = [];
    for (let d = 0; d < 7; d++) {
      const day = monday.plus({ days: d });
      // Three characters a day, the mark under the first letter of its weekday.
      cells.push(day > now ? '   ' : ` ${dayMark(byDay.get(day.toFormat('yyyy-MM-dd')) ?? [])} `);
    }
    lines.push(`${monday.toFormat("kkkk-'w'WW")}  ${cells.join('')}`.trimEnd());
  }
  const held = (key: 'monthly' | 'yearly') =>
    rows
      .filter((r) => r[key] && !r.terminating)
      .map((r) => `${r[key]} ${r.snapshot}`)
      .join(', ');
  if (held('monthly')) lines.push(`months: ${held('monthly')}`);
  if (held('yearly')) lines.push(`years:  ${held('yearly')}`);
  const marked = rows.filter((r) => r.deleteAfter && !r.pinned && !r.terminating);
  for (const r of marked) lines.push(`goes after ${r.deleteAfter}: ${r.snapshot}`);
  return lines.join('\n');
}

/** Every PVC's picture, under a title, with the legend once at the end. */
export function formatCalendars(rows: readonly SnapshotRow[], today: Date, timeZone: string): string {
  if (!rows.length) return 'No VolumeSnapshots found.\n';
  const groups = new Map<string, SnapshotRow[]>();
  for (const row of rows) {
    const key = `${row.namespace}/${row.pvc}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const blocks = [...groups].map(([key, group]) => `PVC ${key}\n${pvcCalendar(group, today, timeZone)}`);
  return `${blocks.join('\n\n')}\n\n${CALENDAR_LEGEND}\n`;
}
