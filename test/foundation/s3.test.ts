import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type LocalS3 } from '../helpers/s3.js';

let s3: LocalS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.close();
});

describe('S3 store against s3rver', () => {
  it('stores a streamed multipart upload byte for byte', async () => {
    const store = s3.store();
    const data = randomBytes(20 * 1024 * 1024 + 123); // three parts
    // A generator stream has no known length: the SDK must not wrap it in aws-chunked framing.
    async function* chunks() {
      for (let i = 0; i < data.length; i += 1024 * 1024) yield data.subarray(i, i + 1024 * 1024);
    }
    await store.upload(store.key('t', 'blob.bin'), Readable.from(chunks()));
    const back: Buffer[] = [];
    for await (const c of await store.download(store.key('t', 'blob.bin'))) back.push(c as Buffer);
    const got = Buffer.concat(back);
    expect(got.length).toBe(data.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
  });

  it('lists deep keys without a delimiter and deletes a whole prefix', async () => {
    const store = s3.store('p');
    for (const k of ['a/1/x', 'a/1/y', 'a/2/z', 'b/1/x']) await store.upload(store.key(k), Buffer.from(k));
    const listed = [];
    for await (const o of store.list(store.key('a') + '/')) listed.push(o.key);
    expect(listed.sort()).toEqual(['p/a/1/x', 'p/a/1/y', 'p/a/2/z']);
    expect(await store.deletePrefix(store.key('a') + '/')).toBe(3);
    expect(await store.exists(store.key('a/1/x'))).toBe(false);
    expect(await store.exists(store.key('b/1/x'))).toBe(true);
    await expect(store.deletePrefix('p/b')).rejects.toThrow(/not a folder/);
  });
});
