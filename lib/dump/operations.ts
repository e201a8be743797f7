// The database steps of a backup and of restore-db: check, dump to a file in the container, restore. Each takes a
// DumpContext whose `exec` is podExec(kube) in a cluster and localExec() in tests. Uploads to S3: upload.ts.
import type { Readable } from 'node:stream';
import { DEFAULT_COMMAND_DUMP_NAME, commandArgv, fileNameClashes } from './argv.js';
import { DumpError, scriptFailure } from './errors.js';
import { runReportingScript, runStreamingScript } from './run.js';
import { DEFAULT_DISK_THRESHOLD_PERCENT } from './types.js';
import type { DbConnection, DumpContext, DumpFile } from './types.js';

/**
 * The script's arguments after the fixed ones, for check and dump: the database names, or for a command its dump's
 * name (at most one; default `command`) and its argv.
 */
function dumpArgs(db: DbConnection, databases: string[]): string[] {
  if (db.kind !== 'command') return databases;
  if (databases.length > 1) {
    throw new DumpError('a command writes one dump: give it at most one name', 'arguments');
  }
  return [databases[0] || DEFAULT_COMMAND_DUMP_NAME, ...commandArgv(db)];
}

/** The script's arguments for restore and check-restore: the source, then the database or the command's argv. */
function restoreArgs(db: DbConnection, source: string, database: string | undefined): string[] {
  return db.kind === 'command' ? [source, ...commandArgv(db)] : [source, database ?? ''];
}

export interface DumpDirOptions {
  /** Absolute directory inside the container (on the PVC that is snapshotted). */
  dumpDir: string;
  /** Fail when the disk of dumpDir is this many percent used or more (default 90). */
  thresholdPercent?: number;
}

export interface CheckResult {
  /** Tool name and the first line of its --version, e.g. { tool: 'pg_dump', version: 'pg_dump (PostgreSQL) 15.20' }. */
  versions: { tool: string; version: string }[];
  diskUsedPercent: number;
}

/**
 * Before anything is written, and writing nothing (a dry run runs it): the dump tool, the client and gzip exist,
 * the server answers SELECT 1 (as the configured user, in the first database), the dump directory exists and is
 * writable (or its nearest existing ancestor is, so the dump can create it), its disk is under the threshold, and
 * it has room for each named dump beside the previous one.
 */
export async function checkDatabase(
  ctx: DumpContext,
  options: DumpDirOptions & { databases?: string[] },
): Promise<CheckResult> {
  const report = await runReportingScript(
    ctx,
    'check',
    {
      dumpDir: options.dumpDir,
      thresholdPercent: options.thresholdPercent ?? DEFAULT_DISK_THRESHOLD_PERCENT,
      args: dumpArgs(ctx.db, options.databases ?? []),
    },
    'server',
  );
  return { versions: report.versions, diskUsedPercent: report.disk?.usedPercent ?? NaN };
}

export interface DumpResult {
  files: DumpFile[];
  durationMs: number;
  diskUsedPercent: number;
}

/**
 * Dumps into the dump directory: PostgreSQL one `<database>.sql.gz` per database (plain SQL, --clean
 * --if-exists; no databases = every connectable non-template database); MySQL/MariaDB one file with
 * --single-transaction --routines --triggers --events (`databases.sql.gz` for a list, `all-databases.sql.gz`
 * without). Each file is written to a temporary name of this run, verified (gzip -t, not empty) and only then
 * renamed over the previous dump, so a failed dump leaves the last good one as it was. Refused (step `disk`)
 * when the disk is over the threshold or has less room than the previous dump's size.
 */
export async function dumpDatabase(
  ctx: DumpContext,
  options: DumpDirOptions & { databases?: string[] },
): Promise<DumpResult> {
  const databases = options.databases ?? [];
  if (ctx.db.kind === 'postgres') {
    const clashes = fileNameClashes(databases);
    if (clashes.length) {
      throw new DumpError(
        `databases ${clashes.map((c) => c.map((d) => JSON.stringify(d)).join(' and ')).join('; ')} would share one dump file`,
        'arguments',
      );
    }
  }
  const started = performance.now();
  const report = await runReportingScript(
    ctx,
    'dump',
    {
      dumpDir: options.dumpDir,
      thresholdPercent: options.thresholdPercent ?? DEFAULT_DISK_THRESHOLD_PERCENT,
      args: dumpArgs(ctx.db, databases),
    },
    'dump',
  );
  if (report.files.length === 0) throw new DumpError('the dump reported no file', 'verify');
  return {
    files: report.files,
    durationMs: Math.round(performance.now() - started),
    diskUsedPercent: report.disk?.usedPercent ?? NaN,
  };
}

/**
 * Feeds a gzip dump into psql (single transaction, stop on the first error) or the mysql client, in the
 * container, or (kind command) into the restore command's stdin, decompressed: from a file there (`{ path }`), or streamed over stdin (`{ stream }`, e.g. from S3; needs a server
 * with the v5 exec protocol). PostgreSQL needs the target database; for MySQL it is optional (the dumps name
 * their databases).
 */
export async function restoreDump(
  ctx: DumpContext,
  options: { source: { path: string } | { stream: Readable }; database?: string },
): Promise<{ durationMs: number }> {
  const started = performance.now();
  const fromStream = 'stream' in options.source;
  const result = await runStreamingScript(
    ctx,
    'restore',
    {
      args: restoreArgs(
        ctx.db,
        fromStream ? '-' : (options.source as { path: string }).path,
        options.database,
      ),
    },
    { stdin: fromStream ? (options.source as { stream: Readable }).stream : undefined },
    'restore',
  );
  if (result.exitCode !== 0) throw scriptFailure('restore', result, 'restore');
  return { durationMs: Math.round(performance.now() - started) };
}

/**
 * What a dry run of restore-db checks, writing nothing: the client (or the restore command) and gzip exist in the
 * container, the server answers SELECT 1 (not for a command), and a source file in the container is readable.
 */
export async function checkRestore(
  ctx: DumpContext,
  options: { source: { path: string } | 'stream'; database?: string },
): Promise<CheckResult> {
  const source = options.source === 'stream' ? '-' : options.source.path;
  const report = await runReportingScript(
    ctx,
    'check-restore',
    { args: restoreArgs(ctx.db, source, options.database) },
    'restore',
  );
  return { versions: report.versions, diskUsedPercent: NaN };
}
