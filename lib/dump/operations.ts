// The database steps of a backup and of restore-db: check, dump to a file in the container, stream a dump to
// S3, restore. Each takes a DumpContext whose `exec` is podExec(kube) in a cluster and localExec() in tests.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { createEncryptStream } from '../resources/crypto.js';
import type { EncryptionKey } from '../resources/crypto.js';
import type { S3Store } from '../s3/store.js';
import { fileNameClashes } from './argv.js';
import { DumpError, scriptFailure } from './errors.js';
import { runReportingScript, runStreamingScript } from './run.js';
import { DEFAULT_DISK_THRESHOLD_PERCENT } from './types.js';
import type { DumpContext, DumpFile } from './types.js';

export interface DumpDirOptions {
  /** Absolute directory inside the container (on the PVC that is snapshotted). */
  dumpDir: string;
  /** Fail when the disk of dumpDir is this many percent used or more (default 90). */
  thresholdPercent?: number;
}

export interface CheckResult {
  /** Tool name and the first line of its --version, e.g. { tool: 'pg_dump', version: 'pg_dump (PostgreSQL) 15.20' }. */
  versions: { tool: string; version: string }[];
  diskUsedPercent: number;
}

/**
 * Before anything is written: the dump tool, the client and gzip exist, the server answers SELECT 1 (as the
 * configured user, in the first database), the dump directory exists or can be created and is writable, and
 * its disk is under the threshold.
 */
export async function checkDatabase(
  ctx: DumpContext,
  options: DumpDirOptions & { databases?: string[] },
): Promise<CheckResult> {
  const report = await runReportingScript(
    ctx,
    'check',
    {
      dumpDir: options.dumpDir,
      thresholdPercent: options.thresholdPercent ?? DEFAULT_DISK_THRESHOLD_PERCENT,
      args: options.databases?.length ? [options.databases[0]] : [],
    },
    'server',
  );
  return { versions: report.versions, diskUsedPercent: report.disk?.usedPercent ?? NaN };
}

export interface DumpResult {
  files: DumpFile[];
  durationMs: number;
  diskUsedPercent: number;
}

/**
 * Dumps into the dump directory: PostgreSQL one `<database>.sql.gz` per database (plain SQL, --clean
 * --if-exists; no databases = every connectable non-template database); MySQL/MariaDB one file with
 * --single-transaction --routines --triggers --events (`databases.sql.gz` for a list, `all-databases.sql.gz`
 * without). Each file is written to a temporary name, verified (gzip -t, not empty) and only then renamed over
 * the previous dump, so a failed dump leaves the last good one as it was.
 */
export async function dumpDatabase(
  ctx: DumpContext,
  options: DumpDirOptions & { databases?: string[] },
): Promise<DumpResult> {
  const databases = options.databases ?? [];
  if (ctx.db.kind === 'postgres') {
    const clashes = fileNameClashes(databases);
    if (clashes.length) {
      throw new DumpError(
        `databases ${clashes.map((c) => c.map((d) => JSON.stringify(d)).join(' and ')).join('; ')} would share one dump file`,
        'arguments',
      );
    }
  }
  const started = performance.now();
  const report = await runReportingScript(
    ctx,
    'dump',
    {
      dumpDir: options.dumpDir,
      thresholdPercent: options.thresholdPercent ?? DEFAULT_DISK_THRESHOLD_PERCENT,
      args: databases,
    },
    'dump',
  );
  if (report.files.length === 0) throw new DumpError('the dump reported no file', 'verify');
  return {
    files: report.files,
    durationMs: Math.round(performance.now() - started),
    diskUsedPercent: report.disk?.usedPercent ?? NaN,
  };
}

export interface StreamedDump {
  key: string;
  sizeBytes: number;
  sha256: string;
  durationMs: number;
}

/**
 * Streams a gzip dump from the container straight into a multipart upload (nothing is written in the
 * container): exec stdout → size and SHA-256 → S3, with backpressure end to end, so memory stays flat whatever
 * the size. PostgreSQL: exactly one database; MySQL: the listed databases in one stream, or all.
 * When the dump fails after bytes were sent, the upload is aborted and any object at `key` removed: an object
 * at `key` always is a complete dump.
 */
export async function streamDumpToS3(
  ctx: DumpContext,
  options: { store: S3Store; key: string; databases?: string[]; encryptionKey?: EncryptionKey },
): Promise<StreamedDump> {
  const databases = options.databases ?? [];
  if (ctx.db.kind === 'postgres' && databases.length !== 1) {
    throw new DumpError('stream one PostgreSQL database at a time', 'arguments');
  }
  const started = performance.now();
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  // An upload that fails must stop the exec, which would otherwise wait for a reader forever.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  ctx.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // An object already at the key (a retry of the same backup) is not ours to remove when this attempt fails.
  const existedBefore = await options.store.exists(options.key);
  let streaming = true;
  let uploadFailedFirst = false;
  // With a key the dump is encrypted on the way (gzip, then AES-256-GCM segments); size and SHA-256 are of the bytes
  // as stored, which is what the manifest records and a restore verifies.
  const head: Transform = options.encryptionKey ? createEncryptStream(options.encryptionKey) : meter;
  if (head !== meter) head.pipe(meter);
  const uploaded = options.store.upload(options.key, meter, 'application/gzip').then(
    () => undefined,
    (e: unknown) => {
      if (streaming) {
        uploadFailedFirst = true;
        stop.abort();
      }
      return e instanceof Error ? e : new Error(String(e));
    },
  );
  const uploadFailure = (e: Error) =>
    new DumpError(`upload of the dump to ${options.store.url(options.key)} failed: ${e.message}`, 'upload');
  try {
    let failure: Error | undefined;
    try {
      const result = await runStreamingScript(
        ctx,
        'stream',
        { args: databases },
        { stdout: head, signal: stop.signal },
        'dump',
      );
      if (result.exitCode !== 0) failure = scriptFailure('stream', result, 'dump');
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
    }
    streaming = false;
    if (!failure) {
      head.end();
      const uploadError = await uploaded;
      if (!uploadError) {
        return {
          key: options.key,
          sizeBytes: size,
          sha256: hash.digest('hex'),
          durationMs: Math.round(performance.now() - started),
        };
      }
      failure = uploadFailure(uploadError);
    } else {
      // Never end() the stream of a failed dump: the upload is aborted, no object is completed.
      if (head !== meter) head.destroy();
      meter.destroy(new Error('the dump failed'));
      const uploadError = await uploaded;
      // The exec was stopped because the upload failed: that is the cause to report.
      if (uploadError && uploadFailedFirst) failure = uploadFailure(uploadError);
    }
    if (!existedBefore) await removeObject(options.store, options.key);
    throw failure;
  } finally {
    ctx.signal?.removeEventListener('abort', onOuterAbort);
  }
}

// Multipart parts are aborted by lib-storage; this removes an object completed by a race or an earlier run.
async function removeObject(store: S3Store, key: string): Promise<void> {
  await store.client
    .send(new DeleteObjectCommand({ Bucket: store.location.bucket, Key: key }))
    .catch(() => undefined);
}

/**
 * Feeds a gzip dump into psql (single transaction, stop on the first error) or the mysql client, in the
 * container: from a file there (`{ path }`), or streamed over stdin (`{ stream }`, e.g. from S3; needs a server
 * with the v5 exec protocol). PostgreSQL needs the target database; for MySQL it is optional (the dumps name
 * their databases).
 */
export async function restoreDump(
  ctx: DumpContext,
  options: { source: { path: string } | { stream: Readable }; database?: string },
): Promise<{ durationMs: number }> {
  const started = performance.now();
  const fromStream = 'stream' in options.source;
  const result = await runStreamingScript(
    ctx,
    'restore',
    { args: [fromStream ? '-' : (options.source as { path: string }).path, options.database ?? ''] },
    { stdin: fromStream ? (options.source as { stream: Readable }).stream : undefined },
    'restore',
  );
  if (result.exitCode !== 0) throw scriptFailure('restore', result, 'restore');
  return { durationMs: Math.round(performance.now() - started) };
}
