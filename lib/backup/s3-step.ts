// The S3 part of a backup: the dump files as they are, then the resource export (whose manifest lists the dumps).
// It runs after the snapshots are cut and the post hooks ran: the application is not held frozen for uploads, and
// an S3 problem fails the run without costing the volume snapshots.

import { JobError } from '../exit.js';
import type { BackupPlan } from './plan.js';
import type { BackupFolder, DatabaseOps, ExportResources, StoredDump, VolumeRecord } from './ports.js';
import type { DumpFacts } from './snapshot-labels.js';
import type { PodTarget } from '../exec/target.js';

export interface S3StepInput {
  plan: BackupPlan;
  folder: BackupFolder;
  namespace: string;
  backupId: string;
  /** The files the run dumped (uploaded with NSBACKUP_S3_DUMP). */
  dump?: DumpFacts;
  dbTarget?: PodTarget;
  database?: DatabaseOps;
  exportResources?: ExportResources;
  /** Volume data this run stored (listed in the manifest). */
  volumes?: VolumeRecord[];
  signal?: AbortSignal;
}

export interface S3StepResult {
  /** `s3://` locations of what was stored. */
  locations: string[];
  /** Problems that make the run a failure without stopping it (types the export could not read). */
  failures: string[];
}

/** Throws on the first failure (the rest would only fail the same way or be incomplete). */
export async function storeInS3(input: S3StepInput): Promise<S3StepResult> {
  const { plan, folder } = input;
  const result: S3StepResult = { locations: [], failures: [] };
  const stored: StoredDump[] = [];
  if (plan.s3Dump && input.dump?.files.length && plan.database && input.dbTarget) {
    if (!input.database?.uploadDumps)
      throw new JobError('NSBACKUP_S3_DUMP is on but no S3 store is configured');
    stored.push(
      ...(await input.database.uploadDumps(
        input.dbTarget,
        plan.database,
        folder.keyPrefix,
        input.dump,
        input.signal,
      )),
    );
    result.locations.push(...stored.map((d) => d.location));
  }
  if (input.exportResources) {
    const exported = await input.exportResources({
      namespace: input.namespace,
      backupId: input.backupId,
      keyPrefix: folder.keyPrefix,
      dumps: stored.map(({ location: _location, ...dump }) => dump),
      volumes: input.volumes,
      signal: input.signal,
    });
    result.locations.push(exported.location);
    if (exported.unreadable.length) {
      result.failures.push(
        `resource export incomplete, could not read: ${exported.unreadable.join('; ')} ` +
          '(grant get/list on these types, or leave them out with NSBACKUP_EXPORT_EXCLUDE)',
      );
    }
  }
  return result;
}
