// The one contract every exec runner (pods/exec over client-node, a local process for tests and the demo)
// fulfils, so that the dump and hook code can be tested without a cluster.
import type { Readable, Writable } from 'node:stream';

export interface ExecOptions {
  namespace: string;
  pod: string;
  container: string;
  /** argv: each element reaches the process as one argument. Never build a shell string from user values. */
  command: string[];
  /**
   * Bytes for the command's stdin. Ended (EOF) at the end of the source when the server supports half-close
   * (v5.channel.k8s.io, Kubernetes >= 1.30); on older servers the channel stays open, so a command must not wait
   * for EOF unless `requireStdinEof` is set (which then fails fast).
   */
  stdin?: Readable | Buffer;
  requireStdinEof?: boolean;
  /**
   * Receives the command's stdout, with backpressure. It is NOT ended by the runner: only the caller knows
   * whether output of a failed command is garbage (destroy it) or complete (end it).
   */
  stdout?: Writable;
  /** The last this-many bytes of stderr are kept for error messages (default 64 KiB). */
  stderrLimitBytes?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  /** The tail of stderr (at most stderrLimitBytes), decoded as UTF-8. */
  stderr: string;
  /** True when stderr was longer than the limit and only its tail is kept. */
  stderrTruncated: boolean;
}

/** Runs one command to completion: resolves with its exit code, rejects when it could not run or finish. */
export type ExecFn = (options: ExecOptions) => Promise<ExecResult>;

/** The command could not be run or its session broke (as opposed to running and exiting non-zero). */
export class ExecError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'ExecError';
  }
}

export const DEFAULT_STDERR_LIMIT = 64 * 1024;
