// Exit codes, documented in the README. Others only where a user needs to tell outcomes apart.

export const ExitCode = {
  /** Every step succeeded. */
  ok: 0,
  /** The job failed (a step failed, something could not be deleted, a restore had failures). */
  failed: 1,
  /** Bad configuration: nothing was touched. */
  badConfig: 2,
  /** The node lock was not acquired before NSBACKUP_LOCK_TIMEOUT. */
  lockTimeout: 3,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure that maps to a specific exit code and a message meant for the user. */
export class JobError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failed,
  ) {
    super(message);
    this.name = 'JobError';
  }
}
