// Labels and annotations of a new VolumeSnapshot. Pure: the clock, the zone and the PVC's existing
// snapshots are inputs. GFS labels look only at snapshots OF THE SAME PVC (backup-ns looked at the whole
// namespace, so a second PVC never got daily/weekly/monthly labels).

import type { DumpFile } from '../dump/types.js';
import { Annotations, Labels } from '../labels.js';
import type { BackupType, RetainPolicyName } from '../labels.js';
import {
  GFS_KEYS,
  DELTAS_LABEL,
  adhocKeepUntil,
  deleteAfterFor,
  encodeDeltas,
  gfsLabelsFor,
  parseDeltas,
} from '../retention/index.js';
import type { RetainSpec, SnapshotRecord } from '../retention/index.js';
import type { KubeObject } from '../kube/index.js';

export type { RetainSpec } from '../retention/index.js';

export interface LabelInputs {
  backupId: string;
  pvc: string;
  type: BackupType;
  retain: RetainSpec;
  /** For ad-hoc backups: days the snapshot is kept at least (its keep-until label); 0 or absent: no floor. */
  adhocKeepDays?: number;
  /** ISO 8601 with offset: the moment the snapshot is created. */
  createdAt: string;
  timeZone: string;
  /** The PVC's other VolumeSnapshots in the namespace (any state; only those retain counts hold a period). */
  existingOfSamePvc: readonly SnapshotRecord[];
}

export function snapshotLabels(input: LabelInputs): Record<string, string> {
  const keepDays = input.type === 'adhoc' ? (input.adhocKeepDays ?? 0) : 0;
  const labels: Record<string, string> = {
    [Labels.backup]: input.backupId,
    [Labels.pvc]: input.pvc,
    [Labels.type]: input.type,
    [Labels.retain]: input.retain.policy satisfies RetainPolicyName,
  };
  switch (input.retain.policy) {
    case 'gfs':
      Object.assign(
        labels,
        gfsLabelsFor(
          input.createdAt,
          input.timeZone,
          input.existingOfSamePvc,
          // Every period, yearly included: the pruner's NSBACKUP_KEEP_* decide what stays, so backup needs no copy
          // of the keep counts. A period kept 0 times keeps nothing and costs no patch: retain takes its label
          // off only together with the snapshot's last kept one (lib/retention/gfs.ts gfsRemovals).
          GFS_KEYS,
        ),
      );
      break;
    case 'days':
      // An ad-hoc backup's floor holds under days too: its delete-after is never before its keep-until.
      labels[Labels.deleteAfter] = deleteAfterFor(
        input.createdAt,
        input.timeZone,
        Math.max(input.retain.days, keepDays),
      );
      break;
    case 'deltas':
      labels[DELTAS_LABEL] = encodeDeltas(parseDeltas(input.retain.deltas));
      break;
  }
  const keepUntil = adhocKeepUntil(input.type, input.createdAt, input.timeZone, input.adhocKeepDays);
  if (keepUntil) labels[Labels.keepUntil] = keepUntil;
  return labels;
}

export interface DumpFacts {
  files: DumpFile[];
  durationMs: number;
}

export function snapshotAnnotations(input: {
  config: Record<string, unknown>;
  version: string;
  dump?: DumpFacts;
  s3Location?: string;
}): Record<string, string> {
  const annotations: Record<string, string> = {
    [Annotations.config]: JSON.stringify(input.config),
    [Annotations.version]: input.version,
  };
  if (input.dump && input.dump.files.length) {
    // Several databases: values comma-separated in the order of dump-path.
    annotations[Annotations.dumpPath] = input.dump.files.map((f) => f.path).join(',');
    annotations[Annotations.dumpSize] = input.dump.files.map((f) => String(f.sizeBytes)).join(',');
    annotations[Annotations.dumpSha256] = input.dump.files.map((f) => f.sha256 ?? 'unknown').join(',');
    annotations[Annotations.dumpDuration] = `${(input.dump.durationMs / 1000).toFixed(1)}s`;
  }
  if (input.s3Location) annotations[Annotations.s3Location] = input.s3Location;
  return annotations;
}

export function volumeSnapshotManifest(input: {
  namespace: string;
  name: string;
  pvc: string;
  snapshotClass?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}): KubeObject {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: input.labels,
      annotations: input.annotations,
    },
    spec: {
      ...(input.snapshotClass ? { volumeSnapshotClassName: input.snapshotClass } : {}),
      source: { persistentVolumeClaimName: input.pvc },
    },
  };
}
