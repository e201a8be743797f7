// A small S3 adapter: streamed multipart uploads, streamed downloads, paginated listings without delimiters
// (s3rver, and some S3-compatible stores, drop CommonPrefixes for folders holding only deeper keys).

import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MultipartWriter } from './multipart.js';
import { loadS3Sdk, type S3Connection } from './sdk.js';
import type { S3Location } from './settings.js';

/** 8 MiB parts: two of them are the upload's memory; 10,000 parts reach 273 GiB (parts grow after 39 GiB). */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

export interface S3StoreOptions {
  /** Base multipart part size in bytes (S3's minimum is 5 MiB). */
  partSizeBytes?: number;
}

/** S3's answer for a bucket that does not exist (the AWS SDK's error name, or its code on stores that differ). */
export function isMissingBucket(error: unknown): boolean {
  const e = error as { name?: string; Code?: string } | undefined;
  return e?.name === 'NoSuchBucket' || e?.Code === 'NoSuchBucket';
}

/**
 * S3's answer for a key that does not exist: HEAD answers a bare 404, GET NoSuchKey. A GET's NoSuchBucket is
 * a 404 too, but no answer about the key: a bucket that is not there must not read as "no such backup".
 */
function isMissingObject(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (isMissingBucket(e)) return false;
  return e?.$metadata?.httpStatusCode === 404 || e?.name === 'NotFound' || e?.name === 'NoSuchKey';
}

export interface StoredObject {
  key: string;
  size: number;
  lastModified?: Date;
}

export class S3Store {
  private connection: Promise<S3Connection> | undefined;
  /** Read when the store is made, so that an unreadable CA file fails the run's configuration, not its upload. */
  private readonly ca: Buffer | undefined;

  constructor(
    readonly location: S3Location,
    private readonly credentials?: { accessKeyId: string; secretAccessKey: string },
    private readonly options: S3StoreOptions = {},
  ) {
    this.ca = location.caFile ? readFileSync(location.caFile) : undefined;
  }

  /** The client, made on first use with the SDK loaded then (lib/s3/sdk.ts: start-up of commands without S3). */
  connect(): Promise<S3Connection> {
    if (!this.connection) {
      this.connection = loadS3Sdk().then((sdk) => ({ sdk, client: this.makeClient(sdk) }));
      // Every use awaits it and sees a failure; an upload whose body failed first may never get to.
      this.connection.catch(() => undefined);
    }
    return this.connection;
  }

  private makeClient(sdk: S3Connection['sdk']): S3Connection['client'] {
    const { location, credentials, ca } = this;
    return new sdk.S3Client({
      region: location.region,
      endpoint: location.endpoint,
      forcePathStyle: location.forcePathStyle,
      credentials,
      // The SDK's default flexible checksums send streamed bodies aws-chunked with a trailing CRC; s3rver and many
      // S3-compatible stores then store the framing as the object. Only checksum when the operation requires it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 5,
      ...(ca ? { requestHandler: { httpsAgent: new https.Agent({ ca, keepAlive: true }) } } : {}),
    });
  }

  /** Full key under the configured prefix. */
  key(...parts: string[]): string {
    return [this.location.prefix, ...parts].filter(Boolean).join('/');
  }

  url(key: string): string {
    return `s3://${this.location.bucket}/${key}`;
  }

  /**
   * Stores a body as one object: a stream goes through a multipart upload with two reused part buffers (bounded
   * memory, backpressure on the body), anything shorter than a part through one PutObject. The object exists only
   * if the body ended normally: a body that errors or is destroyed aborts the upload, and an upload that fails
   * destroys the body (whoever feeds it learns at once) and rejects.
   */
  async upload(
    key: string,
    body: Readable | Buffer | string,
    contentType = 'application/octet-stream',
  ): Promise<void> {
    const writer = new MultipartWriter({
      connection: this.connect(),
      bucket: this.location.bucket,
      key,
      contentType,
      partSize: this.options.partSizeBytes ?? DEFAULT_PART_SIZE,
    });
    const source =
      body instanceof Readable ? body : Readable.from([typeof body === 'string' ? Buffer.from(body) : body]);
    try {
      await pipeline(source, writer);
    } catch (e) {
      // The multipart abort runs in the writer's destroy: let it finish before the caller moves on.
      if (!writer.closed) await new Promise((resolve) => writer.once('close', resolve));
      throw e;
    }
  }

  async download(key: string): Promise<Readable> {
    const { client, sdk } = await this.connect();
    const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
    return res.Body as Readable;
  }

  async downloadText(key: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of await this.download(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** The object's text, or undefined when there is none: one GET, where `exists` and then a download are two. */
  async downloadTextIfExists(key: string): Promise<string | undefined> {
    try {
      return await this.downloadText(key);
    } catch (e) {
      if (isMissingObject(e)) return undefined;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    const { client, sdk } = await this.connect();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return true;
    } catch (e) {
      if (isMissingObject(e)) return false;
      throw e;
    }
  }

  async *list(prefix: string): AsyncGenerator<StoredObject> {
    const { client, sdk } = await this.connect();
    let token: string | undefined;
    do {
      const page = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: prefix,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * The first key under `prefix` that sorts after `startAfter` (S3 orders keys by their UTF-8 bytes), or undefined:
   * one request, however many keys follow, for walking a tree's top level without listing every key in it.
   */
  async firstKeyAfter(prefix: string, startAfter?: string): Promise<string | undefined> {
    const { client, sdk } = await this.connect();
    // Version 1 of the listing (Marker is V2's StartAfter): every S3-compatible store has it, and a V2 listing cut
    // short answers with a continuation token that s3rver makes with DES, which Node's OpenSSL 3 no longer has.
    const page = await client.send(
      new sdk.ListObjectsCommand({
        Bucket: this.location.bucket,
        Prefix: prefix,
        Marker: startAfter,
        MaxKeys: 1,
      }),
    );
    return page.Contents?.[0]?.Key;
  }

  /** Deletes every object under a prefix; returns how many. */
  async deletePrefix(prefix: string): Promise<number> {
    if (!prefix.endsWith('/')) throw new Error(`refusing to delete a prefix that is not a folder: ${prefix}`);
    let deleted = 0;
    let batch: string[] = [];
    const { client, sdk } = await this.connect();
    const flush = async () => {
      if (!batch.length) return;
      const res = await client.send(
        new sdk.DeleteObjectsCommand({
          Bucket: this.location.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if (res.Errors?.length) {
        throw new Error(
          `could not delete ${res.Errors.length} objects under ${prefix}: ${res.Errors[0].Message}`,
        );
      }
      deleted += batch.length;
      batch = [];
    };
    for await (const o of this.list(prefix)) {
      batch.push(o.key);
      if (batch.length === 1000) await flush();
    }
    await flush();
    return deleted;
  }
}
