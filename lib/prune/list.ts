// `nsbackup list`: the snapshots of each PVC with what retention sees in them. Pure formatting.
import { DateTime } from '../luxon.js';
import { Labels } from '../labels.js';
import { columns } from '../table.js';
import { runOutcomeOf, type RunOutcome } from '../retention/index.js';
import type { SnapshotInfo } from './snapshots.js';

export interface SnapshotRow {
  namespace: string;
  pvc: string;
  snapshot: string;
  createdAt: string;
  ready: boolean;
  failed: boolean;
  /**
   * How the backup run that made it ended: succeeded, failed, interrupted (killed before it finished), in-progress,
   * unrecorded (an nsbackup version before this was recorded) or unknown.
   */
  outcome: RunOutcome;
  size: string;
  type: string;
  retain: string;
  daily: string;
  weekly: string;
  monthly: string;
  yearly: string;
  deleteAfter: string;
  /** An ad-hoc backup's floor: kept at least through this day. */
  keepUntil: string;
  pinned: boolean;
  backup: string;
  terminating: boolean;
}

export function snapshotRows(infos: readonly SnapshotInfo[], now: Date): SnapshotRow[] {
  const rows = infos.map(({ record, restoreSize, terminating }) => {
    const l = record.labels;
    return {
      namespace: record.namespace,
      pvc: record.pvc,
      snapshot: record.name,
      createdAt: record.createdAt,
      ready: record.ready,
      failed: record.failed,
      outcome: runOutcomeOf(record, now),
      size: restoreSize ?? '',
      type: l[Labels.type] ?? '',
      retain: l[Labels.retain] ?? '',
      daily: l[Labels.daily] ?? '',
      weekly: l[Labels.weekly] ?? '',
      monthly: l[Labels.monthly] ?? '',
      yearly: l[Labels.yearly] ?? '',
      deleteAfter: l[Labels.deleteAfter] ?? '',
      keepUntil: l[Labels.keepUntil] ?? '',
      pinned: l[Labels.pin] === 'true',
      backup: l[Labels.backup] ?? '',
      terminating,
    };
  });
  // Oldest first within a PVC: a table reads like a timeline, the newest backup is the last line.
  return rows.sort(
    (a, b) =>
      cmp(a.namespace, b.namespace) ||
      cmp(a.pvc, b.pvc) ||
      Date.parse(a.createdAt) - Date.parse(b.createdAt) ||
      cmp(a.snapshot, b.snapshot),
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One table per namespace and PVC, separated by a blank line; times in `timeZone`. */
export function formatTables(rows: readonly SnapshotRow[], timeZone: string): string {
  if (rows.length === 0) return 'No VolumeSnapshots found.\n';
  const withYearly = rows.some((r) => r.yearly);
  const withKeepUntil = rows.some((r) => r.keepUntil);
  const groups = new Map<string, SnapshotRow[]>();
  for (const row of rows) {
    const key = `${row.namespace}\u0000${row.pvc}`;
    const group = groups.get(key);
    // Appended in place: a PVC with hourly backups over years has tens of thousands of rows.
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  const blocks: string[] = [];
  for (const group of groups.values()) {
    const header = ['SNAPSHOT', 'CREATED', 'READY', 'OUTCOME', 'SIZE', 'TYPE', 'DAILY', 'WEEKLY', 'MONTHLY'];
    if (withYearly) header.push('YEARLY');
    if (withKeepUntil) header.push('KEEP-UNTIL');
    header.push('DELETE-AFTER', 'PINNED');
    const lines = group.map((r) => {
      const cells = [
        r.snapshot,
        localTime(r.createdAt, timeZone),
        r.terminating ? 'deleting' : r.failed ? 'failed' : r.ready ? 'true' : 'false',
        r.outcome === 'unrecorded' ? '-' : r.outcome,
        r.size || '-',
        r.type || '-',
        r.daily || '-',
        r.weekly || '-',
        r.monthly || '-',
      ];
      if (withYearly) cells.push(r.yearly || '-');
      if (withKeepUntil) cells.push(r.keepUntil || '-');
      cells.push(r.deleteAfter || '-', r.pinned ? 'true' : '-');
      return cells;
    });
    blocks.push(
      `NAMESPACE ${group[0].namespace}  PVC ${group[0].pvc || '(unknown)'}\n${columns([header, ...lines])}`,
    );
  }
  return blocks.join('\n\n') + '\n';
}

export function localTime(iso: string, timeZone: string): string {
  const t = DateTime.fromISO(iso, { setZone: true });
  return t.isValid ? t.setZone(timeZone).toFormat('yyyy-MM-dd HH:mm') : iso || '-';
}
