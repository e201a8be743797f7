// The tables commands print for people (list, backups, status, list --etcd): columns padded to their widest cell,
// three spaces apart, no trailing blanks; times in the user's zone.

import { DateTime } from './luxon.js';

/** `table[0]` is the header; every row has its cells. */
export function columns(table: string[][]): string {
  // A loop, not Math.max(...lengths): spreading a column of 100,000+ cells exceeds the call stack.
  const widths = table[0].map((_, i) => table.reduce((width, row) => Math.max(width, row[i].length), 0));
  return table
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/** An instant as `yyyy-MM-dd HH:mm` in `timeZone` (the column of created times); `-` or the raw text if unreadable. */
export function localTime(iso: string, timeZone: string): string {
  const t = DateTime.fromISO(iso, { setZone: true });
  return t.isValid ? t.setZone(timeZone).toFormat('yyyy-MM-dd HH:mm') : iso || '-';
}
