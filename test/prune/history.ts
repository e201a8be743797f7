// Daily backup histories labelled by backup's own labelling (snapshotLabels over the same PVC's snapshots).
import { snapshotLabels } from '../../lib/backup/snapshot-labels.js';
import type { SnapshotRecord } from '../../lib/retention/index.js';
import type { SnapshotSpec } from '../kit/index.js';

const DAY = 86_400_000;

/** One backup per day at `hourUtc`, all PVCs in the same run (one backup id per day), oldest first. */
export function dailyBackups(
  namespace: string,
  pvcs: readonly string[],
  firstDay: string,
  days: number,
  options: { timeZone?: string; hourUtc?: number; s3Location?: boolean } = {},
): SnapshotSpec[] {
  const timeZone = options.timeZone ?? 'UTC';
  const start = Date.parse(`${firstDay}T00:00:00Z`) + (options.hourUtc ?? 1) * 3_600_000;
  const records = new Map<string, SnapshotRecord[]>(pvcs.map((p) => [p, []]));
  const specs: SnapshotSpec[] = [];
  for (let day = 0; day < days; day++) {
    const createdAt = new Date(start + day * DAY).toISOString().replace('.000Z', 'Z');
    const backupId = `b${createdAt.slice(0, 10).replaceAll('-', '')}`;
    for (const pvc of pvcs) {
      const spec = backupSnapshot(namespace, pvc, createdAt, backupId, records.get(pvc)!, timeZone);
      if (options.s3Location) {
        // As backup writes it: the dump file(s), then the resource export folder.
        const folder = `s3://backups/nsbackup/test/${namespace}/${backupId}/`;
        spec.s3Location = `${folder}dump-app.sql.gz,${folder}`;
      }
      specs.push(spec);
    }
  }
  return specs;
}

/** One snapshot as backup would create it; `previous` (same PVC) grows by the new record. */
export function backupSnapshot(
  namespace: string,
  pvc: string,
  createdAt: string,
  backupId: string,
  previous: SnapshotRecord[],
  timeZone: string,
): SnapshotSpec {
  const labels = snapshotLabels({
    backupId,
    pvc,
    type: 'scheduled',
    retain: { policy: 'gfs' },
    createdAt,
    timeZone,
    existingOfSamePvc: previous,
  });
  const name = `${pvc}-${createdAt.slice(0, 10).replaceAll('-', '')}-${createdAt.slice(11, 13)}`;
  previous.push({ namespace, name, pvc, createdAt, ready: true, failed: false, labels });
  return { namespace, name, pvc, createdAt, labels };
}
