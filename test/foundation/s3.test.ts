import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_PART_SIZE, partSizeFor } from '../../lib/s3/multipart.js';
import { S3Store } from '../../lib/s3/store.js';
import { startS3, TEST_S3_CREDENTIALS, type LocalS3 } from '../kit/index.js';

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

  it('reads a small object in one request, and tells a missing key from other failures', async () => {
    const store = s3.store('q');
    await store.upload(store.key('here.json'), Buffer.from('{"a":1}'));
    expect(await store.downloadTextIfExists(store.key('here.json'))).toBe('{"a":1}');
    expect(await store.downloadTextIfExists(store.key('not-here.json'))).toBeUndefined();
    const elsewhere = new S3Store({ ...store.location, bucket: 'no-such-bucket' }, TEST_S3_CREDENTIALS);
    await expect(elsewhere.downloadTextIfExists(elsewhere.key('here.json'))).rejects.toThrow();
  });

  it('stores bodies of zero bytes, less than a part, exactly a part and a part plus one', async () => {
    const store = s3.store('sizes');
    for (const size of [0, 1000, MIN_PART_SIZE, MIN_PART_SIZE + 1]) {
      const data = randomBytes(size);
      const key = store.key(`blob-${size}`);
      await store.upload(key, Readable.from(chunked(data, 64 * 1024)));
      expect(sha256(await downloadAll(store, key)), `size ${size}`).toBe(sha256(data));
    }
    await store.upload(store.key('text'), 'plain text', 'text/plain');
    expect((await downloadAll(store, store.key('text'))).toString()).toBe('plain text');
  });

  it('completes no object when the body fails after parts were sent, and rejects', async () => {
    const store = s5MiB();
    const key = store.key('failed', 'dump.gz');
    const body = new Readable({ read() {} });
    const uploaded = store.upload(key, body);
    body.push(randomBytes(MIN_PART_SIZE * 2 + 10)); // two parts go out
    await new Promise((r) => setTimeout(r, 200));
    body.destroy(new Error('the dump failed'));
    await expect(uploaded).rejects.toThrow(/the dump failed/);
    expect(await store.exists(key)).toBe(false);
  });

  it('completes no object when the body is destroyed before one part was filled', async () => {
    const store = s5MiB();
    const key = store.key('failed', 'small.gz');
    const body = new Readable({ read() {} });
    const uploaded = store.upload(key, body);
    body.push(Buffer.from('the beginning of a dump'));
    await new Promise((r) => setTimeout(r, 50));
    body.destroy();
    await expect(uploaded).rejects.toThrow(/premature close/i);
    expect(await store.exists(key)).toBe(false);
  });

  it('fails the upload and destroys the body when S3 refuses it', async () => {
    const missing = new S3Store(
      {
        bucket: 'no-such-bucket',
        prefix: '',
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
      },
      TEST_S3_CREDENTIALS,
    );
    let produced = 0;
    const body = new Readable({
      read() {
        produced += 1024 * 1024;
        this.push(Buffer.alloc(1024 * 1024));
      },
    });
    await expect(missing.upload('x', body)).rejects.toThrow(/bucket/i);
    expect(body.destroyed).toBe(true);
    expect(produced).toBeLessThan(64 * 1024 * 1024); // it stopped reading instead of buffering the body
  });

  it('refuses a part size under S3 minimum', async () => {
    const tiny = new S3Store(s3.store().location, TEST_S3_CREDENTIALS, { partSizeBytes: 1024 });
    await expect(tiny.upload('x', Buffer.from('x'))).rejects.toThrow(/minimum/);
  });
});

describe('part sizes', () => {
  it('keeps the base size for 5,000 parts, then doubles every 1,000 to reach 10,000 parts', () => {
    const base = 8 * 1024 * 1024;
    expect(partSizeFor(1, base)).toBe(base);
    expect(partSizeFor(5000, base)).toBe(base);
    expect(partSizeFor(5001, base)).toBe(2 * base);
    expect(partSizeFor(6000, base)).toBe(2 * base);
    expect(partSizeFor(6001, base)).toBe(4 * base);
    expect(partSizeFor(10_000, base)).toBe(32 * base);
    let total = 0;
    for (let n = 1; n <= 10_000; n++) total += partSizeFor(n, base);
    expect(total / 2 ** 30).toBeGreaterThan(270); // GiB the largest object can have
  });
});

function s5MiB(): S3Store {
  return new S3Store(s3.store('p5').location, TEST_S3_CREDENTIALS, { partSizeBytes: MIN_PART_SIZE });
}

function* chunked(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function downloadAll(store: S3Store, key: string): Promise<Buffer> {
  const back: Buffer[] = [];
  for await (const c of await store.download(key)) back.push(c as Buffer);
  return Buffer.concat(back);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
