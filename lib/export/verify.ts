// `nsbackup verify`, the integrity level: every file of a backup read back from S3 and checked against its manifest
// (size and SHA-256 as stored), then decrypted (each segment's authentication tag) and decompressed to the end, so
// a truncated, altered or undecryptable file is found tonight, not on the day of the restore. The result is stored
// beside the outcome as verification.json, which `nsbackup backups` shows.
import { createGunzip } from 'node:zlib';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream, createMeterStream, type EncryptionKey } from '../crypto/index.js';
import type { BackupManifest } from '../resources/index.js';
import type { S3Store } from '../s3/index.js';
import type { AssertionResult } from '../verify/assertions.js';
import type { DumpLoad } from '../verify/restore-check.js';

export const VERIFICATION_FILE = 'verification.json';

export interface FileVerification {
  name: string;
  ok: boolean;
  /** Bytes after decryption and decompression (what a restore reads). */
  contentBytes?: number;
  problem?: string;
}

/** The restorability level: the dumps loaded into a scratch server of the database's image, assertions run. */
export interface RestoreVerification {
  verifiedAt: string;
  ok: boolean;
  /** The database image the scratch server ran. */
  image?: string;
  loads: DumpLoad[];
  assertions: AssertionResult[];
  durationMs: number;
  problem?: string;
}

/** One PVC's volume data (the manifest's `volumes`): its restic snapshot found with the backup's tags. */
export interface VolumeSnapshotCheck {
  pvc: string;
  resticSnapshotId: string;
  ok: boolean;
  problem?: string;
}

/** The volume data of a backup that copied PVCs to the namespace's restic repository. */
export interface VolumesVerification {
  ok: boolean;
  /** `s3://bucket/key/` of the repository. */
  repository?: string;
  snapshots: VolumeSnapshotCheck[];
  /** `restic check --read-data-subset=N/M`: which slice of the repository's data was read, and whether it held. */
  check?: { subset: string; ok: boolean; problem?: string };
  durationMs: number;
  /** Why the volume data could not be checked at all (no restic password Secret, no repository). */
  problem?: string;
}

export interface Verification {
  formatVersion: 1;
  backupId: string;
  verifiedAt: string;
  /** Integrity (and, with level restore, the restore check) passed. */
  ok: boolean;
  /** Absent in records of versions that only had the integrity level. */
  level?: 'integrity' | 'restore';
  files: FileVerification[];
  /**
   * The last restore check, also kept by a later integrity-only run (its own verifiedAt says when it ran), so
   * `backups` keeps showing whether the backup was ever proven restorable.
   */
  restore?: RestoreVerification;
  /** The backup's volume data in the restic repository (only for backups whose manifest lists volumes). */
  volumes?: VolumesVerification;
}

/** Sees the decompressed content of a file on its way through the check (the restore level's dump scan). */
export type ContentInspector = (
  file: BackupManifest['files'][number],
) => ((chunk: Buffer) => void) | undefined;

/** Reads one stored file to its end: stored bytes metered, then decrypted and gunzipped into a counter. */
async function verifyFile(
  store: S3Store,
  folderKey: string,
  file: BackupManifest['files'][number],
  key: EncryptionKey | undefined,
  signal?: AbortSignal,
  inspect?: ContentInspector,
): Promise<FileVerification> {
  const meter = createMeterStream();
  let contentBytes = 0;
  const seen = inspect?.(file);
  const count = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      contentBytes += chunk.length;
      seen?.(chunk);
      callback();
    },
  });
  try {
    const stages = [await store.download(folderKey + file.name), meter];
    if (key) stages.push(createDecryptStream(key));
    await pipeline(
      [...stages, createGunzip(), count] as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream],
      {
        signal,
      },
    );
  } catch (error) {
    return { name: file.name, ok: false, problem: `unreadable: ${(error as Error).message}` };
  }
  const { size, sha256 } = meter.digest();
  if (size !== file.size)
    return { name: file.name, ok: false, problem: `${size} bytes stored, the manifest says ${file.size}` };
  if (sha256 !== file.sha256)
    return { name: file.name, ok: false, problem: `SHA-256 ${sha256}, the manifest says ${file.sha256}` };
  return { name: file.name, ok: true, contentBytes };
}

/** Every file of the backup in `folderKey`; `key` when the manifest says it is encrypted. */
export async function verifyBackupFiles(
  store: S3Store,
  folderKey: string,
  manifest: BackupManifest,
  key: EncryptionKey | undefined,
  now: () => Date = () => new Date(),
  signal?: AbortSignal,
  inspect?: ContentInspector,
): Promise<Verification> {
  const files: FileVerification[] = [];
  for (const file of manifest.files)
    files.push(await verifyFile(store, folderKey, file, key, signal, inspect));
  return {
    formatVersion: 1,
    backupId: manifest.backupId,
    verifiedAt: now().toISOString(),
    ok: files.every((f) => f.ok),
    level: 'integrity',
    files,
  };
}

export async function writeVerification(store: S3Store, folderKey: string, v: Verification): Promise<void> {
  await store.upload(folderKey + VERIFICATION_FILE, JSON.stringify(v, null, 2) + '\n', 'application/json');
}

/** The last verification of a backup, or undefined when it was never verified. */
export async function readVerification(store: S3Store, folderKey: string): Promise<Verification | undefined> {
  const key = folderKey + VERIFICATION_FILE;
  if (!(await store.exists(key))) return undefined;
  const parsed = JSON.parse(await store.downloadText(key)) as Partial<Verification>;
  if (parsed?.formatVersion !== 1 || typeof parsed.verifiedAt !== 'string' || typeof parsed.ok !== 'boolean')
    throw new Error(`${store.url(key)} is not a verification this version understands`);
  return parsed as Verification;
}
