// PostgreSQL globals: roles (with their attributes, settings and comments), role memberships and tablespaces,
// which live outside every database and so in no pg_dump. Without them a restore into a new server stops at the
// first `ALTER TABLE ... OWNER TO app`. Dumped with `pg_dumpall --globals-only` beside the databases (role
// passwords only when asked), restored first by restore-db, leaving alone what the server already has.
import { posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { DumpError, EXIT_FILE_MISSING, scriptFailure } from './errors.js';
import { globalsScript, membershipKey, planGlobals, type GlobalsPlan } from './globals-plan.js';
import { runReportingScript, runStreamingScript } from './run.js';
import { DEFAULT_DISK_THRESHOLD_PERCENT, type DumpContext, type DumpFile } from './types.js';

/** `roles`: without role passwords (any user can dump them); `with-passwords`: their hashes too (superuser). */
export type GlobalsMode = 'roles' | 'with-passwords' | 'off';

/** Its file in the dump directory: `@` is in no database's file name, so the two never collide. */
export const GLOBALS_DUMP_FILE = '@globals.sql.gz';

export async function dumpGlobals(
  ctx: DumpContext,
  options: { dumpDir: string; thresholdPercent?: number; withPasswords: boolean },
): Promise<DumpFile> {
  if (ctx.db.kind !== 'postgres') throw new DumpError('globals are dumped for PostgreSQL only', 'arguments');
  const report = await runReportingScript(
    ctx,
    'globals',
    {
      dumpDir: options.dumpDir,
      thresholdPercent: options.thresholdPercent ?? DEFAULT_DISK_THRESHOLD_PERCENT,
      args: [options.withPasswords ? 'passwords' : 'no-passwords'],
    },
    'dump',
  );
  const file = report.files[0];
  if (!file) throw new DumpError('the globals dump reported no file', 'verify');
  return { ...file, globals: true };
}

/** A globals dump is small (a few KiB per hundred roles): one this big is no globals dump. */
const MAX_GLOBALS_BYTES = 64 * 1024 * 1024;

/**
 * The globals dump a backup left beside `dumpPath` in the container, as SQL; undefined when there is none (a backup
 * with NSBACKUP_DB_GLOBALS=off, or made before globals were dumped).
 */
export async function readGlobalsBeside(ctx: DumpContext, dumpPath: string): Promise<string | undefined> {
  const dumpDir = posix.dirname(dumpPath);
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > MAX_GLOBALS_BYTES)
        return done(new DumpError(`${GLOBALS_DUMP_FILE} is over 64 MiB`, 'verify'));
      chunks.push(chunk);
      done();
    },
  });
  const result = await runStreamingScript(
    ctx,
    'cat',
    { dumpDir, args: [posix.join(dumpDir, GLOBALS_DUMP_FILE)] },
    { stdout: sink },
    'restore',
  );
  // Absent: a backup made without globals. Present but unreadable fails below like any other cat.
  if (result.exitCode === EXIT_FILE_MISSING) return undefined;
  if (result.exitCode !== 0) throw scriptFailure('cat', result, 'restore');
  try {
    return gunzipSync(Buffer.concat(chunks)).toString('utf8');
  } catch (e) {
    throw new DumpError(
      `${posix.join(dumpDir, GLOBALS_DUMP_FILE)} is no gzip file: ${(e as Error).message}`,
      'verify',
    );
  }
}

export interface GlobalsRestore extends GlobalsPlan {
  durationMs: number;
}

/**
 * Applies a globals dump (plain SQL) to the server of `database`: roles and tablespaces it already has are left
 * as they are (no CREATE, no ALTER, no password change), the missing ones created, missing memberships granted. A dry run
 * asks the server what it has and returns the plan without applying it.
 */
export async function restoreGlobals(
  ctx: DumpContext,
  options: { sql: string; database: string; dryRun?: boolean },
): Promise<GlobalsRestore> {
  const started = performance.now();
  const report = await runReportingScript(ctx, 'existing-globals', { args: [options.database] }, 'server');
  let plan: GlobalsPlan;
  try {
    plan = planGlobals(options.sql, {
      roles: new Set(report.roles),
      tablespaces: new Set(report.tablespaces),
      memberships: new Set(report.memberships.map(([role, member]) => membershipKey(role, member))),
    });
  } catch (e) {
    throw new DumpError(`the globals dump cannot be read: ${(e as Error).message}`, 'restore');
  }
  if (!options.dryRun && plan.statements.length) {
    const result = await runStreamingScript(
      ctx,
      'restore-globals',
      { args: [options.database] },
      { stdin: Readable.from([Buffer.from(globalsScript(plan), 'utf8')]) },
      'restore',
    );
    if (result.exitCode !== 0) throw scriptFailure('restore-globals', result, 'restore');
  }
  return { ...plan, durationMs: Math.round(performance.now() - started) };
}
