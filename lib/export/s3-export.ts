// The export to S3: the namespace's canonical objects streamed through D's archive writer (gzip, optional
// encryption) into a multipart upload at <prefix>/<cluster>/<namespace>/<backup id>/, the manifest LAST. A
// folder without a manifest is an unfinished backup: `latest` never returns it (latest.ts). Whoever runs the export
// (the backup flow, `nsbackup export`) writes the run's outcome beside the manifest afterwards.

import type { Readable } from 'node:stream';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { S3Store } from '../s3/index.js';
import type { ManifestVolume, StoredDumpRecord } from '../resources/manifest.js';
import {
  MANIFEST_FILE,
  assertFileMatches,
  backupFolderKey,
  buildManifest,
  createResourceArchiveWriter,
  parseManifest,
  readResourceArchive,
  serializeManifest,
  type BackupManifest,
  type KubeObject,
} from '../resources/index.js';
import { createMeterStream, type EncryptionKey } from '../crypto/index.js';
import { collectNamespace, warnSkipped, type CollectStats } from './collect.js';
import { discover, type Discovery } from './discovery.js';

export interface ExportToS3Input {
  kube: KubeClient;
  store: S3Store;
  namespace: string;
  cluster: string;
  backupId: string;
  encryptionKey?: EncryptionKey;
  log: Logger;
  signal?: AbortSignal;
  /** Resource types listed at once (NSBACKUP_EXPORT_CONCURRENCY). Default 4. */
  concurrency?: number;
  /** PVs, StorageClasses and CRDs the namespace uses (NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES). Default true. */
  clusterDependencies?: boolean;
  /** Resource types left out on purpose (`plural` or `plural.group`). */
  exclude?: string[];
  /** Discovery already read (else it is read here); its gaps are recorded as not exported. */
  discovery?: Discovery;
  pageSize?: number;
  now?: () => Date;
  /** Files the backup already stored in the folder (database dumps), listed in the manifest with their digests. */
  dumps?: StoredDumpRecord[];
  /** Volume data the backup stored in the namespace's restic repository, listed in the manifest. */
  volumes?: ManifestVolume[];
}

export interface ExportToS3Result {
  /** `<prefix>/<cluster>/<namespace>/<backup id>/`. */
  folderKey: string;
  manifestKey: string;
  /** `s3://bucket/<folder>`. */
  location: string;
  objectCount: number;
  /** Stored size of the archive (after gzip and encryption). */
  bytes: number;
  manifest: BackupManifest;
  stats: CollectStats;
}

/** The S3 folder of a backup: `<prefix>/<cluster>/<namespace>/<backup id>/`. */
export function backupFolderOf(store: S3Store, cluster: string, namespace: string, backupId: string): string {
  return backupFolderKey(store.location.prefix, cluster, namespace, backupId);
}

export async function exportNamespaceToS3(input: ExportToS3Input): Promise<ExportToS3Result> {
  const { kube, store, namespace, log, signal } = input;
  const now = input.now ?? (() => new Date());
  const startedAt = now();
  const folderKey = backupFolderOf(store, input.cluster, namespace, input.backupId);
  const manifestKey = folderKey + MANIFEST_FILE;
  // A backup id names one backup: never replace a finished one.
  if (await store.exists(manifestKey)) throw new Error(`backup ${store.url(folderKey)} already exists`);

  const discovery = input.discovery ?? (await discover(kube));
  const { objects, stats } = collectNamespace({
    kube,
    namespace,
    resources: discovery.resources,
    discoveryGaps: discovery.unavailable,
    concurrency: input.concurrency,
    clusterDependencies: input.clusterDependencies,
    exclude: input.exclude,
    pageSize: input.pageSize,
    signal,
  });

  const writer = createResourceArchiveWriter({ encryptionKey: input.encryptionKey });
  const archiveKey = folderKey + writer.fileName;
  let uploadError: unknown;
  const uploaded = store.upload(archiveKey, writer.stored).catch((error: unknown) => {
    uploadError = error;
    // Fails the writer too: an add() waiting for the upload to read more rejects with this error.
    writer.stored.destroy(error as Error);
    throw error;
  });
  // Awaited below; this keeps an early failure from counting as unhandled meanwhile.
  uploaded.catch(() => undefined);

  const progress = log.progress('export', { unit: 'objects' });
  try {
    for await (const { path, object } of objects) {
      await writer.add(object, path);
      progress.add(1);
    }
    const summary = await writer.finish();
    await uploaded;
    signal?.throwIfAborted();
    const manifest = buildManifest({
      cluster: input.cluster,
      namespace,
      backupId: input.backupId,
      startedAt,
      completedAt: now(),
      listResourceVersions: stats.listResourceVersions,
      resources: summary,
      dumps: input.dumps,
      volumes: input.volumes,
      notExported: [
        ...stats.excludedTypes.map((what) => ({ what, reason: 'excluded by NSBACKUP_EXPORT_EXCLUDE' })),
        ...stats.skipped,
        ...stats.absent,
      ],
    });
    await store.upload(manifestKey, serializeManifest(manifest), 'application/json');
    warnSkipped(stats, log);
    log.info('resources exported', {
      location: store.url(folderKey),
      objects: summary.objectCount,
      bytes: summary.size,
      excluded: stats.excluded,
      encrypted: Boolean(input.encryptionKey),
    });
    return {
      folderKey,
      manifestKey,
      location: store.url(folderKey),
      objectCount: summary.objectCount,
      bytes: summary.size,
      manifest,
      stats,
    };
  } catch (error) {
    // Only an upload that failed first is the cause; stopping the upload below fails it too.
    const cause = uploadError;
    writer.stored.destroy();
    await uploaded.catch(() => undefined);
    throw cause && error !== cause
      ? new Error(`export upload failed: ${(cause as Error).message}`, { cause })
      : error;
  } finally {
    progress.done();
  }
}

/** Reads and checks a backup's manifest; a missing one means the backup does not exist or never finished. */
export async function readManifest(store: S3Store, folderKey: string): Promise<BackupManifest> {
  const key = folderKey + MANIFEST_FILE;
  const text = await store.downloadTextIfExists(key);
  if (text === undefined)
    throw new Error(`no finished backup at ${store.url(folderKey)} (${MANIFEST_FILE} missing)`);
  return parseManifest(text);
}

/**
 * Every object of a backup's resource archive, read in one streamed pass whose bytes are checked against
 * the manifest at the end (size and SHA-256): objects are handed out as they are read, and the generator
 * throws after the last one when the stored file does not match. Callers that act on objects before the
 * end (a restore) must verify first; `diff` only compares once everything is read.
 */
export async function* readBackupObjects(
  store: S3Store,
  folderKey: string,
  manifest: BackupManifest,
  encryptionKey?: EncryptionKey,
): AsyncGenerator<KubeObject> {
  const file = manifest.files.find((f) => f.contents === 'resources');
  if (!file) throw new Error(`the manifest of ${store.url(folderKey)} lists no resource archive`);
  const download = await store.download(folderKey + file.name);
  const meter = createMeterStream();
  const metered: Readable = download.pipe(meter);
  download.on('error', (error) => meter.destroy(error));
  // The reader ends only after the whole download went through the meter (gunzip ends with its input).
  yield* readResourceArchive(metered, { encryptionKey });
  assertFileMatches(manifest, file.name, meter.digest());
}
