import type { ResourceArchiveSummary } from './archive.js';
import type { FileDigest } from '../crypto/index.js';
import type { ManifestEncryption } from './backup-files.js';

export const MANIFEST_FORMAT_VERSION = 1;

export interface ManifestFile extends FileDigest {
  name: string;
  /** `resources`, `dump`, or `globals` (PostgreSQL's roles, memberships and tablespaces, restored first). */
  contents: 'resources' | 'dump' | 'globals';
  /** For dumps: the database. */
  database?: string;
}

/** A dump as uploaded to the backup folder, before the manifest lists it. */
export interface StoredDumpRecord {
  database: string;
  /** File name in the backup folder. */
  name: string;
  /** Size and SHA-256 of the bytes as stored (after encryption, if any). */
  size: number;
  sha256: string;
  /** The PostgreSQL globals (roles, memberships, tablespaces), not a database. */
  globals?: true;
}

export interface BackupManifest {
  formatVersion: number;
  cluster: string;
  namespace: string;
  backupId: string;
  /** When the backup started, RFC 3339. */
  startedAt: string;
  /** When the manifest was written, RFC 3339. */
  completedAt: string;
  /** resourceVersion of each list the export read, by `Kind.group`. */
  listResourceVersions: Record<string, string>;
  /** Number of exported objects by `Kind.group` (`ConfigMap`, `Deployment.apps`). */
  counts: Record<string, number>;
  objectCount: number;
  /** API path of every exported object, in archive order. */
  paths: string[];
  files: ManifestFile[];
  /** `null` when the files are not encrypted. */
  encryption: ManifestEncryption | null;
  /**
   * Resource types (and cluster-scoped dependencies) this backup does not hold, with the reason: excluded by
   * configuration, or not readable (forbidden, gone). A restore reports them; the backup failed if any was unreadable.
   */
  notExported?: { what: string; reason: string }[];
  /**
   * Volume data copied to the namespace's restic repository by this backup (NSBACKUP_PVC_DATA): per PVC the
   * restic snapshot (tagged with namespace, PVC and backup id), files, bytes added and duration.
   */
  volumes?: ManifestVolume[];
}

/** One volume's copy in the restic repository (lib/volumes), as the manifest and the outcome record it. */
export interface ManifestVolume {
  pvc: string;
  /**
   * How the files were read: `snapshot`, from a clone of the run's VolumeSnapshot (point in time); `direct`, from
   * the live claim mounted read-only (files may have changed while they were read). Absent (manifests before it):
   * snapshot.
   */
  copyMethod?: VolumeCopyMethod;
  /** The VolumeSnapshot it was read from (copyMethod snapshot). */
  volumeSnapshot?: string;
  /** `s3://bucket/key/` of the repository. */
  repository: string;
  resticSnapshotId: string;
  files: number;
  bytesProcessed: number;
  bytesAdded: number;
  durationSeconds: number;
}

export type VolumeCopyMethod = 'snapshot' | 'direct';

/** A volume entry's copy method; manifests written before the field existed copied from snapshots only. */
export const copyMethodOf = (volume: Pick<ManifestVolume, 'copyMethod'>): VolumeCopyMethod =>
  volume.copyMethod ?? 'snapshot';

export class ManifestError extends Error {
  constructor(message: string) {
    super(`manifest: ${message}`);
    this.name = 'ManifestError';
  }
}

/**
 * Builds the manifest from the archive writer's summary and the dumps' digests. `completedAt` defaults
 * to now; call it after every other file is stored, and store the manifest last.
 */
export function buildManifest(input: {
  cluster: string;
  namespace: string;
  backupId: string;
  startedAt: Date | string;
  completedAt?: Date | string;
  listResourceVersions: Record<string, string>;
  resources: ResourceArchiveSummary;
  dumps?: StoredDumpRecord[];
  notExported?: { what: string; reason: string }[];
  volumes?: ManifestVolume[];
}): BackupManifest {
  const time = (value: Date | string) =>
    (typeof value === 'string' ? new Date(value) : value).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const { resources } = input;
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    cluster: input.cluster,
    namespace: input.namespace,
    backupId: input.backupId,
    startedAt: time(input.startedAt),
    completedAt: time(input.completedAt ?? new Date()),
    listResourceVersions: input.listResourceVersions,
    counts: resources.counts,
    objectCount: resources.objectCount,
    paths: resources.paths,
    files: [
      { name: resources.fileName, contents: 'resources', size: resources.size, sha256: resources.sha256 },
      ...(input.dumps ?? []).map((dump) =>
        dump.globals
          ? { name: dump.name, contents: 'globals' as const, size: dump.size, sha256: dump.sha256 }
          : {
              name: dump.name,
              contents: 'dump' as const,
              database: dump.database,
              size: dump.size,
              sha256: dump.sha256,
            },
      ),
    ],
    encryption: resources.encryption,
    ...(input.notExported?.length ? { notExported: input.notExported } : {}),
    ...(input.volumes?.length ? { volumes: input.volumes } : {}),
  };
}

/** The manifest as stored: pretty JSON, stable key order as declared in {@link BackupManifest}. */
export function serializeManifest(manifest: BackupManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isCountMap = (value: unknown): value is Record<string, number> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((n) => Number.isInteger(n) && n >= 0);

/** Parses and checks a stored manifest; refuses a format newer than this nsbackup knows. */
export function parseManifest(text: string): BackupManifest {
  let raw: any;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`not JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) throw new ManifestError('not an object');
  if (!Number.isInteger(raw.formatVersion)) throw new ManifestError('formatVersion missing');
  if (raw.formatVersion > MANIFEST_FORMAT_VERSION) {
    throw new ManifestError(
      `format version ${raw.formatVersion} is newer than this nsbackup understands (${MANIFEST_FORMAT_VERSION}); upgrade nsbackup`,
    );
  }
  for (const field of ['cluster', 'namespace', 'backupId', 'startedAt', 'completedAt']) {
    if (!isString(raw[field]) || !raw[field]) throw new ManifestError(`${field} missing`);
  }
  if (!isCountMap(raw.counts)) throw new ManifestError('counts must map kinds to counts');
  if (!Array.isArray(raw.paths) || !raw.paths.every(isString))
    throw new ManifestError('paths must be a list');
  if (raw.objectCount !== raw.paths.length) throw new ManifestError('objectCount does not match paths');
  if (typeof raw.listResourceVersions !== 'object' || raw.listResourceVersions === null) {
    throw new ManifestError('listResourceVersions missing');
  }
  if (!Array.isArray(raw.files)) throw new ManifestError('files must be a list');
  raw.files.forEach((file: any, index: number) => {
    if (!isString(file?.name) || !file.name || file.name.includes('/'))
      throw new ManifestError(`files[${index}].name`);
    if (!Number.isInteger(file.size) || file.size < 0) throw new ManifestError(`files[${index}].size`);
    if (!isString(file.sha256) || !/^[0-9a-f]{64}$/.test(file.sha256))
      throw new ManifestError(`files[${index}].sha256`);
  });
  if (raw.encryption !== null) {
    const enc = raw.encryption;
    if (!isString(enc?.algorithm) || !isString(enc.keyId) || !Number.isInteger(enc.segmentSize)) {
      throw new ManifestError('encryption must be null or { algorithm, keyId, segmentSize }');
    }
  }
  return raw as BackupManifest;
}

/** One file as found in storage. `size`/`sha256` may be missing when only listed, not read. */
export interface StoredFile {
  name: string;
  size?: number;
  sha256?: string;
}

export interface ManifestCheck {
  ok: boolean;
  /** One line per problem: a missing file, a size or checksum mismatch. */
  problems: string[];
}

/**
 * The restore's pre-check: every file the manifest lists must be present with the recorded size and
 * SHA-256. Files in the folder that the manifest does not list are ignored. A restore must stop when
 * `ok` is false, before it creates anything.
 */
export function verifyManifest(manifest: BackupManifest, files: StoredFile[]): ManifestCheck {
  const found = new Map(files.map((file) => [file.name, file]));
  const problems: string[] = [];
  for (const expected of manifest.files) {
    const actual = found.get(expected.name);
    if (!actual) {
      problems.push(`${expected.name}: missing`);
      continue;
    }
    if (actual.size !== undefined && actual.size !== expected.size) {
      problems.push(`${expected.name}: size ${actual.size} bytes, manifest says ${expected.size}`);
    }
    if (actual.sha256 === undefined) problems.push(`${expected.name}: checksum not computed`);
    else if (actual.sha256 !== expected.sha256) {
      problems.push(`${expected.name}: SHA-256 ${actual.sha256}, manifest says ${expected.sha256}`);
    }
  }
  return { ok: problems.length === 0, problems };
}

/** Checks one file as it is read (e.g. while downloading); throws on a mismatch. */
export function assertFileMatches(manifest: BackupManifest, name: string, digest: FileDigest): void {
  const check = verifyManifest({ ...manifest, files: manifest.files.filter((file) => file.name === name) }, [
    { name, ...digest },
  ]);
  if (!manifest.files.some((file) => file.name === name))
    throw new ManifestError(`${name} is not in the manifest`);
  if (!check.ok) throw new ManifestError(check.problems.join('; '));
}
