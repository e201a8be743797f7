import { once } from 'node:events';
import { Readable, pipeline, type Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';
import { parse as yamlParse } from 'yaml';
import { toYaml, yamlParseOptions } from './canonical.js';
import {
  DEFAULT_SEGMENT_SIZE,
  DecryptionError,
  ENCRYPTION_ALGORITHM,
  createDecryptStream,
  createEncryptStream,
  looksEncrypted,
  parseEncryptionHeader,
  type EncryptionKey,
} from './crypto.js';
import { createMeterStream } from './digest.js';
import { resourcesFileName, type ManifestEncryption } from './manifest.js';
import { guessApiPathOf, type PathOf } from './resource-info.js';
import { assertKubeObject, kindKeyOf, type KubeObject } from './types.js';

/**
 * The resource archive (`resources.yaml.gz`, `.enc` when encrypted): canonical objects as YAML
 * documents, each preceded by a line `---` and nothing else, gzip-compressed, then optionally encrypted
 * (see crypto.ts). Written and read as streams: neither side holds more than a few segments of it.
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
      if (!gzip.write(`---\n${toYaml(obj)}`)) await once(gzip, 'drain');
    },
    async finish() {
      finishing = true;
      if (failure) throw failure;
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
  if (head.length === 0) throw new ArchiveError('empty file');
  const encrypted = looksEncrypted(head);
  if (encrypted && !options.encryptionKey) {
    const { keyId } = parseEncryptionHeader(head);
    throw new DecryptionError('wrong-key', `the archive is encrypted with key ${keyId}; no key was given`);
  }
  if (!encrypted && options.encryptionKey) {
    throw new DecryptionError('not-encrypted', 'a key was given, but the archive is not encrypted');
  }
  const gunzip = createGunzip();
  const stages: (Readable | Transform)[] = [all];
  if (encrypted) stages.push(createDecryptStream(options.encryptionKey!));
  stages.push(gunzip);
  pipeline(stages as [Readable, ...Transform[]], () => {
    // Errors reach the reader through the last stream.
  });

  const decoder = new StringDecoder('utf8');
  let carry = '';
  let doc: string[] | undefined;
  let index = 0;
  const parseDoc = (lines: string[]): KubeObject => {
    const where = `document ${index + 1}`;
    let value: unknown;
    try {
      value = yamlParse(lines.join('\n'), yamlParseOptions);
    } catch (error) {
      throw new ArchiveError(`${where}: ${(error as Error).message}`);
    }
    try {
      assertKubeObject(value, where);
    } catch (error) {
      throw new ArchiveError((error as Error).message);
    }
    index++;
    return value;
  };
  try {
    for await (const chunk of gunzip) {
      const lines = (carry + decoder.write(chunk)).split('\n');
      carry = lines.pop()!;
      const ready: KubeObject[] = [];
      for (const line of lines) {
        if (line === '---') {
          if (doc) ready.push(parseDoc(doc));
          doc = [];
        } else if (doc) doc.push(line);
        else if (line.trim()) throw new ArchiveError('content before the first document marker');
      }
      yield* ready;
    }
    const rest = carry + decoder.end();
    if (rest) {
      if (!doc) throw new ArchiveError('content before the first document marker');
      doc.push(rest);
    }
    if (doc) yield parseDoc(doc);
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
