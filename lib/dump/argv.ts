// Pure: the exec command and stdin for one run of the dump script. User values become separate argv elements; the
// password, when the Job holds it, becomes the first line of stdin.
import { dumpScript, type ScriptAction } from './script.js';
import { DumpError } from './errors.js';
import type { DbConnection } from './types.js';

export type { ScriptAction };

/** Actions that never talk to the database: no password is handed over for them. */
const WITHOUT_DATABASE: ReadonlySet<ScriptAction> = new Set(['cat']);

export interface ScriptInvocation {
  command: string[];
  /** The password line for stdin, when the password is handed over by the Job. */
  stdinPrefix?: Buffer;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function scriptInvocation(
  action: ScriptAction,
  db: DbConnection,
  options: { dumpDir?: string; thresholdPercent?: number; args?: string[] } = {},
): ScriptInvocation {
  const pw = WITHOUT_DATABASE.has(action) ? ({ from: 'none' } as const) : db.password;
  if (pw.from === 'env' && !VARIABLE_NAME.test(pw.name)) {
    throw new DumpError(
      `the password variable name "${pw.name}" is not a valid environment variable name`,
      'arguments',
    );
  }
  if (db.kind === 'command' && db.passwordVar !== undefined && !VARIABLE_NAME.test(db.passwordVar)) {
    throw new DumpError(
      `the command's password variable name "${db.passwordVar}" is not a valid environment variable name`,
      'arguments',
    );
  }
  if (db.kind === 'command' && pw.from !== 'none' && !db.passwordVar) {
    throw new DumpError(
      'a password for a command needs the variable to pass it in (e.g. REDISCLI_AUTH)',
      'arguments',
    );
  }
  if (pw.from === 'value' && /[\r\n]/.test(pw.value)) {
    throw new DumpError('a password handed over on stdin cannot contain a line break', 'arguments');
  }
  const threshold = options.thresholdPercent ?? 90;
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > 100) {
    throw new DumpError(`the disk threshold must be a whole percentage, not ${threshold}`, 'arguments');
  }
  const command = [
    'sh',
    '-c',
    dumpScript(db.kind, action),
    'nsbackup',
    action,
    db.kind,
    pw.from === 'value' ? 'stdin' : pw.from,
    pw.from === 'env' ? pw.name : '',
    db.user ?? '',
    db.host ?? '',
    db.port === undefined ? '' : String(db.port),
    options.dumpDir ?? '',
    String(threshold),
    // A command's password variable comes first (see script.ts), even for actions without a password.
    ...(db.kind === 'command' ? [db.passwordVar ?? ''] : []),
    ...(options.args ?? []),
  ];
  return {
    command,
    stdinPrefix: pw.from === 'value' ? Buffer.from(pw.value + '\n', 'utf8') : undefined,
  };
}

/** The dump's name for a command when none is given (NSBACKUP_DB_NAMES empty). */
export const DEFAULT_COMMAND_DUMP_NAME = 'command';

/** The dump file's name in the dump directory (mirrors file_base in the dump script). */
export function dumpFileName(kind: DbConnection['kind'], databases: string[]): string {
  if (kind === 'mysql') return databases.length ? 'databases.sql.gz' : 'all-databases.sql.gz';
  const safe = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (kind === 'command') return `${safe(databases[0] ?? DEFAULT_COMMAND_DUMP_NAME)}.dump.gz`;
  return `${safe(databases[0])}.sql.gz`;
}

/**
 * Kind `command`: its argv, refused when empty or when argv[0] is empty or looks like an option. Not shell words:
 * each element is one argument of the program, as in a Pod's `command`.
 */
export function commandArgv(db: DbConnection): string[] {
  const argv = db.command ?? [];
  if (!argv.length || !argv[0]) throw new DumpError('the command is empty: give its argv', 'arguments');
  if (argv[0].startsWith('-')) {
    throw new DumpError(`the command must not start with -: ${argv[0]}`, 'arguments');
  }
  if (argv.some((arg) => arg.includes('\0'))) {
    throw new DumpError('an argument of the command contains a NUL character', 'arguments');
  }
  return argv;
}

/** PostgreSQL databases whose names map to the same file would overwrite each other's dump. */
export function fileNameClashes(databases: string[]): string[][] {
  const byFile = new Map<string, string[]>();
  for (const db of databases) {
    const file = dumpFileName('postgres', [db]);
    byFile.set(file, [...(byFile.get(file) ?? []), db]);
  }
  return [...byFile.values()].filter((dbs) => dbs.length > 1);
}
