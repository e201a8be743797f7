// A small S3 adapter: streamed multipart uploads, streamed downloads, paginated listings without delimiters
// (s3rver, and some S3-compatible stores, drop CommonPrefixes for folders holding only deeper keys).

import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Location } from './settings.js';

export interface StoredObject {
  key: string;
  size: number;
  lastModified?: Date;
}

export class S3Store {
  readonly client: S3Client;

  constructor(
    readonly location: S3Location,
    credentials?: { accessKeyId: string; secretAccessKey: string },
  ) {
    this.client = new S3Client({
      region: location.region,
      endpoint: location.endpoint,
      forcePathStyle: location.forcePathStyle,
      credentials,
      // The SDK's default flexible checksums send streamed bodies aws-chunked with a trailing CRC; s3rver and many
      // S3-compatible stores then store the framing as the object. Only checksum when the operation requires it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 5,
    });
  }

  /** Full key under the configured prefix. */
  key(...parts: string[]): string {
    return [this.location.prefix, ...parts].filter(Boolean).join('/');
  }

  url(key: string): string {
    return `s3://${this.location.bucket}/${key}`;
  }

  /** Streams a body to S3 with a multipart upload (8 MiB parts, bounded memory). */
  async upload(
    key: string,
    body: Readable | Buffer | string,
    contentType = 'application/octet-stream',
  ): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.location.bucket, Key: key, Body: body, ContentType: contentType },
      queueSize: 2,
      partSize: 8 * 1024 * 1024,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async download(key: string): Promise<Readable> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
    return res.Body as Readable;
  }

  async downloadText(key: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of await this.download(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return true;
    } catch (e: any) {
      if (e?.$metadata?.httpStatusCode === 404 || e?.name === 'NotFound' || e?.name === 'NoSuchKey')
        return false;
      throw e;
    }
  }

  async *list(prefix: string): AsyncGenerator<StoredObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes every object under a prefix; returns how many. */
  async deletePrefix(prefix: string): Promise<number> {
    if (!prefix.endsWith('/')) throw new Error(`refusing to delete a prefix that is not a folder: ${prefix}`);
    let deleted = 0;
    let batch: string[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const res = await this.client.send(
        new DeleteObjectsCommand({
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
