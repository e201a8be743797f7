// Moving one file between the local disk and S3, encrypted, with the digests the manifest records: SHA-256 of
// the file itself and of the bytes as stored. A download lands under a temporary name and is renamed only once
// both digests matched, so a folder never holds a half-checked file under its real name.

import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { createDecryptStream, createEncryptStream, type EncryptionKey } from '../crypto/index.js';
import { createMeterStream } from '../crypto/index.js';
import type { S3Store } from '../s3/index.js';
import type { StoredFile } from './manifest.js';

/**
 * gzip level 1: an etcd database is mostly free pages and repeated keys, level 1 gets most of the saving at a
 * fraction of the default level's CPU (the snapshot is uploaded while a control-plane node serves the cluster).
 */
const GZIP_LEVEL = 1;
const BIG_CHUNKS = 256 * 1024;

export async function uploadFile(
  store: S3Store,
  key: string,
  localPath: string,
  encryptionKey: EncryptionKey,
  options: { gzip: boolean; signal?: AbortSignal },
): Promise<Pick<StoredFile, 'size' | 'sha256' | 'storedSize' | 'storedSha256'>> {
  const plain = createMeterStream({ highWaterMark: BIG_CHUNKS });
  const stored = createMeterStream({ highWaterMark: BIG_CHUNKS });
  const stages: NodeJS.ReadWriteStream[] = [plain];
  if (options.gzip) stages.push(createGzip({ level: GZIP_LEVEL, chunkSize: 256 * 1024 }));
  stages.push(createEncryptStream(encryptionKey), stored);
  const source = createReadStream(localPath, { highWaterMark: BIG_CHUNKS, signal: options.signal });
  // The last stage is the upload's body: a failed upload destroys it, which fails the pipeline too.
  const chain = pipeline([source, ...stages] as unknown as [Readable, NodeJS.WritableStream]);
  // Both settled before returning: an upload that is being aborted must finish its abort first.
  const [upload, piped] = await Promise.allSettled([store.upload(key, stored), chain]);
  if (piped.status === 'rejected') throw piped.reason;
  if (upload.status === 'rejected') throw upload.reason;
  const p = plain.digest();
  const s = stored.digest();
  return { size: p.size, sha256: p.sha256, storedSize: s.size, storedSha256: s.sha256 };
}

/** A file whose stored or decrypted bytes do not match the manifest; nothing is left under its name. */
export class StoredFileMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoredFileMismatch';
  }
}

export async function downloadFile(
  store: S3Store,
  key: string,
  file: StoredFile,
  localPath: string,
  encryptionKey: EncryptionKey,
  options: { gunzip: boolean; mode?: number },
): Promise<void> {
  const partial = `${localPath}.part`;
  const stored = createMeterStream({ highWaterMark: BIG_CHUNKS });
  const plain = createMeterStream({ highWaterMark: BIG_CHUNKS });
  const stages: NodeJS.ReadWriteStream[] = [stored, createDecryptStream(encryptionKey)];
  if (options.gunzip) stages.push(createGunzip());
  stages.push(plain);
  try {
    await pipeline([
      await store.download(key),
      ...stages,
      createWriteStream(partial, { mode: options.mode ?? 0o600 }),
    ] as unknown as [Readable, NodeJS.WritableStream]);
    const s = stored.digest();
    if (s.size !== file.storedSize || s.sha256 !== file.storedSha256)
      throw new StoredFileMismatch(`${file.name}: the stored bytes do not match the manifest's SHA-256`);
    const p = plain.digest();
    if (p.size !== file.size || p.sha256 !== file.sha256)
      throw new StoredFileMismatch(`${file.name}: the decrypted file does not match the manifest's SHA-256`);
    await rename(partial, localPath);
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
}
