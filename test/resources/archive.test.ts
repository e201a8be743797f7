import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArchiveError,
  buildManifest,
  parseManifest,
  serializeManifest,
  canonicalize,
  createResourceArchiveWriter,
  exclusionContextOf,
  readResourceArchive,
  regeneratedReason,
  verifyManifest,
  type KubeObject,
  type ResourceArchiveSummary,
} from '../../lib/resources/index.js';
import {
  DecryptionError,
  digestOf,
  generateEncryptionKey,
  parseEncryptionKey,
  type EncryptionKey,
} from '../../lib/crypto/index.js';
import { shopNamespace } from './fixtures.js';

const key = parseEncryptionKey(generateEncryptionKey());
const ctx = exclusionContextOf(shopNamespace());
const canonicalShop = () =>
  shopNamespace()
    .filter((o) => !regeneratedReason(o, ctx))
    .map((o) => canonicalize(o));

async function writeArchive(
  objects: KubeObject[],
  encryptionKey?: EncryptionKey,
): Promise<{ bytes: Buffer; summary: ResourceArchiveSummary }> {
  const writer = createResourceArchiveWriter({ encryptionKey });
  const chunks: Buffer[] = [];
  writer.stored.on('data', (chunk: Buffer) => chunks.push(chunk));
  for (const obj of objects) await writer.add(obj);
  const summary = await writer.finish();
  return { bytes: Buffer.concat(chunks), summary };
}

async function readAll(bytes: Buffer | Buffer[], encryptionKey?: EncryptionKey): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for await (const obj of readResourceArchive(Array.isArray(bytes) ? bytes : [bytes], { encryptionKey }))
    out.push(obj);
  return out;
}

async function readError(bytes: Buffer, encryptionKey?: EncryptionKey): Promise<Error> {
  try {
    await readAll(bytes, encryptionKey);
  } catch (error) {
    return error as Error;
  }
  throw new Error('read succeeded');
}

describe('resource archive', () => {
  for (const encrypted of [false, true]) {
    it(`round-trips a realistic namespace ${encrypted ? 'with' : 'without'} encryption`, async () => {
      const objects = canonicalShop();
      const { bytes, summary } = await writeArchive(objects, encrypted ? key : undefined);
      expect(await readAll(bytes, encrypted ? key : undefined)).toEqual(objects);
      expect(summary.fileName).toBe(encrypted ? 'resources.ndjson.gz.enc' : 'resources.ndjson.gz');
      expect(await digestOf([bytes])).toEqual({ size: summary.size, sha256: summary.sha256 });
      expect(summary.objectCount).toBe(objects.length);
      expect(summary.counts).toMatchObject({ 'Deployment.apps': 1, Service: 2, 'Widget.example.com': 1 });
      expect(summary.paths).toContain('/apis/apps/v1/namespaces/shop/deployments/web');
      expect(summary.paths).toContain(
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com',
      );
      expect(summary.encryption).toEqual(
        encrypted ? { algorithm: 'AES-256-GCM-SEGMENTED-V1', keyId: key.id, segmentSize: 65536 } : null,
      );
    });
  }

  it('summarises into a manifest that verifies the stored bytes', async () => {
    const { bytes, summary } = await writeArchive(canonicalShop(), key);
    const manifest = buildManifest({
      cluster: 'prod-eu',
      namespace: 'shop',
      backupId: 'b1',
      startedAt: new Date('2024-05-01T10:00:00.500Z'),
      completedAt: '2024-05-01T10:00:42Z',
      listResourceVersions: { ConfigMap: '48213' },
      resources: summary,
      dumps: [{ database: 'shop', name: 'dump-shop.sql.gz.enc', size: 10, sha256: 'f'.repeat(64) }],
    });
    const stored = parseManifest(serializeManifest(manifest));
    expect(stored.startedAt).toBe('2024-05-01T10:00:00Z');
    expect(stored.encryption?.keyId).toBe(key.id);
    expect(stored.paths).toEqual(summary.paths);
    const files = [
      { name: summary.fileName, ...(await digestOf([bytes])) },
      { name: 'dump-shop.sql.gz.enc', size: 10, sha256: 'f'.repeat(64) },
    ];
    expect(verifyManifest(stored, files)).toEqual({ ok: true, problems: [] });
  });

  it('reads the same objects whatever the chunking of the download', async () => {
    const objects = canonicalShop();
    const { bytes } = await writeArchive(objects, key);
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
    expect(await readAll(pieces, key)).toEqual(objects);
  });

  it('fails loudly on a wrong key, a missing key, or a key for a plain archive', async () => {
    const { bytes } = await writeArchive(canonicalShop(), key);
    const wrong = await readError(bytes, parseEncryptionKey(generateEncryptionKey()));
    expect(wrong).toBeInstanceOf(DecryptionError);
    expect((wrong as DecryptionError).problem).toBe('wrong-key');
    const missing = await readError(bytes);
    expect(missing.message).toMatch(new RegExp(`encrypted with key ${key.id}; no key was given`));
    const plain = await writeArchive(canonicalShop());
    expect(((await readError(plain.bytes, key)) as DecryptionError).problem).toBe('not-encrypted');
  });

  it('fails loudly on a cut or a changed byte, and the manifest check catches it first', async () => {
    for (const encrypted of [false, true]) {
      const { bytes, summary } = await writeArchive(canonicalShop(), encrypted ? key : undefined);
      const k = encrypted ? key : undefined;
      const cut = bytes.subarray(0, bytes.length - 20);
      expect(await readError(cut, k)).toBeInstanceOf(encrypted ? DecryptionError : ArchiveError);
      const changed = Buffer.from(bytes);
      changed[Math.floor(bytes.length / 2)] ^= 0x55;
      expect(await readError(changed, k)).toBeInstanceOf(Error);

      const manifest = {
        files: [{ name: summary.fileName, size: summary.size, sha256: summary.sha256 }],
      } as any;
      const check = verifyManifest(manifest, [{ name: summary.fileName, ...(await digestOf([changed])) }]);
      expect(check.ok).toBe(false);
    }
  });

  it('refuses bytes that are not an archive', async () => {
    expect(await readError(Buffer.from('apiVersion: v1\nkind: ConfigMap\n'))).toBeInstanceOf(ArchiveError);
    expect(await readError(Buffer.alloc(0))).toBeInstanceOf(ArchiveError);
  });

  it('stops the download when the reader gives up early', async () => {
    const { bytes } = await writeArchive(canonicalShop(), key);
    const download = Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]);
    for await (const obj of readResourceArchive(download, { encryptionKey: key })) {
      expect(obj.kind).toBeDefined();
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(download.destroyed).toBe(true);
  });

  it('refuses the same object twice', async () => {
    const writer = createResourceArchiveWriter();
    writer.stored.resume();
    const cm = canonicalShop().find((o) => o.kind === 'ConfigMap')!;
    await writer.add(cm);
    await expect(writer.add(cm)).rejects.toThrow(/added twice/);
  });

  it('waits for the upload: add() does not resolve while nobody reads the stored bytes', async () => {
    const writer = createResourceArchiveWriter({ encryptionKey: key });
    let added = 0;
    const adding = (async () => {
      for (let i = 0; i < 1000; i++) {
        // A fresh payload each time: a repeated one would compress to nothing and prove nothing.
        const payload = randomBytes(16 * 1024).toString('base64');
        await writer.add({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `c${i}`, namespace: 's' },
          data: { payload },
        });
        added++;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(added).toBeLessThan(50); // without backpressure all 1000 (22 MB) would be buffered by now
    writer.stored.resume();
    await adding;
    const summary = await writer.finish();
    expect(summary.objectCount).toBe(1000);
  });
});

describe('20,000 objects', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nsbackup-archive-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are archived and read back in bounded memory', async () => {
    const count = 20_000;
    const makeObject = (i: number): KubeObject => ({
      apiVersion: 'v1',
      kind: i % 2 ? 'ConfigMap' : 'Secret',
      metadata: { name: `object-${i}`, namespace: 'big', labels: { app: `app-${i % 50}` } },
      data: { blob: randomBytes(2048).toString('base64') }, // ~55 MB of YAML, ~41 MB stored
    });
    const file = join(dir, 'resources.ndjson.gz.enc');
    const writer = createResourceArchiveWriter({ encryptionKey: key });
    const upload = pipeline(writer.stored, createWriteStream(file));
    const start = process.memoryUsage().heapUsed;
    let peak = start;
    for (let i = 0; i < count; i++) {
      await writer.add(makeObject(i));
      if (i % 500 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    const summary = await writer.finish();
    await upload;
    expect(summary.objectCount).toBe(count);
    expect(summary.size).toBeGreaterThan(38 * 1024 * 1024);
    expect(peak - start).toBeLessThan(40 * 1024 * 1024);

    const readStart = process.memoryUsage().heapUsed;
    let readPeak = readStart;
    let read = 0;
    for await (const obj of readResourceArchive(createReadStream(file), { encryptionKey: key })) {
      expect(obj.metadata.name).toBe(`object-${read}`);
      read++;
      if (read % 500 === 0) readPeak = Math.max(readPeak, process.memoryUsage().heapUsed);
    }
    expect(read).toBe(count);
    expect(readPeak - readStart).toBeLessThan(40 * 1024 * 1024);
    expect(await digestOf(createReadStream(file))).toEqual({ size: summary.size, sha256: summary.sha256 });
  });
});
