import { once } from 'node:events';
import { Readable, pipeline, type Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';
import {
  DEFAULT_SEGMENT_SIZE,
  DecryptionError,
  ENCRYPTION_ALGORITHM,
  createDecryptStream,
  createEncryptStream,
  looksEncrypted,
  parseEncryptionHeader,
  type EncryptionKey,
} from '../crypto/index.js';
import { createMeterStream } from '../crypto/index.js';
import { resourcesFileName, type ManifestEncryption } from './backup-files.js';
import { guessApiPathOf, type PathOf } from './resource-info.js';
import { assertKubeObject, kindKeyOf, type KubeObject } from './types.js';

/**
 * The resource archive (`resources.ndjson.gz`, `.enc` when encrypted): canonical objects as JSON, one
 * object per line (NDJSON; keys in canonical order), gzip-compressed, then optionally encrypted
 * (see crypto.ts). Written and read as streams: neither side holds more than a few segments of it.
 *
 * JSON rather than YAML because an export must keep up with `kubectl get -o json`: the YAML library
 * takes ~0.2-0.5 ms per object each way, JSON ~5 us, and the archive is read by machines. `zcat | jq`
 * shows it; `nsbackup export --dir` writes the same canonical objects as YAML for people.
 */
export interface ResourceArchiveSummary {
  fileName: string;
  /** Size of the stored bytes (after gzip and encryption). */
  size: number;
  /** SHA-256 (hex) of the stored bytes. */
  sha256: string;
  objectCount: number;
  /** By `Kind.group`. */
  counts: Record<string, number>;
  /** API path of every object, in archive order. */
  paths: string[];
  encryption: ManifestEncryption | null;
}

export interface ResourceArchiveWriter {
  /** The bytes to store: pipe them into the upload. The writer waits for this side to be read. */
  readonly stored: Readable;
  readonly fileName: string;
  /** Appends one object (already canonical); resolves when the stream is ready for more. */
  add(obj: KubeObject, path?: string): Promise<void>;
  /** Ends the archive; resolves once all stored bytes have been read, with their size and SHA-256. */
  finish(): Promise<ResourceArchiveSummary>;
}

const BATCH_CHARS = 64 * 1024;

export interface ResourceArchiveWriterOptions {
  encryptionKey?: EncryptionKey;
  /** How to compute an object's API path when `add` is not given one. Default: {@link guessApiPathOf}. */
  pathOf?: PathOf;
  segmentSize?: number;
  gzipLevel?: number;
}

export function createResourceArchiveWriter(
  options: ResourceArchiveWriterOptions = {},
): ResourceArchiveWriter {
  const pathOf = options.pathOf ?? guessApiPathOf;
  const gzip = createGzip({ level: options.gzipLevel ?? zlibConstants.Z_DEFAULT_COMPRESSION });
  const meter = createMeterStream();
  const stages: Transform[] = [gzip];
  if (options.encryptionKey) {
    stages.push(createEncryptStream(options.encryptionKey, { segmentSize: options.segmentSize }));
  }
  let failure: Error | undefined;
  pipeline([...stages, meter], (error) => {
    if (error) failure = error;
  });
  const counts: Record<string, number> = {};
  const paths: string[] = [];
  const seen = new Set<string>();
  let finishing = false;
  let batch: string[] = [];
  let batchLength = 0;
  const flushBatch = async (): Promise<void> => {
    if (!batch.length) return;
    const text = batch.join('');
    batch = [];
    batchLength = 0;
    if (!gzip.write(text)) await once(gzip, 'drain');
  };

  return {
    stored: meter,
    fileName: resourcesFileName(Boolean(options.encryptionKey)),
    async add(obj, path) {
      if (finishing) throw new Error('resource archive: add() after finish()');
      if (failure) throw failure;
      assertKubeObject(obj);
      const objectPath = path ?? pathOf(obj);
      // Two documents for one path would make a restore create, then fail on, the same object.
      if (seen.has(objectPath)) throw new Error(`resource archive: ${objectPath} added twice`);
      seen.add(objectPath);
      paths.push(objectPath);
      const key = kindKeyOf(obj);
      counts[key] = (counts[key] ?? 0) + 1;
      batch.push(`${JSON.stringify(obj)}\n`);
      batchLength += batch[batch.length - 1].length;
      // Many small writes each cost a trip to zlib's thread pool; hand it ~64 KiB at a time.
      if (batchLength >= BATCH_CHARS) await flushBatch();
    },
    async finish() {
      finishing = true;
      if (failure) throw failure;
      await flushBatch();
      gzip.end();
      await finished(meter);
      if (failure) throw failure;
      const { size, sha256 } = meter.digest();
      return {
        fileName: resourcesFileName(Boolean(options.encryptionKey)),
        size,
        sha256,
        objectCount: paths.length,
        counts,
        paths,
        encryption: options.encryptionKey
          ? {
              algorithm: ENCRYPTION_ALGORITHM,
              keyId: options.encryptionKey.id,
              segmentSize: options.segmentSize ?? DEFAULT_SEGMENT_SIZE,
            }
          : null,
      };
    },
  };
}

/** The archive cannot be read: wrong or missing key, not an archive, cut short, or changed. */
export class ArchiveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`resource archive: ${message}`, options);
    this.name = 'ArchiveError';
  }
}

/** A stream of the stored bytes (a download, a file), or chunks in memory. */
export type ArchiveSource = Readable | AsyncIterable<Buffer | string> | Iterable<Buffer>;

/** Reads the first `n` bytes of a stream and gives them back with a stream of everything. */
async function peek(source: ArchiveSource, n: number): Promise<{ head: Buffer; all: Readable }> {
  const iterable: AsyncIterable<Buffer | string> =
    Symbol.asyncIterator in source ? source : Readable.from(source as Iterable<Buffer | string>);
  const iterator = iterable[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < n) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* all() {
    if (head.length) yield head;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  return { head, all: Readable.from(all(), { objectMode: false }) };
}

/**
 * Reads an archive made by {@link createResourceArchiveWriter}, one object at a time, in archive order
 * (the order of the manifest's `paths`). Fails with a {@link DecryptionError} or {@link ArchiveError} on a
 * wrong or missing key, on bytes that are not an archive, on a cut, or on changed bytes (encrypted
 * archives detect any change; plain ones rely on gzip's CRC and the manifest's SHA-256).
 * Objects before the damage may already have been yielded: verify the manifest first.
 */
export async function* readResourceArchive(
  source: ArchiveSource,
  options: { encryptionKey?: EncryptionKey } = {},
): AsyncGenerator<KubeObject> {
  const { head, all } = await peek(source, 28);
  try {
    yield* readObjects(head, all, options.encryptionKey);
  } finally {
    // Stops the download too when the reader gives up early or fails.
    all.destroy();
  }
}

async function* readObjects(
  head: Buffer,
  all: Readable,
  key: EncryptionKey | undefined,
): AsyncGenerator<KubeObject> {
  if (head.length === 0) throw new ArchiveError('empty file');
  const encrypted = looksEncrypted(head);
  if (encrypted && !key) {
    const { keyId } = parseEncryptionHeader(head);
    throw new DecryptionError('wrong-key', `the archive is encrypted with key ${keyId}; no key was given`);
  }
  if (!encrypted && key) {
    throw new DecryptionError('not-encrypted', 'a key was given, but the archive is not encrypted');
  }
  const gunzip = createGunzip();
  const stages: (Readable | Transform)[] = [all];
  if (encrypted) stages.push(createDecryptStream(key!));
  stages.push(gunzip);
  pipeline(stages as [Readable, ...Transform[]], () => {
    // Errors reach the reader through the last stream.
  });

  const decoder = new StringDecoder('utf8');
  let carry = '';
  let line = 0;
  const parseLine = (text: string): KubeObject => {
    line++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ArchiveError(`line ${line}: ${(error as Error).message}`);
    }
    try {
      assertKubeObject(value, `line ${line}`);
    } catch (error) {
      throw new ArchiveError((error as Error).message);
    }
    return value;
  };
  try {
    for await (const chunk of gunzip) {
      const lines = (carry + decoder.write(chunk)).split('\n');
      carry = lines.pop()!;
      const ready = lines.map(parseLine);
      yield* ready;
    }
    const rest = carry + decoder.end();
    // The writer ends every object with a newline: text after the last one means a cut.
    if (rest) throw new ArchiveError(`cut short: line ${line + 1} has no end`);
  } catch (error) {
    if (error instanceof ArchiveError || error instanceof DecryptionError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR')
      throw new ArchiveError('cut short (gzip stream ended early)', { cause: error });
    if (code === 'Z_DATA_ERROR')
      throw new ArchiveError(`not a valid gzip archive (${(error as Error).message})`, { cause: error });
    throw error;
  } finally {
    gunzip.destroy();
  }
}
