// `nsbackup list`'s formatting on a large PVC: hourly backups kept for years are tens of thousands of rows.
import { expect, it } from 'vitest';
import { formatTables, type SnapshotRow } from '../../lib/prune/list.js';
import { listRow } from './fixtures.js';

function row(pvc: string, i: number): SnapshotRow {
  const createdAt = new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString();
  return listRow(`${pvc}-${i}`, createdAt, { pvc });
}

it('prints 100,000 snapshots of one PVC in about a second (grouping was quadratic: minutes)', () => {
  const rows = [...Array.from({ length: 100_000 }, (_, i) => row('data', i)), row('wal', 0)];
  const started = Date.now();
  const text = formatTables(rows, 'UTC');
  expect(Date.now() - started).toBeLessThan(15_000);
  const [data, wal] = text.trimEnd().split('\n\n');
  expect(data.split('\n')).toHaveLength(2 + 100_000); // title, header, rows
  expect(data.split('\n')[2]).toMatch(/^data-0\s+2020-01-01 00:00\s+true\s+succeeded\s+1Gi\s+scheduled/);
  expect(wal.split('\n')).toHaveLength(3);
}, 30_000);

it("shows an ad-hoc backup's keep-until, and no such column when no snapshot has one", () => {
  const adhoc = { ...row('data', 1), type: 'adhoc', keepUntil: '2020-01-31' };
  const lines = formatTables([row('data', 0), adhoc], 'UTC').split('\n');
  expect(lines[1]).toMatch(/KEEP-UNTIL\s+DELETE-AFTER/);
  expect(lines[3]).toMatch(/^data-1\s.*adhoc\s.*2020-01-31\s+-\s+-$/);
  expect(formatTables([row('data', 0)], 'UTC')).not.toMatch(/KEEP-UNTIL/);
});
