// A lean streamed upload: the body is copied into one of two part buffers that are reused for the whole upload
// (one being filled while the other is sent), so memory is two parts whatever the object's size, and no part is
// assembled by concatenating chunks (lib-storage's Upload allocates a fresh Buffer.concat per part and keeps up to
// queueSize + 1 of them, which is most of the garbage a long dump leaves for the collector).
// A body shorter than one part is sent with one PutObject, and only once it has ended: a body that fails or is
// destroyed never completes an object. A multipart upload is completed only after the body ended, and aborted
// (parts discarded) on any failure.
import { Writable } from 'node:stream';
import type { CompletedPart } from '@aws-sdk/client-s3';
import type { S3Connection } from './sdk.js';

/** S3's limits: every part but the last at least 5 MiB, at most 10,000 parts. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** Parts keep the configured size up to this part number; then the size doubles every PART_GROWTH_STEP parts. */
export const PART_GROWTH_FROM = 5_000;
export const PART_GROWTH_STEP = 1_000;

/**
 * The size of part `partNumber` (1-based): the base size for the first 5,000 parts, then doubling every 1,000,
 * so that 10,000 parts reach 273 GiB with 8 MiB parts (171 GiB with 5 MiB) while an object under 39 GiB (24 GiB)
 * never needs more than two base-size buffers.
 */
export function partSizeFor(partNumber: number, baseSize: number): number {
  if (partNumber <= PART_GROWTH_FROM) return baseSize;
  return baseSize * 2 ** Math.ceil((partNumber - PART_GROWTH_FROM) / PART_GROWTH_STEP);
}

export interface MultipartTarget {
  /**
   * The client and the SDK of its commands, loaded by the store (lib/s3/sdk.ts), not imported here. A promise, so
   * that the writer is piped to at once: a body that fails while the SDK loads still finds its consumer.
   */
  connection: Promise<S3Connection>;
  bucket: string;
  key: string;
  contentType: string;
  /** Base part size in bytes (at least 5 MiB). */
  partSize: number;
}

/**
 * A Writable that stores what is written to it as one S3 object. 'finish' means the object is complete;
 * destroying it (or an error) aborts the multipart upload and stores nothing. Backpressure: a write is
 * acknowledged once it is copied, except when both part buffers are full, then once the earlier part is sent.
 */
export class MultipartWriter extends Writable {
  private readonly target: MultipartTarget;
  private filling: Buffer;
  private filled = 0;
  private spare: Buffer | undefined;
  private partNumber = 1;
  private readonly parts: CompletedPart[] = [];
  private uploadId: string | undefined;
  private creating: Promise<string> | undefined;
  private inFlight: Promise<void> | undefined;
  private partError: Error | undefined;

  constructor(target: MultipartTarget) {
    // A small buffer in front of the part buffers: they are the buffering.
    super({ highWaterMark: 64 * 1024, decodeStrings: true });
    if (target.partSize < MIN_PART_SIZE) {
      throw new RangeError(`part size ${target.partSize} is under S3's minimum of ${MIN_PART_SIZE} bytes`);
    }
    this.target = target;
    this.filling = Buffer.allocUnsafe(target.partSize);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.consume(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.abort().then(
      () => callback(error),
      () => callback(error),
    );
  }

  private async consume(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      // A full buffer is sent only once more bytes follow: the end of the body decides which is the last part
      // (and whether one PutObject does).
      if (this.filled === this.filling.length) await this.sendFullPart();
      const copied = chunk.copy(this.filling, this.filled, offset);
      this.filled += copied;
      offset += copied;
    }
  }

  // Sends the filled buffer as the next part and continues in the other one; waits while the other is in flight.
  private async sendFullPart(): Promise<void> {
    if (this.partNumber >= MAX_PARTS) {
      throw new Error(
        `the object needs more than S3's ${MAX_PARTS} parts (base part size ${this.target.partSize})`,
      );
    }
    const uploadId = await this.ensureMultipart();
    await this.inFlight;
    if (this.partError) throw this.partError;
    const full = this.filling;
    const partNumber = this.partNumber++;
    const nextSize = partSizeFor(this.partNumber, this.target.partSize);
    this.filling = this.spare && this.spare.length === nextSize ? this.spare : Buffer.allocUnsafe(nextSize);
    this.spare = undefined;
    this.filled = 0;
    this.inFlight = this.sendPart(uploadId, partNumber, full).then(
      () => {
        this.spare = full;
      },
      (e: unknown) => {
        this.partError ??= e instanceof Error ? e : new Error(String(e));
        // Fail now, not at the next part boundary: whoever feeds the body learns it at once.
        this.destroy(this.partError);
      },
    );
  }

  private async sendPart(uploadId: string, partNumber: number, body: Buffer): Promise<void> {
    const { client, sdk } = await this.target.connection;
    const res = await client.send(
      new sdk.UploadPartCommand({
        Bucket: this.target.bucket,
        Key: this.target.key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: body.length,
      }),
    );
    this.parts.push({ PartNumber: partNumber, ETag: res.ETag });
  }

  private ensureMultipart(): Promise<string> {
    this.creating ??= this.target.connection
      .then(({ client, sdk }) =>
        client.send(
          new sdk.CreateMultipartUploadCommand({
            Bucket: this.target.bucket,
            Key: this.target.key,
            ContentType: this.target.contentType,
          }),
        ),
      )
      .then((res) => {
        if (!res.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
        this.uploadId = res.UploadId;
        return res.UploadId;
      });
    return this.creating;
  }

  private async finish(): Promise<void> {
    if (!this.creating) {
      // Shorter than one part: a single PutObject, sent only now that the body has ended.
      const { client, sdk } = await this.target.connection;
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.target.bucket,
          Key: this.target.key,
          Body: this.filling.subarray(0, this.filled),
          ContentLength: this.filled,
          ContentType: this.target.contentType,
        }),
      );
      return;
    }
    const uploadId = await this.creating;
    await this.inFlight;
    if (this.partError) throw this.partError;
    if (this.filled > 0 || this.parts.length === 0) {
      await this.sendPart(uploadId, this.partNumber++, this.filling.subarray(0, this.filled));
    }
    const { client, sdk } = await this.target.connection;
    await client.send(
      new sdk.CompleteMultipartUploadCommand({
        Bucket: this.target.bucket,
        Key: this.target.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [...this.parts].sort((a, b) => a.PartNumber! - b.PartNumber!) },
      }),
    );
    this.uploadId = undefined; // completed: nothing to abort
  }

  // Discards the parts of an unfinished multipart upload. Best effort: a failed abort leaves parts that the
  // bucket's lifecycle rule for incomplete uploads removes, never an object.
  private async abort(): Promise<void> {
    await this.creating?.catch(() => undefined);
    await this.inFlight;
    const uploadId = this.uploadId;
    if (!uploadId) return;
    this.uploadId = undefined;
    await this.target.connection
      .then(({ client, sdk }) =>
        client.send(
          new sdk.AbortMultipartUploadCommand({
            Bucket: this.target.bucket,
            Key: this.target.key,
            UploadId: uploadId,
          }),
        ),
      )
      .catch(() => undefined);
  }
}
