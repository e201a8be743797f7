// Keeps the last N bytes written, for error messages from a command whose stderr may be huge.
import { Writable } from 'node:stream';

export class TailBuffer extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    callback();
  }

  push(chunk: Buffer): void {
    if (this.limit <= 0) {
      this.truncated ||= chunk.length > 0;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0].length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
      this.truncated = true;
    }
    if (this.chunks.length > 64) this.chunks = [Buffer.concat(this.chunks)];
  }

  text(): string {
    let all = Buffer.concat(this.chunks);
    if (all.length > this.limit) {
      all = all.subarray(all.length - this.limit);
      this.truncated = true;
    }
    // A cut in the middle of a UTF-8 sequence decodes as U+FFFD; strip that one leading artefact.
    return all.toString('utf8').replace(/^\uFFFD+/, '');
  }
}
