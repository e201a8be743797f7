// For commands with small output (versions, checks): collects stdout in memory, up to a limit.
import { Writable } from 'node:stream';
import { ExecError } from './types.js';
import type { ExecFn, ExecOptions, ExecResult } from './types.js';

export interface CaptureResult extends ExecResult {
  stdout: string;
}

export async function execCapture(
  exec: ExecFn,
  options: Omit<ExecOptions, 'stdout'> & { stdoutLimitBytes?: number },
): Promise<CaptureResult> {
  const limit = options.stdoutLimitBytes ?? 1024 * 1024;
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  const stdout = new Writable({
    write(chunk: Buffer, _enc, callback) {
      size += chunk.length;
      if (size > limit) overflow = true;
      else chunks.push(chunk);
      callback();
    },
  });
  const result = await exec({ ...options, stdout });
  if (overflow) {
    throw new ExecError(`exec: output larger than ${limit} bytes (${options.command[0]})`, 'OutputTooLarge');
  }
  return { ...result, stdout: Buffer.concat(chunks).toString('utf8') };
}
