// The record of how a run ended, stored in its S3 folder (lib/resources/outcome.ts) so that `latest` never picks a
// backup whose run failed after writing part of its files. Pure.

import type { BackupType } from '../labels.js';
import type { BackupOutcome } from '../resources/outcome.js';
import type { ManifestVolume } from '../resources/manifest.js';
import { adhocKeepUntil, type RetainSpec } from '../retention/index.js';

export function backupOutcomeOf(input: {
  backupId: string;
  /** Every failure line of the run; none when it succeeded (exit code 0). */
  failures: string[];
  failed: boolean;
  startedAt: Date;
  finishedAt: Date;
  volumes?: ManifestVolume[];
  /** Every VolumeSnapshot whose create the run sent. */
  snapshots: string[];
  /** Undefined when the run failed before it could tell. */
  type?: BackupType;
  retain: RetainSpec;
  adhocKeepDays: number;
  timeZone: string;
}): BackupOutcome {
  // The ad-hoc floor as the snapshots' keep-until label has it, from the run's start (its backup id's time).
  const keepUntil = adhocKeepUntil(
    input.type,
    input.startedAt.toISOString(),
    input.timeZone,
    input.adhocKeepDays,
  );
  return {
    formatVersion: 1,
    backupId: input.backupId,
    outcome: input.failed ? 'failed' : 'succeeded',
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    failures: input.failed ? input.failures : [],
    ...(input.volumes?.length ? { volumes: input.volumes } : {}),
    snapshots: [...input.snapshots],
    ...(input.type ? { type: input.type } : {}),
    retain: input.retain,
    ...(keepUntil ? { keepUntil } : {}),
  };
}
