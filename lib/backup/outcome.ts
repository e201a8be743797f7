// The record of how a run ended, stored in its S3 folder (lib/resources/outcome.ts) so that `latest` never picks a
// backup whose run failed after writing part of its files. Pure.

import type { BackupOutcome } from '../resources/outcome.js';
import type { ManifestVolume } from '../resources/manifest.js';

export function backupOutcomeOf(input: {
  backupId: string;
  /** Every failure line of the run; none when it succeeded (exit code 0). */
  failures: string[];
  failed: boolean;
  startedAt: Date;
  finishedAt: Date;
  volumes?: ManifestVolume[];
}): BackupOutcome {
  return {
    formatVersion: 1,
    backupId: input.backupId,
    outcome: input.failed ? 'failed' : 'succeeded',
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    failures: input.failed ? input.failures : [],
    ...(input.volumes?.length ? { volumes: input.volumes } : {}),
  };
}
