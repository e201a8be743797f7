// Dumps to S3, streamed from the container: exec stdout → size and SHA-256 → (encryption) → multipart upload, with
// backpressure end to end, so memory stays flat whatever the size. Two sources share the machinery:
// - uploadDumpFile: the verified dump file the backup just wrote (`cat` over exec), so the S3 copy is byte for
//   byte the dump the volume snapshot holds, and the database is dumped once per run;
// - streamDumpToS3: a fresh dump that is never written in the container (`stream`; the benchmark measures it).
import { createEncryptStream } from '../crypto/index.js';
import { createMeterStream, type FileDigest } from '../crypto/index.js';
import type { EncryptionKey } from '../crypto/index.js';
import type { S3Store } from '../s3/store.js';
import { commandArgv, type ScriptAction } from './argv.js';
import { DumpError, scriptFailure } from './errors.js';
import { runStreamingScript } from './run.js';
import type { ScriptOptions } from './run.js';
import type { DumpContext, DumpFile } from './types.js';

export interface UploadOptions {
  store: S3Store;
  /** Use a key unique to the backup run: an object at `key` always is a complete dump. */
  key: string;
  /** Encrypt on the way (gzip stays inside, AES-256-GCM segments around it). */
  encryptionKey?: EncryptionKey;
  /** Told the size of every chunk read from the container (progress reports). */
  onBytes?: (bytes: number) => void;
}

export interface StreamedDump {
  key: string;
  /** Size and SHA-256 of the bytes as stored (after encryption, if any): what the manifest records. */
  sizeBytes: number;
  sha256: string;
  durationMs: number;
}

/**
 * Streams a gzip dump from the container straight into a multipart upload (nothing is written in the
 * container). PostgreSQL: exactly one database; MySQL: the listed databases in one stream, or all.
 * When the dump fails after bytes were sent, the upload is aborted and any object at `key` removed.
 */
export async function streamDumpToS3(
  ctx: DumpContext,
  options: UploadOptions & { databases?: string[] },
): Promise<StreamedDump> {
  const databases = options.databases ?? [];
  if (ctx.db.kind === 'postgres' && databases.length !== 1) {
    throw new DumpError('stream one PostgreSQL database at a time', 'arguments');
  }
  const args = ctx.db.kind === 'command' ? commandArgv(ctx.db) : databases;
  const { stored, durationMs } = await uploadScriptOutput(ctx, 'stream', { args }, options);
  return { key: options.key, sizeBytes: stored.size, sha256: stored.sha256, durationMs };
}

/**
 * Uploads a dump file that dumpDatabase wrote and verified, read in the container with `cat` over exec. The bytes
 * read must be the file dumpDatabase reported (size, and SHA-256 when it had one): a file replaced meanwhile (an
 * overlapping run) fails with step `verify` and leaves no object behind.
 */
export async function uploadDumpFile(
  ctx: DumpContext,
  options: UploadOptions & { file: DumpFile; dumpDir: string },
): Promise<StreamedDump> {
  const { file } = options;
  const { stored, durationMs } = await uploadScriptOutput(
    ctx,
    'cat',
    { dumpDir: options.dumpDir, args: [file.path] },
    options,
    (read) =>
      read.size === file.sizeBytes && (!file.sha256 || read.sha256 === file.sha256)
        ? undefined
        : new DumpError(
            `the dump file ${file.path} changed after it was verified (read ${read.size} bytes, SHA-256 ` +
              `${read.sha256}; dumped ${file.sizeBytes} bytes, SHA-256 ${file.sha256 ?? 'unknown'}): ` +
              'another backup of this database may have run meanwhile',
            'verify',
          ),
  );
  return { key: options.key, sizeBytes: stored.size, sha256: stored.sha256, durationMs };
}

/** 1 MiB of a dump in flight between the exec and the upload: few, large writes. */
const meter = (onBytes?: (bytes: number) => void) =>
  createMeterStream({ highWaterMark: 1024 * 1024, onBytes });

/**
 * The script action's stdout into the upload: `read` is what came out of the container, `stored` what went into
 * the object. `accept` may refuse what was read (the object is then removed). Any failure leaves no object at
 * `key` that was not there before.
 */
async function uploadScriptOutput(
  ctx: DumpContext,
  action: ScriptAction,
  script: ScriptOptions,
  options: UploadOptions,
  accept: (read: FileDigest) => Error | undefined = () => undefined,
): Promise<{ read: FileDigest; stored: FileDigest; durationMs: number }> {
  const started = performance.now();
  const readMeter = meter(options.onBytes);
  const storedMeter = options.encryptionKey ? meter() : readMeter;
  // An upload that fails must stop the exec, which would otherwise wait for a reader forever.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  ctx.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // An object already at the key (a retry of the same backup) is not ours to remove when this attempt fails.
  const existedBefore = await options.store.exists(options.key);
  let streaming = true;
  let uploadFailedFirst = false;
  const head = readMeter;
  if (options.encryptionKey) head.pipe(createEncryptStream(options.encryptionKey)).pipe(storedMeter);
  const uploaded = options.store.upload(options.key, storedMeter, 'application/gzip').then(
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
        action,
        script,
        { stdout: head, signal: stop.signal },
        'dump',
      );
      if (result.exitCode !== 0) failure = scriptFailure(action, result, 'dump');
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
    }
    streaming = false;
    if (!failure) {
      head.end();
      const uploadError = await uploaded;
      if (!uploadError) {
        const read = readMeter.digest();
        failure = accept(read);
        if (!failure) {
          return { read, stored: storedMeter.digest(), durationMs: Math.round(performance.now() - started) };
        }
      } else {
        failure = uploadFailure(uploadError);
      }
    } else {
      // Never end() the stream of a failed dump: the upload is aborted, no object is completed.
      if (storedMeter !== readMeter) head.destroy();
      storedMeter.destroy(new Error('the dump failed'));
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

// Multipart parts are aborted by the writer; this removes an object completed by a race, an earlier run, or one
// whose bytes were refused.
async function removeObject(store: S3Store, key: string): Promise<void> {
  await store
    .connect()
    .then(({ client, sdk }) =>
      client.send(new sdk.DeleteObjectCommand({ Bucket: store.location.bucket, Key: key })),
    )
    .catch(() => undefined);
}
