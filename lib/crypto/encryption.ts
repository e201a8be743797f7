import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Client-side encryption of stored files: AES-256-GCM in segments, so that files of any size are
 * encrypted and decrypted as streams, and every segment is authenticated before its bytes are used.
 *
 * Layout (all integers big-endian):
 *
 * ```
 * header, 28 bytes:  "NSBKENC" | version 0x01 | key id (8 bytes) | nonce prefix (8 random bytes) | segment size (u32)
 * segments:          ciphertext (segment size bytes; the last one 0..segment size) | GCM tag (16 bytes)
 * nonce of segment i:          nonce prefix | i (u32)
 * additional data of segment i: header | i (u32) | 1 if it is the last segment else 0
 * ```
 *
 * Binding the header, the index and the last-segment flag into each tag means that a wrong key,
 * a changed header, reordered or dropped segments and a stream cut at a segment boundary all fail
 * authentication. The key id (first 8 bytes of SHA-256 of the key, 16 hex characters) tells which key
 * a file needs without revealing it.
 */
export const ENCRYPTION_ALGORITHM = 'AES-256-GCM-SEGMENTED-V1';
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
const MAGIC = Buffer.from('NSBKENC\x01', 'latin1');
export const HEADER_SIZE = 28;
const TAG_SIZE = 16;

export interface EncryptionKey {
  /** 32 bytes. */
  bytes: Buffer;
  /** 16 hex characters identifying the key. */
  id: string;
}

export function keyIdOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest().subarray(0, 8).toString('hex');
}

/**
 * Reads a 32-byte key as stored in a Secret: 64 hex characters or base64 (standard or URL-safe), with
 * surrounding whitespace ignored; or the raw 32 bytes. The error never contains the key.
 */
export function parseEncryptionKey(value: string | Buffer): EncryptionKey {
  let bytes: Buffer;
  if (Buffer.isBuffer(value) && value.length === 32) bytes = Buffer.from(value);
  else {
    const text = (Buffer.isBuffer(value) ? value.toString('utf8') : value).trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = Buffer.from(text, 'hex');
    else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) bytes = Buffer.from(text, 'base64');
    else throw new Error('encryption key: expected 32 bytes as 64 hex characters or base64');
    if (bytes.length !== 32) {
      throw new Error(
        `encryption key: expected 32 bytes (64 hex characters or 44 base64 characters), got ${bytes.length} bytes`,
      );
    }
  }
  return { bytes, id: keyIdOf(bytes) };
}

/** A new random key, base64, as a Secret would hold it. */
export function generateEncryptionKey(): string {
  return randomBytes(32).toString('base64');
}

export type DecryptionProblem = 'not-encrypted' | 'wrong-key' | 'tampered' | 'truncated' | 'bad-header';

/** A stored file that cannot be decrypted; `problem` says why. */
export class DecryptionError extends Error {
  constructor(
    readonly problem: DecryptionProblem,
    message: string,
  ) {
    super(message);
    this.name = 'DecryptionError';
  }
}

export interface EncryptionHeader {
  keyId: string;
  segmentSize: number;
}

/** True when the bytes start like an nsbackup-encrypted file (of any format version). */
export function looksEncrypted(start: Buffer): boolean {
  return start.length >= 7 && start.subarray(0, 7).equals(MAGIC.subarray(0, 7));
}

export function parseEncryptionHeader(header: Buffer): EncryptionHeader {
  if (header.length < HEADER_SIZE)
    throw new DecryptionError('truncated', 'encrypted file: header is cut short');
  if (!looksEncrypted(header))
    throw new DecryptionError('not-encrypted', 'file is not encrypted by nsbackup');
  if (header[7] !== MAGIC[7]) {
    throw new DecryptionError(
      'bad-header',
      `encrypted file: format version ${header[7]} is unknown; upgrade nsbackup`,
    );
  }
  const segmentSize = header.readUInt32BE(24);
  if (segmentSize < 1 || segmentSize > MAX_SEGMENT_SIZE) {
    throw new DecryptionError('bad-header', `encrypted file: impossible segment size ${segmentSize}`);
  }
  return { keyId: header.subarray(8, 16).toString('hex'), segmentSize };
}

function nonceOf(prefix: Buffer, index: number): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0, 0, 8);
  nonce.writeUInt32BE(index, 8);
  return nonce;
}

function aadOf(header: Buffer, index: number, last: boolean): Buffer {
  const aad = Buffer.alloc(HEADER_SIZE + 5);
  header.copy(aad, 0);
  aad.writeUInt32BE(index, HEADER_SIZE);
  aad[HEADER_SIZE + 4] = last ? 1 : 0;
  return aad;
}

/**
 * Hands every whole segment of `size` bytes at the start of `pending` to `each`, except the last one: a segment is
 * sealed (or opened) only once more data follows it, because the last one carries the last flag. Returns the rest,
 * copied out when segments were taken, so the buffer behind them can go.
 */
function takeSegments(pending: Buffer, size: number, each: (segment: Buffer) => void): Buffer {
  let offset = 0;
  while (pending.length - offset > size) {
    each(pending.subarray(offset, offset + size));
    offset += size;
  }
  return offset ? Buffer.from(pending.subarray(offset)) : pending;
}

/** A Transform that encrypts what is written into it (see the layout above). */
export function createEncryptStream(key: EncryptionKey, options: { segmentSize?: number } = {}): Transform {
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  if (!Number.isInteger(segmentSize) || segmentSize < 1 || segmentSize > MAX_SEGMENT_SIZE) {
    throw new Error(`segment size must be 1..${MAX_SEGMENT_SIZE} bytes`);
  }
  const header = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(header, 0);
  Buffer.from(key.id, 'hex').copy(header, 8);
  randomBytes(8).copy(header, 16);
  header.writeUInt32BE(segmentSize, 24);
  const prefix = header.subarray(16, 24);
  let index = 0;
  let pending: Buffer = Buffer.alloc(0);

  const seal = (plain: Buffer, last: boolean): Buffer => {
    if (index > 0xffffffff) throw new Error('encrypted file too large for its segment counter');
    const cipher = createCipheriv('aes-256-gcm', key.bytes, nonceOf(prefix, index));
    cipher.setAAD(aadOf(header, index, last));
    const out = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    index++;
    return out;
  };

  return new Transform({
    construct(callback) {
      this.push(header);
      callback();
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        pending = takeSegments(pending, segmentSize, (plain) => this.push(seal(plain, false)));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        this.push(seal(pending, true));
        pending = Buffer.alloc(0);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/**
 * A Transform that decrypts a file made by {@link createEncryptStream}. It emits only authenticated
 * bytes and fails with a {@link DecryptionError} on a wrong key, a changed byte, or a cut.
 */
export function createDecryptStream(key: EncryptionKey): Transform {
  let header: Buffer | undefined;
  let segmentSize = 0;
  let index = 0;
  let pending: Buffer = Buffer.alloc(0);

  const open = (sealed: Buffer, last: boolean): Buffer => {
    const prefix = header!.subarray(16, 24);
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, nonceOf(prefix, index));
    decipher.setAAD(aadOf(header!, index, last));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    try {
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE)),
        decipher.final(),
      ]);
      index++;
      return plain;
    } catch {
      throw new DecryptionError(
        last ? 'truncated' : 'tampered',
        last
          ? `encrypted file: segment ${index} does not authenticate as the last one (cut short or changed)`
          : `encrypted file: segment ${index} failed authentication (changed or reordered)`,
      );
    }
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        if (!header) {
          if (pending.length < HEADER_SIZE) return callback();
          const parsed = parseEncryptionHeader(pending.subarray(0, HEADER_SIZE));
          if (parsed.keyId !== key.id) {
            throw new DecryptionError(
              'wrong-key',
              `encrypted with key ${parsed.keyId}, but the key given is ${key.id}`,
            );
          }
          header = Buffer.from(pending.subarray(0, HEADER_SIZE));
          segmentSize = parsed.segmentSize;
          pending = pending.subarray(HEADER_SIZE);
        }
        pending = takeSegments(pending, segmentSize + TAG_SIZE, (sealed) => this.push(open(sealed, false)));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (!header) throw new DecryptionError('truncated', 'encrypted file: header is cut short');
        if (pending.length < TAG_SIZE) {
          throw new DecryptionError('truncated', `encrypted file: cut short after segment ${index}`);
        }
        this.push(open(pending, true));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
