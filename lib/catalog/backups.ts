// The backups stored in S3, as `nsbackup backups` and `nsbackup describe` show them: what a person needs to pick a
// backup id for restore, and to see which runs failed or never finished. Rows and descriptions are pure; the
// reading is listBackupCandidates (latest.ts) plus each manifest.

import { forEachLimited } from '../concurrency.js';
import { columns } from '../table.js';
import {
  backupFolderKey,
  copyMethodOf,
  type BackupManifest,
  type VolumeCopyMethod,
} from '../resources/index.js';
import type { S3Store } from '../s3/index.js';
import { listBackupCandidates, type BackupCandidate } from '../export/latest.js';
import { readManifest } from '../export/s3-export.js';
import { readVerification, type Verification } from '../verify/integrity.js';

/** succeeded / failed from the outcome record; interrupted: a folder without one (the run never finished). */
export type BackupState = 'succeeded' | 'failed' | 'interrupted';

export interface BackupRow {
  backupId: string;
  namespace: string;
  cluster: string;
  state: BackupState;
  startedAt?: string;
  finishedAt?: string;
  objects?: number;
  dumps: number;
  dumpBytes: number;
  /** Every stored file, as stored (after compression and encryption). */
  bytes: number;
  encrypted: boolean;
  /** Types the backup does not contain (excluded on purpose or unreadable). */
  notExported: string[];
  failures: string[];
  /** The last `nsbackup verify` of it: when, and whether every file read back whole. */
  verified?: { at: string; ok: boolean; level: 'integrity' | 'restore' | 'rehearsal' };
  /** The last restore check (`verify --level restore`): when, and whether the dumps loaded and the assertions held. */
  restorable?: { at: string; ok: boolean };
  /**
   * The last rehearsal (`verify --level rehearsal`): when, whether the restore into a scratch namespace was whole and
   * equal to the backup, how many objects it restored and how many differed.
   */
  rehearsed?: { at: string; ok: boolean; objects: number; differences: number; failed: number };
}

export function backupRow(
  namespace: string,
  cluster: string,
  candidate: BackupCandidate,
  manifest?: BackupManifest,
  verification?: Verification,
): BackupRow {
  const dumps = manifest?.files.filter((f) => f.contents === 'dump') ?? [];
  return {
    backupId: candidate.backupId,
    namespace,
    cluster,
    state: candidate.outcome?.outcome ?? 'interrupted',
    startedAt: candidate.outcome?.startedAt ?? manifest?.startedAt,
    finishedAt: candidate.outcome?.finishedAt ?? manifest?.completedAt,
    objects: manifest?.objectCount,
    dumps: dumps.length,
    dumpBytes: dumps.reduce((n, f) => n + f.size, 0),
    bytes: manifest?.files.reduce((n, f) => n + f.size, 0) ?? 0,
    encrypted: Boolean(manifest?.encryption),
    notExported: manifest?.notExported?.map((n) => n.what) ?? [],
    failures: candidate.outcome?.failures ?? [],
    ...(verification
      ? {
          verified: {
            at: verification.verifiedAt,
            ok: verification.ok,
            level: verification.level ?? 'integrity',
          },
        }
      : {}),
    ...(verification?.restore
      ? { restorable: { at: verification.restore.verifiedAt, ok: verification.restore.ok } }
      : {}),
    ...(verification?.rehearsal
      ? {
          rehearsed: {
            at: verification.rehearsal.verifiedAt,
            ok: verification.rehearsal.ok,
            objects: verification.rehearsal.objectsRestored,
            differences: verification.rehearsal.differences.length,
            failed: verification.rehearsal.failed.length,
          },
        }
      : {}),
  };
}

/** Oldest first, like `list`: the newest backup is the last line. Unknown start times sort by id, first. */
export function sortRows(rows: BackupRow[]): BackupRow[] {
  return rows.slice().sort((a, b) => {
    const ta = a.startedAt ? Date.parse(a.startedAt) : 0;
    const tb = b.startedAt ? Date.parse(b.startedAt) : 0;
    return ta - tb || (a.backupId < b.backupId ? -1 : a.backupId > b.backupId ? 1 : 0);
  });
}

/** Every backup of a namespace in the store, with its manifest read where it has one. */
export async function listBackups(store: S3Store, cluster: string, namespace: string): Promise<BackupRow[]> {
  const candidates = await listBackupCandidates(store, cluster, namespace);
  const rows: BackupRow[] = [];
  await forEachLimited(candidates, 8, async (candidate) => {
    const folder = backupFolderKey(store.location.prefix, cluster, namespace, candidate.backupId);
    const manifest = candidate.hasManifest ? await readManifest(store, folder) : undefined;
    const verification = manifest ? await readVerification(store, folder) : undefined;
    rows.push(backupRow(namespace, cluster, candidate, manifest, verification));
  });
  return sortRows(rows);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A table for people: one line per backup. */
export function formatBackupTable(rows: readonly BackupRow[]): string {
  if (!rows.length) return 'No backups found.\n';
  const header = [
    'BACKUP',
    'STARTED',
    'STATE',
    'OBJECTS',
    'DUMPS',
    'SIZE',
    'ENCRYPTED',
    'VERIFIED',
    'RESTORABLE',
    'REHEARSED',
    'NOT IN BACKUP',
  ];
  const lines = rows.map((r) => [
    r.backupId,
    r.startedAt ?? '-',
    r.state,
    r.objects === undefined ? '-' : String(r.objects),
    r.dumps ? `${r.dumps} (${formatBytes(r.dumpBytes)})` : '-',
    r.bytes ? formatBytes(r.bytes) : '-',
    r.encrypted ? 'yes' : 'no',
    r.verified ? `${r.verified.ok ? 'ok' : 'FAILED'} ${r.verified.at}` : '-',
    r.restorable ? `${r.restorable.ok ? 'yes' : 'NO'} ${r.restorable.at}` : '-',
    r.rehearsed ? `${r.rehearsed.ok ? 'ok' : 'FAILED'} ${r.rehearsed.at}` : '-',
    r.notExported.join(',') || '-',
  ]);
  const table = [header, ...lines];
  return columns(table) + '\n';
}

export interface BackupDescription {
  row: BackupRow;
  /** Objects by `Kind.group`, most first. */
  kinds: [string, number][];
  files: { name: string; contents: string; database?: string; size: number; sha256: string }[];
  /** The volume data copied with restic, and how each was read (absent in older manifests: from a snapshot). */
  volumes: {
    pvc: string;
    copyMethod: VolumeCopyMethod;
    resticSnapshotId: string;
    files: number;
    bytes: number;
  }[];
  /** The VolumeSnapshots of this backup in the cluster (namespace/name: ready or not). */
  snapshots: { name: string; pvc: string; ready: boolean }[];
  /** How to restore it, as commands. */
  restore: string[];
}

export function describeBackup(
  row: BackupRow,
  manifest: BackupManifest | undefined,
  snapshots: BackupDescription['snapshots'],
): BackupDescription {
  const kinds = Object.entries(manifest?.counts ?? {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const restore =
    row.state === 'interrupted' && !manifest
      ? []
      : [
          `nsbackup restore --backup ${row.backupId} -n ${row.namespace} --namespace-mapping ${row.namespace}=${row.namespace}-restored --dry-run`,
          `nsbackup restore --backup ${row.backupId} -n ${row.namespace} --namespace-mapping ${row.namespace}=${row.namespace}-restored`,
          ...(row.dumps
            ? [
                `nsbackup restore-db --from ${row.backupId} -n ${row.namespace} --db-target <workload> --database <name>`,
              ]
            : []),
        ];
  const volumes = (manifest?.volumes ?? []).map((v) => ({
    pvc: v.pvc,
    copyMethod: copyMethodOf(v),
    resticSnapshotId: v.resticSnapshotId,
    files: v.files,
    bytes: v.bytesProcessed,
  }));
  return { row, kinds, files: manifest?.files ?? [], volumes, snapshots, restore };
}

function rehearsedText(r: BackupRow['rehearsed']): string {
  if (!r) return 'never (nsbackup verify --level rehearsal)';
  const what = `${r.objects} objects restored, ${r.failed} failed, ${r.differences} differing`;
  return `${r.ok ? 'ok' : 'FAILED'} at ${r.at} (${what})`;
}

export function formatDescription(d: BackupDescription): string {
  const { row } = d;
  const out: string[] = [
    `Backup:      ${row.backupId}`,
    `Namespace:   ${row.namespace} (cluster ${row.cluster})`,
    `State:       ${row.state}${row.state === 'interrupted' ? ' (no outcome record: the run never finished)' : ''}`,
    `Started:     ${row.startedAt ?? '-'}`,
    `Finished:    ${row.finishedAt ?? '-'}`,
    `Encrypted:   ${row.encrypted ? 'yes' : 'no'}`,
    `Verified:    ${row.verified ? `${row.verified.ok ? 'ok' : 'FAILED'} at ${row.verified.at} (level ${row.verified.level})` : 'never (nsbackup verify)'}`,
    `Restorable:  ${row.restorable ? `${row.restorable.ok ? 'yes' : 'NO'}, checked at ${row.restorable.at}` : 'not checked (nsbackup verify --level restore)'}`,
    `Rehearsed:   ${rehearsedText(row.rehearsed)}`,
  ];
  if (row.failures.length) out.push('', 'Failures:', ...row.failures.map((f) => `  ${f}`));
  out.push('', `Objects (${row.objects ?? 0}):`);
  for (const [kind, count] of d.kinds) out.push(`  ${kind.padEnd(40)} ${count}`);
  if (row.notExported.length) out.push('', `Not in the backup: ${row.notExported.join(', ')}`);
  out.push('', 'Files:');
  for (const f of d.files) {
    const what = f.contents === 'dump' ? `dump of ${f.database}` : f.contents;
    out.push(
      `  ${f.name.padEnd(32)} ${what.padEnd(20)} ${formatBytes(f.size).padStart(10)}  sha256:${f.sha256}`,
    );
  }
  if (d.volumes.length) {
    out.push('', 'Volume data (restic):');
    for (const v of d.volumes) {
      const how =
        v.copyMethod === 'direct' ? 'direct: live claim, not point-in-time' : 'snapshot: point-in-time';
      out.push(
        `  PVC ${v.pvc.padEnd(28)} ${v.resticSnapshotId.slice(0, 8)}  ${String(v.files).padStart(7)} files ` +
          `${formatBytes(v.bytes).padStart(10)}  ${how}`,
      );
    }
  }
  out.push('', 'VolumeSnapshots in the cluster:');
  if (!d.snapshots.length) out.push('  none (deleted by retention, or another cluster)');
  for (const s of d.snapshots) out.push(`  ${s.name} (PVC ${s.pvc})${s.ready ? '' : ' not ready'}`);
  if (d.restore.length) out.push('', 'Restore it:', ...d.restore.map((c) => `  ${c}`));
  return out.join('\n') + '\n';
}
