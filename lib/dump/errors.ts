// Failures of the database steps, each naming the step so that the run's summary says what failed.
import type { ExecResult } from '../exec/types.js';

export type DumpStep =
  'arguments' | 'tools' | 'server' | 'directory' | 'disk' | 'dump' | 'verify' | 'restore' | 'upload';

/** Exit codes of DB_SCRIPT, by step. */
export const STEP_BY_EXIT_CODE: Record<number, DumpStep> = {
  2: 'arguments',
  10: 'tools',
  11: 'server',
  12: 'directory',
  13: 'disk',
  14: 'dump',
  15: 'verify',
  16: 'restore',
  17: 'verify',
};

/** DB_SCRIPT's exit code for a file that is not there (cat): distinct from one that cannot be read. */
export const EXIT_FILE_MISSING = 17;

export class DumpError extends Error {
  constructor(
    message: string,
    readonly step: DumpStep,
    /** The tail of the command's stderr, for the log (the message already carries the script's own reason). */
    readonly stderr = '',
  ) {
    super(message);
    this.name = 'DumpError';
  }
}

/**
 * The error for a script that exited non-zero: its own `nsbackup:` line as the reason, plus the last lines the
 * database tool printed (e.g. pg_dump's "permission denied for table ..."), which are usually the real cause.
 */
export function scriptFailure(action: string, result: ExecResult, fallbackStep: DumpStep): DumpError {
  const step = STEP_BY_EXIT_CODE[result.exitCode] ?? fallbackStep;
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  const own = lines.filter((l) => l.startsWith('nsbackup: '));
  const reason = own.length
    ? own[own.length - 1].slice('nsbackup: '.length)
    : `${action} exited with code ${result.exitCode}`;
  const toolLines = lines.filter((l) => !l.startsWith('nsbackup: ')).slice(-5);
  const detail = toolLines.length ? ` (${toolLines.join(' | ').slice(0, 1000)})` : '';
  return new DumpError(`database ${step}${stepVerb(step)}: ${reason}${detail}`, step, result.stderr);
}

function stepVerb(step: DumpStep): string {
  return step === 'dump' || step === 'restore' || step === 'upload' ? ' failed' : ' check failed';
}
