import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';

/** Size and SHA-256 (hex) of a file's bytes as stored. */
export interface FileDigest {
  size: number;
  sha256: string;
}

/**
 * A pass-through stream that measures what flows through it; `digest()` is valid once the stream has
 * ended. Put it last before an upload, so the digest is of the bytes as stored.
 */
export interface MeterStream extends Transform {
  digest(): FileDigest;
}

/**
 * `highWaterMark`: bytes buffered before backpressure (large for bulk streams such as dumps); `onBytes`: told the size
 * of every chunk as it passes (progress reports).
 */
export function createMeterStream(
  options: { highWaterMark?: number; onBytes?: (bytes: number) => void } = {},
): MeterStream {
  const hash = createHash('sha256');
  let size = 0;
  let result: FileDigest | undefined;
  const meter = new Transform({
    ...(options.highWaterMark ? { highWaterMark: options.highWaterMark } : {}),
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      options.onBytes?.(chunk.length);
      callback(null, chunk);
    },
    flush(callback) {
      result = { size, sha256: hash.digest('hex') };
      callback();
    },
  }) as MeterStream;
  meter.digest = () => {
    if (!result) throw new Error('digest asked before the stream ended');
    return result;
  };
  return meter;
}

/** Reads a stream to its end and returns its size and SHA-256, holding one chunk at a time. */
export async function digestOf(
  readable: Readable | AsyncIterable<Buffer | string> | Iterable<Buffer>,
): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of readable) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(bytes);
    size += bytes.length;
  }
  return { size, sha256: hash.digest('hex') };
}
