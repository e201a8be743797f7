// `nsbackup status`: how old each namespace's newest good backup is, as a dead man's switch any monitoring can run
// (exit 1 when one is older than the limit). Good = a ready snapshot whose run succeeded (or an older version's
// snapshot that is ready and not failed), or a backup run the status ConfigMap records as succeeded (a namespace
// backed up to S3 without PVCs has no snapshot): a failed, interrupted or unfinished run never makes it fresh.
// With --max-verify-age, a namespace whose last successful verify is older (or missing) fails too.
import type { CommandStatus } from '../metrics/status-configmap.js';
import { runCompleted } from '../retention/outcome.js';
import { columns } from '../table.js';
import type { SnapshotInfo } from '../snapshots/list.js';

export interface Freshness {
  namespace: string;
  /** The newest good backup (a snapshot, or a run recorded in the status ConfigMap), or undefined: none. */
  newest?: { snapshot?: string; pvc?: string; backupId?: string; createdAt: string };
  ageSeconds?: number;
  /** The last backup run, good or not, when the status ConfigMap records it. */
  lastRun?: { result: 'succeeded' | 'failed'; at: string; error?: string };
  /** When the last verify succeeded, from the status ConfigMap. */
  verifiedAt?: string;
  verifyAgeSeconds?: number;
  fresh: boolean;
  /** Why it is not fresh. */
  problem?: 'none' | 'too old' | 'not verified';
}

export interface FreshnessLimits {
  maxAgeMs: number;
  /** 0: verifies are shown, not required. */
  maxVerifyAgeMs?: number;
}

/** One row per namespace that has any snapshot of ours or a status ConfigMap (and each of `expected`). */
export function freshnessOf(
  infos: readonly SnapshotInfo[],
  now: Date,
  limits: FreshnessLimits,
  expected: readonly string[] = [],
  statuses: ReadonlyMap<string, Record<string, CommandStatus>> = new Map(),
): Freshness[] {
  const newest = new Map<string, SnapshotInfo | undefined>(expected.map((ns) => [ns, undefined]));
  for (const ns of statuses.keys()) if (!newest.has(ns)) newest.set(ns, undefined);
  for (const info of infos) {
    const { record } = info;
    if (!newest.has(record.namespace)) newest.set(record.namespace, undefined);
    if (info.terminating || !record.ready || !runCompleted(record)) continue;
    const current = newest.get(record.namespace);
    if (!current || Date.parse(record.createdAt) > Date.parse(current.record.createdAt))
      newest.set(record.namespace, info);
  }
  const ageOf = (at: string) => Math.round((now.getTime() - Date.parse(at)) / 1000);
  return [...newest]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([namespace, info]) => {
      const backup = statuses.get(namespace)?.backup;
      const verify = statuses.get(namespace)?.verify;
      let good: Freshness['newest'] = info
        ? { snapshot: info.record.name, pvc: info.record.pvc, createdAt: info.record.createdAt }
        : undefined;
      if (backup?.lastSuccess && (!good || Date.parse(backup.lastSuccess) > Date.parse(good.createdAt)))
        good = { backupId: backup.lastSuccessBackupId, createdAt: backup.lastSuccess };
      const row: Freshness = { namespace, fresh: false };
      if (backup?.lastAttempt && backup.lastResult)
        row.lastRun = { result: backup.lastResult, at: backup.lastAttempt, error: backup.lastError };
      if (verify?.lastSuccess) {
        row.verifiedAt = verify.lastSuccess;
        row.verifyAgeSeconds = ageOf(verify.lastSuccess);
      }
      if (!good) return { ...row, problem: 'none' };
      row.newest = good;
      row.ageSeconds = ageOf(good.createdAt);
      if (row.ageSeconds * 1000 > limits.maxAgeMs) return { ...row, problem: 'too old' };
      const maxVerify = limits.maxVerifyAgeMs ?? 0;
      if (maxVerify > 0 && (row.verifyAgeSeconds === undefined || row.verifyAgeSeconds * 1000 > maxVerify))
        return { ...row, problem: 'not verified' };
      return { ...row, fresh: true };
    });
}

function age(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h >= 48 ? `${Math.floor(h / 24)}d${h % 24}h` : `${h}h${String(m).padStart(2, '0')}m`;
}

const STATUS_TEXT = { none: 'NONE', 'too old': 'TOO OLD', 'not verified': 'NOT VERIFIED' } as const;

export function formatFreshness(rows: readonly Freshness[], now: Date): string {
  if (!rows.length) return 'No backups found.\n';
  const ago = (at: string) => age(Math.round((now.getTime() - Date.parse(at)) / 1000));
  const table = [
    ['NAMESPACE', 'NEWEST GOOD BACKUP', 'AGE', 'LAST RUN', 'VERIFIED', 'STATUS'],
    ...rows.map((r) => [
      r.namespace,
      !r.newest
        ? '-'
        : r.newest.snapshot
          ? `${r.newest.snapshot} (${r.newest.pvc})`
          : `backup ${r.newest.backupId ?? '(no id)'}`,
      r.ageSeconds === undefined ? '-' : age(r.ageSeconds),
      r.lastRun ? `${r.lastRun.result} ${ago(r.lastRun.at)} ago` : '-',
      r.verifyAgeSeconds === undefined ? '-' : `${age(r.verifyAgeSeconds)} ago`,
      r.fresh ? 'ok' : STATUS_TEXT[r.problem ?? 'none'],
    ]),
  ];
  return columns(table) + '\n';
}
