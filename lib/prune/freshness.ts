// `nsbackup status`: how old each namespace's newest good backup is, as a dead man's switch any monitoring can run
// (exit 1 when one is older than the limit). Good = a ready snapshot whose run succeeded (or an older version's
// snapshot that is ready and not failed): a failed, interrupted or unfinished run never makes a namespace fresh.
import { runCompleted } from '../retention/outcome.js';
import { columns } from '../table.js';
import type { SnapshotInfo } from './snapshots.js';

export interface Freshness {
  namespace: string;
  /** The newest good snapshot, or undefined when there is none. */
  newest?: { snapshot: string; pvc: string; createdAt: string };
  ageSeconds?: number;
  fresh: boolean;
}

/** One row per namespace that has any snapshot of ours (and each of `expected`, fresh or not). */
export function freshnessOf(
  infos: readonly SnapshotInfo[],
  now: Date,
  maxAgeMs: number,
  expected: readonly string[] = [],
): Freshness[] {
  const newest = new Map<string, SnapshotInfo | undefined>(expected.map((ns) => [ns, undefined]));
  for (const info of infos) {
    const { record } = info;
    if (!newest.has(record.namespace)) newest.set(record.namespace, undefined);
    if (info.terminating || !record.ready || !runCompleted(record)) continue;
    const current = newest.get(record.namespace);
    if (!current || Date.parse(record.createdAt) > Date.parse(current.record.createdAt))
      newest.set(record.namespace, info);
  }
  return [...newest]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([namespace, info]) => {
      if (!info) return { namespace, fresh: false };
      const ageMs = now.getTime() - Date.parse(info.record.createdAt);
      return {
        namespace,
        newest: { snapshot: info.record.name, pvc: info.record.pvc, createdAt: info.record.createdAt },
        ageSeconds: Math.round(ageMs / 1000),
        fresh: ageMs <= maxAgeMs,
      };
    });
}

function age(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h >= 48 ? `${Math.floor(h / 24)}d${h % 24}h` : `${h}h${String(m).padStart(2, '0')}m`;
}

export function formatFreshness(rows: readonly Freshness[]): string {
  if (!rows.length) return 'No backups found.\n';
  const table = [
    ['NAMESPACE', 'NEWEST GOOD BACKUP', 'AGE', 'STATUS'],
    ...rows.map((r) => [
      r.namespace,
      r.newest ? `${r.newest.snapshot} (${r.newest.pvc})` : '-',
      r.ageSeconds === undefined ? '-' : age(r.ageSeconds),
      r.fresh ? 'ok' : r.newest ? 'TOO OLD' : 'NONE',
    ]),
  ];
  return columns(table) + '\n';
}
