// What the backup flow needs from the outside, as plain function types, so each step can be tested with
// fakes and the real adapters (pods/exec, the dump scripts, the resource export) plug in at one place.

import type { BackupOutcome } from '../resources/outcome.js';
import type { DatabasePlan } from './plan.js';
import type { DumpFacts } from './snapshot-labels.js';
import type { PodTarget } from '../exec/target.js';
import type { VolumeRecord } from '../volumes/backup-step.js';
import type { StoredDumpRecord } from '../resources/manifest.js';

// The volume data step is lib/volumes' own (backup-step.ts); the flow takes it as this port.
export type { BackupVolumes, VolumeRecord } from '../volumes/backup-step.js';

export type { ExecFn, ExecOptions, ExecResult } from '../exec/index.js';

/** The database steps, run in the database container (lib/dump behind an adapter). */
export interface DatabaseOps {
  /**
   * Tools present, server answers, dump directory under the disk threshold and with room for the new dump. Writes
   * nothing, not even a missing dump directory (a dry run runs it).
   */
  check(target: PodTarget, db: DatabasePlan, signal?: AbortSignal): Promise<void>;
  /** Dumps to a verified file on the PVC; the previous good dump survives a failure. */
  dump(target: PodTarget, db: DatabasePlan, signal?: AbortSignal): Promise<DumpFacts>;
  /**
   * Uploads the files `dump` wrote, as they are (the bytes the snapshot holds; no second dump), to S3 under
   * `keyPrefix` (relative to the store's prefix); returns what it stored, for the manifest.
   */
  uploadDumps?(
    target: PodTarget,
    db: DatabasePlan,
    keyPrefix: string,
    dump: DumpFacts,
    signal?: AbortSignal,
  ): Promise<StoredDump[]>;
}

/** The S3 folder of one backup, known from its id before anything is uploaded. */
export interface BackupFolder {
  /** `<cluster>/<namespace>/<backup id>`, relative to the store's prefix (what the export and dump keys take). */
  keyPrefix: string;
  /** `<prefix>/<cluster>/<namespace>/<backup id>/`: the full key of the folder. */
  folderKey: string;
  /** `s3://bucket/<folderKey>`: recorded on the snapshots. */
  location: string;
}

/** Stores how the run ended in its folder (lib/resources/outcome.ts), so `latest` can skip failed runs. */
export type WriteOutcome = (folder: BackupFolder, outcome: BackupOutcome) => Promise<void>;

/** A dump stored in the backup's S3 folder: the manifest lists it so restore-db can find and verify it. */
export interface StoredDump extends StoredDumpRecord {
  /** `s3://bucket/key`. */
  location: string;
}

/**
 * The resource export of the namespace to S3 (the restore issue), under `keyPrefix` (relative to the store's
 * prefix: `<cluster>/<namespace>/<backup id>`); returns the `s3://` location.
 */
export type ExportResources = (input: {
  namespace: string;
  backupId: string;
  keyPrefix: string;
  /** Dumps already stored in the folder, listed in the manifest. */
  dumps?: Omit<StoredDump, 'location'>[];
  /** Volume data stored in the namespace's restic repository, listed in the manifest. */
  volumes?: VolumeRecord[];
  signal?: AbortSignal;
}) => Promise<{ location: string; unreadable: string[] }>;
