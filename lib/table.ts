// The tables commands print for people (list, backups, status, list --etcd): columns padded to their widest cell,
// three spaces apart, no trailing blanks.

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
