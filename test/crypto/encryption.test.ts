import { randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  DecryptionError,
  HEADER_SIZE,
  createDecryptStream,
  createEncryptStream,
  generateEncryptionKey,
  parseEncryptionKey,
  type EncryptionKey,
} from '../../lib/crypto/index.js';

const key = parseEncryptionKey(generateEncryptionKey());
const otherKey = parseEncryptionKey(randomBytes(32).toString('hex'));

async function run(stream: Transform, input: Buffer, chunk = 1000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) chunks.push(input.subarray(i, i + chunk));
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), stream, async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(c);
  });
  return Buffer.concat(out);
}

const encrypt = (plain: Buffer, segmentSize = 4096) => run(createEncryptStream(key, { segmentSize }), plain);
const decrypt = (sealed: Buffer, k: EncryptionKey = key, chunk = 777) =>
  run(createDecryptStream(k), sealed, chunk);

async function decryptError(sealed: Buffer, k: EncryptionKey = key): Promise<DecryptionError> {
  try {
    await decrypt(sealed, k);
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptionError);
    return error as DecryptionError;
  }
  throw new Error('decryption succeeded');
}

describe('encryption keys', () => {
  it('reads hex, base64 and base64url, and names the key by a stable id', () => {
    const raw = randomBytes(32);
    const fromHex = parseEncryptionKey(raw.toString('hex'));
    expect(parseEncryptionKey(`  ${raw.toString('base64')}\n`).bytes.equals(raw)).toBe(true);
    expect(parseEncryptionKey(raw.toString('base64url')).id).toBe(fromHex.id);
    expect(parseEncryptionKey(raw).id).toBe(fromHex.id);
    expect(fromHex.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses keys of the wrong length without echoing them', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => parseEncryptionKey(short)).toThrow(/expected 32 bytes .* got 16 bytes/);
    try {
      parseEncryptionKey(short);
    } catch (error) {
      expect((error as Error).message).not.toContain(short);
    }
    expect(() => parseEncryptionKey('not a key!')).toThrow(/64 hex characters or base64/);
  });
});

describe('segmented AES-256-GCM', () => {
  it('round-trips empty, small, exact-multiple and odd sizes in any chunking', async () => {
    for (const size of [0, 1, 4095, 4096, 8192, 50_000]) {
      const plain = randomBytes(size);
      const sealed = await encrypt(plain);
      expect(sealed.length).toBe(HEADER_SIZE + size + 16 * Math.max(1, Math.ceil(size / 4096)));
      expect((await decrypt(sealed)).equals(plain)).toBe(true);
      // Byte by byte: segment boundaries never line up with chunk boundaries.
      if (size <= 8192) expect((await decrypt(sealed, key, 1)).equals(plain)).toBe(true);
    }
  });

  it('uses a fresh nonce prefix each time: the same input never encrypts the same', async () => {
    const plain = Buffer.from('same');
    expect((await encrypt(plain)).equals(await encrypt(plain))).toBe(false);
  });

  it('detects a wrong key from the header', async () => {
    const error = await decryptError(await encrypt(randomBytes(100)), otherKey);
    expect(error.problem).toBe('wrong-key');
    expect(error.message).toContain(key.id);
  });

  it('detects a changed byte, swapped segments and a cut', async () => {
    const sealed = await encrypt(randomBytes(20_000));
    const flipped = Buffer.from(sealed);
    flipped[HEADER_SIZE + 10] ^= 1;
    expect((await decryptError(flipped)).problem).toBe('tampered');

    const seg = 4096 + 16;
    const swapped = Buffer.concat([
      sealed.subarray(0, HEADER_SIZE),
      sealed.subarray(HEADER_SIZE + seg, HEADER_SIZE + 2 * seg),
      sealed.subarray(HEADER_SIZE, HEADER_SIZE + seg),
      sealed.subarray(HEADER_SIZE + 2 * seg),
    ]);
    expect((await decryptError(swapped)).problem).toBe('tampered');

    // Cut exactly at a segment boundary: every remaining segment is authentic, but none is the last.
    expect((await decryptError(sealed.subarray(0, HEADER_SIZE + 2 * seg))).problem).toBe('truncated');
    expect((await decryptError(sealed.subarray(0, sealed.length - 1))).problem).toBe('truncated');
    expect((await decryptError(sealed.subarray(0, 10))).problem).toBe('truncated');

    const header = Buffer.from(sealed);
    header.writeUInt32BE(2048, 24); // claim another segment size
    expect((await decryptError(header)).problem).toBe('tampered');
  });

  it('refuses a format version it does not know', async () => {
    const sealed = await encrypt(Buffer.from('x'));
    sealed[7] = 2;
    const error = await decryptError(sealed);
    expect(error.problem).toBe('bad-header');
    expect(error.message).toMatch(/format version 2 is unknown/);
  });

  it('refuses bytes that are not encrypted', async () => {
    expect((await decryptError(Buffer.alloc(100, 1))).problem).toBe('not-encrypted');
  });

  it('streams: output starts long before the input ends, so memory stays bounded', async () => {
    // Measured by how far the producer got when the first plaintext came out the other end (backpressure),
    // not by RSS, which depends on when the garbage collector runs.
    const total = 64 * 1024 * 1024;
    const piece = randomBytes(1024 * 1024);
    let produced = 0;
    async function* source() {
      for (; produced < total; produced += piece.length) yield piece;
    }
    let bytes = 0;
    let producedAtFirstOutput = -1;
    await pipeline(
      Readable.from(source()),
      createEncryptStream(key),
      createDecryptStream(key),
      async (s: AsyncIterable<Buffer>) => {
        for await (const c of s) {
          if (producedAtFirstOutput < 0) producedAtFirstOutput = produced;
          bytes += c.length;
        }
      },
    );
    expect(bytes).toBe(total);
    expect(producedAtFirstOutput).toBeGreaterThanOrEqual(0);
    expect(producedAtFirstOutput).toBeLessThan(8 * 1024 * 1024);
  });

  it('decrypts what it encrypts through plain buffers too', async () => {
    const plain = Buffer.from('hello');
    expect(
      (await buffer(Readable.from([await encrypt(plain)]).pipe(createDecryptStream(key)))).toString(),
    ).toBe('hello');
  });
});
