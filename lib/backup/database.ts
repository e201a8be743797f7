// The database steps of the flow, backed by the dump scripts of lib/dump (engineer E1) run over `exec`.

import { JobError } from '../exit.js';
import type { Logger } from '../log.js';
import type { DatabaseOps, ExecFn } from './ports.js';

export function databaseAdapter(exec: ExecFn, log: Logger): DatabaseOps {
  void exec;
  void log;
  const missing = async (): Promise<never> => {
    throw new JobError('database dumps are not available in this build (lib/dump is missing)');
  };
  return { check: missing, dump: missing };
}
