// Where a restore reads its objects from: a backup folder in S3 (verified against its manifest before anything
// is used) or an export folder. Both give PathedObjects: the canonical object and its API path in the backup.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { JobError } from '../exit.js';
import {
  ArchiveError,
  MANIFEST_FILE,
  ManifestError,
  assertFileMatches,
  parseManifest,
  readExportDir,
  readResourceArchive,
  type BackupManifest,
  type KubeObject,
  type PathedObject,
} from '../resources/index.js';
import { DecryptionError, createMeterStream, type EncryptionKey, type FileDigest } from '../crypto/index.js';
import type { S3Store } from '../s3/index.js';
import { findLatestSucceededBackup, outcomeWarning } from '../export/index.js';
import { readOutcome, type BackupOutcome } from '../resources/outcome.js';

export interface BackupRef {
  cluster: string;
  namespace: string;
  /** A backup id or `latest`. */
  backupId: string;
}

/** The S3 folder of a backup, ending in `/`. */
export function backupFolder(store: S3Store, cluster: string, namespace: string, backupId: string): string {
  return `${store.key(cluster, namespace, backupId)}/`;
}

/** A backup named by id or `latest`, with how its run ended. */
export interface ResolvedBackup {
  backupId: string;
  /** The run's outcome: `missing` when it recorded none (it did not finish, or an older nsbackup made it). */
  outcome: 'succeeded' | 'failed' | 'missing';
  /** Said to the user: a named backup whose run did not succeed is used, but may be incomplete. */
  warnings: string[];
}

/**
 * `latest` is the newest backup whose run succeeded (lib/export/latest.ts). A backup named by id is used whatever
 * its outcome, since the user chose it and the manifest's checksums still protect its files, but a failed or
 * missing outcome is a warning.
 */
export async function resolveBackup(store: S3Store, ref: BackupRef): Promise<ResolvedBackup> {
  if (ref.backupId === 'latest') {
    const { backupId } = await findLatestSucceededBackup(store, ref.cluster, ref.namespace);
    return { backupId, outcome: 'succeeded', warnings: [] };
  }
  let outcome: BackupOutcome | undefined;
  try {
    outcome = await readOutcome(store, backupFolder(store, ref.cluster, ref.namespace, ref.backupId));
  } catch {
    // Unreadable: the same as none recorded.
  }
  const warning = outcomeWarning(ref.backupId, outcome);
  return {
    backupId: ref.backupId,
    outcome: outcome?.outcome ?? 'missing',
    warnings: warning ? [warning] : [],
  };
}

/** Reads and checks the manifest; a missing one means the backup does not exist or never finished. */
export async function readManifest(store: S3Store, folder: string): Promise<BackupManifest> {
  const key = folder + MANIFEST_FILE;
  let text: string;
  try {
    text = await store.downloadText(key);
  } catch (e: any) {
    if (e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404) {
      throw new JobError(`${store.url(key)} not found: no such backup, or it never finished`);
    }
    throw e;
  }
  try {
    return parseManifest(text);
  } catch (e) {
    throw new JobError(`${store.url(key)}: ${(e as Error).message}`);
  }
}

/** Refuses, before anything is read, a key that cannot open the backup (or its absence). */
export function checkKey(manifest: BackupManifest, key: EncryptionKey | undefined): string | undefined {
  if (manifest.encryption && !key) {
    throw new JobError(
      `backup ${manifest.backupId} is encrypted (key id ${manifest.encryption.keyId}); set NSBACKUP_ENCRYPTION_KEY`,
    );
  }
  if (manifest.encryption && key && key.id !== manifest.encryption.keyId) {
    throw new JobError(
      `wrong encryption key: backup ${manifest.backupId} was encrypted with key id ${manifest.encryption.keyId}, ` +
        `the key given has id ${key.id}`,
    );
  }
  if (!manifest.encryption && key) return `backup ${manifest.backupId} is not encrypted; the key is not used`;
  return undefined;
}

/**
 * Downloads one file of the backup to a temporary file, measuring size and SHA-256 on the way, and checks them
 * against the manifest. Memory stays at a few chunks whatever the size. The caller removes `dir`.
 */
export async function downloadVerified(
  store: S3Store,
  folder: string,
  manifest: BackupManifest,
  name: string,
  dir: string,
): Promise<{ file: string; digest: FileDigest }> {
  if (!manifest.files.some((f) => f.name === name)) throw new JobError(`${name} is not in the manifest`);
  const file = join(dir, name);
  const meter = createMeterStream();
  await pipeline(await store.download(folder + name), meter, createWriteStream(file));
  const digest = meter.digest();
  try {
    assertFileMatches(manifest, name, digest);
  } catch (e) {
    throw new JobError(
      `backup ${manifest.backupId} is damaged, nothing was restored: ${(e as ManifestError).message}`,
    );
  }
  return { file, digest };
}

export interface LoadedBackup {
  backupId: string;
  manifest?: BackupManifest;
  /** How the run that wrote an S3 backup ended; undefined for an export folder. */
  outcome?: ResolvedBackup['outcome'];
  /** `s3://...` or the folder. */
  source: string;
  items: PathedObject[];
  warnings: string[];
}

/**
 * Reads a backup from S3: manifest, key check, resource archive downloaded and verified against the manifest,
 * then decrypted and parsed in full, all before the restore creates anything. Objects are paired with the
 * manifest's paths (archive order); a count or name mismatch is refused.
 */
export async function loadS3Backup(
  store: S3Store,
  ref: BackupRef,
  key: EncryptionKey | undefined,
): Promise<LoadedBackup> {
  const resolved = await resolveBackup(store, ref);
  const { backupId } = resolved;
  const folder = backupFolder(store, ref.cluster, ref.namespace, backupId);
  const manifest = await readManifest(store, folder);
  const warnings: string[] = [...resolved.warnings];
  const keyWarning = checkKey(manifest, key);
  if (keyWarning) warnings.push(keyWarning);
  const resources = manifest.files.find((f) => f.contents === 'resources');
  if (!resources) throw new JobError(`backup ${backupId}: the manifest lists no resource archive`);
  const dir = await mkdtemp(join(tmpdir(), 'nsbackup-restore-'));
  try {
    const { file } = await downloadVerified(store, folder, manifest, resources.name, dir);
    const objects: KubeObject[] = [];
    try {
      for await (const obj of readResourceArchive(createReadStream(file), {
        encryptionKey: manifest.encryption ? key : undefined,
      })) {
        objects.push(obj);
      }
    } catch (e) {
      if (e instanceof DecryptionError || e instanceof ArchiveError) {
        throw new JobError(`backup ${backupId}: ${e.message}; nothing was restored`);
      }
      throw e;
    }
    if (objects.length !== manifest.paths.length) {
      throw new JobError(
        `backup ${backupId}: the archive holds ${objects.length} objects, the manifest lists ${manifest.paths.length}`,
      );
    }
    const items = objects.map((object, i) => {
      const path = manifest.paths[i];
      if (!path.endsWith(`/${encodeURIComponent(object.metadata.name ?? '')}`)) {
        throw new JobError(
          `backup ${backupId}: object ${i + 1} (${object.metadata.name}) does not match ${path}`,
        );
      }
      return { path, object };
    });
    return { backupId, manifest, outcome: resolved.outcome, source: store.url(folder), items, warnings };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The restored-from label of a restore from a folder: the folder's name, made a valid label value. */
export function labelValueForDir(dir: string): string {
  const cleaned = basename(resolve(dir))
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63)
    .replace(/[^A-Za-z0-9]+$/, '');
  return cleaned || 'export-dir';
}

/** Reads an export folder; `pathOf` gives each object's API path (discovery of the target cluster). */
export async function loadDirBackup(
  dir: string,
  pathOf: (obj: KubeObject, all: KubeObject[]) => Promise<string>,
): Promise<LoadedBackup> {
  let objects: KubeObject[];
  try {
    objects = await readExportDir(dir);
  } catch (e) {
    throw new JobError(`cannot read the export folder ${dir}: ${(e as Error).message}`);
  }
  if (!objects.length) throw new JobError(`the folder ${dir} holds no YAML objects`);
  const items: PathedObject[] = [];
  const seen = new Set<string>();
  for (const object of objects) {
    const path = await pathOf(object, objects);
    if (seen.has(path)) throw new JobError(`the folder ${dir} holds ${path} twice`);
    seen.add(path);
    items.push({ path, object });
  }
  return { backupId: labelValueForDir(dir), source: resolve(dir), items, warnings: [] };
}
