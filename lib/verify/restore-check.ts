// The restorability level of `nsbackup verify`: each dump of a backup loaded into a scratch server of the
// database's own image, then the user's assertions run against what loaded. The scratch server runs wherever
// `exec` reaches (a scratch Job's pod in a cluster, local processes in tests); it is never the production database.
// The dump arrives decrypted on the exec's stdin (the key stays in the verifier) and gunzipped in the pod.
import { createGunzip } from 'node:zlib';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execCapture } from '../exec/capture.js';
import { ExecError, type ExecFn } from '../exec/types.js';
import { scriptFailure } from '../dump/errors.js';
import type { SqlDbKind, ExecTarget } from '../dump/index.js';
import { defaultDatabase, judgeOutput, type Assertion, type AssertionResult } from './assertions.js';
import { createDumpScanner, type DumpScan } from './dump-scan.js';
import { SCRATCH_SCRIPT } from './scratch-script.js';

export interface ScratchDatabase {
  exec: ExecFn;
  /** The scratch pod's container. */
  target: ExecTarget;
  kind: SqlDbKind;
  /** The scratch directory the server runs in (its socket is there). */
  dir: string;
  signal?: AbortSignal;
}

export interface DumpToLoad {
  /** The file's name in the backup (`shop.sql.gz`). */
  name: string;
  /** The manifest's database: PostgreSQL the database; MySQL the listed databases or all-databases. */
  database: string;
  /** The stored file decrypted: gzip bytes. Called once per pass (scan, load). */
  open: () => Promise<Readable>;
  /** What the integrity pass saw in it; scanned here (one more read) when absent. */
  scan?: DumpScan;
}

export interface DumpLoad {
  name: string;
  database: string;
  ok: boolean;
  durationMs: number;
  /** PostgreSQL roles the dump names, created (without login) in the scratch server before the load. */
  roles?: string[];
  problem?: string;
  /** The last lines the loader (psql, mariadb, gzip) printed on stderr. */
  stderrTail?: string;
}

export interface RestoreCheck {
  ok: boolean;
  loads: DumpLoad[];
  assertions: AssertionResult[];
  durationMs: number;
  /** Why nothing could be checked (the scratch server did not start). */
  problem?: string;
}

/** The last lines of a tool's stderr, without our own `nsbackup:` lines (they are in `problem`). */
export function stderrTail(stderr: string, lines = 8): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('nsbackup: '))
    .slice(-lines)
    .join('\n')
    .slice(-2000);
}

function scratchCommand(s: ScratchDatabase, action: string, args: string[]): string[] {
  return ['sh', '-c', SCRATCH_SCRIPT, 'nsbackup-verify', action, s.kind, s.dir, ...args];
}

async function runScratch(
  s: ScratchDatabase,
  action: string,
  args: string[],
  stdin?: Buffer,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return execCapture(s.exec, {
    ...s.target,
    command: scratchCommand(s, action, args),
    stdin,
    requireStdinEof: stdin !== undefined,
    stdoutLimitBytes: 64 * 1024,
    signal: s.signal,
  });
}

/** Waits until the scratch server answers; throws with its reason (and the server log's tail) otherwise. */
export async function waitForScratchServer(s: ScratchDatabase, seconds: number): Promise<void> {
  const r = await runScratch(s, 'ready', [String(seconds)]);
  if (r.exitCode !== 0) throw scriptFailure('ready', { ...r, stderrTruncated: false }, 'server');
}

/** Reads a dump (gzip) to its end through the scanner. */
export async function scanDump(kind: SqlDbKind, stream: Readable, signal?: AbortSignal): Promise<DumpScan> {
  const scanner = createDumpScanner(kind);
  await pipeline(
    stream,
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        scanner.push(chunk);
        cb();
      },
    }),
    { signal },
  );
  return scanner.result();
}

/** Loads one dump into the scratch server: database and roles first (PostgreSQL), then the SQL over stdin. */
export async function loadDump(s: ScratchDatabase, dump: DumpToLoad): Promise<DumpLoad> {
  const started = performance.now();
  let database = dump.database;
  const done = (rest: Partial<DumpLoad> & { ok: boolean }): DumpLoad => ({
    name: dump.name,
    database,
    durationMs: Math.round(performance.now() - started),
    ...rest,
  });
  let scan = dump.scan;
  if (!scan) {
    try {
      scan = await scanDump(s.kind, await dump.open(), s.signal);
    } catch (e) {
      return done({ ok: false, problem: `the dump cannot be read to its end: ${(e as Error).message}` });
    }
  }
  // A MySQL backup's manifest says only `databases` (or `all-databases`): the names are those the dump switches
  // to. Without this a query lacking `-- database:` ran in a database called "databases" (ERROR 1049).
  if (s.kind === 'mysql' && scan.databases.length) database = scan.databases.join(' ');
  const roles = s.kind === 'postgres' ? scan.roles : undefined;
  if (s.kind === 'postgres') {
    const prepared = await runScratch(s, 'prepare', [dump.database, ...scan.roles]);
    if (prepared.exitCode !== 0)
      return done({
        ok: false,
        roles,
        problem: scriptFailure('prepare', { ...prepared, stderrTruncated: false }, 'restore').message,
        stderrTail: stderrTail(prepared.stderr),
      });
  }
  const source = await dump.open();
  let result;
  try {
    result = await s.exec({
      ...s.target,
      command: scratchCommand(s, 'load', [s.kind === 'postgres' ? dump.database : '']),
      stdin: source,
      requireStdinEof: true,
      signal: s.signal,
    });
  } catch (e) {
    if (e instanceof ExecError)
      return done({ ok: false, roles, problem: `the load broke off: ${e.message}` });
    throw e;
  } finally {
    source.destroy();
  }
  if (result.exitCode !== 0) {
    const own = result.stderr
      .split('\n')
      .filter((l) => l.startsWith('nsbackup: '))
      .at(-1);
    return done({
      ok: false,
      roles,
      problem: own ? own.slice('nsbackup: '.length) : `the load exited with code ${result.exitCode}`,
      stderrTail: stderrTail(result.stderr),
    });
  }
  // Every statement in it loaded, yet a dump cut short (a full disk, a killed dump) lacks the tool's last line.
  if (!scan.complete)
    return done({
      ok: false,
      roles,
      problem:
        'the dump loaded but does not end with the dump tool\'s completion line ("dump complete"): it is truncated',
      stderrTail: stderrTail(result.stderr),
    });
  return done({ ok: true, roles });
}

/** Runs one assertion in the scratch server. */
export async function runAssertion(
  s: ScratchDatabase,
  assertion: Assertion,
  database: string | undefined,
): Promise<AssertionResult> {
  const started = performance.now();
  const base = { name: assertion.name, ...(database ? { database } : {}) };
  const took = () => Math.round(performance.now() - started);
  if (s.kind === 'postgres' && !database)
    return {
      ...base,
      ok: false,
      durationMs: 0,
      problem: 'several databases were restored: name one with a line "-- database: NAME" in the file',
    };
  let r;
  try {
    r = await runScratch(s, 'query', [database ?? ''], Buffer.from(assertion.sql, 'utf8'));
  } catch (e) {
    if (e instanceof ExecError) return { ...base, ok: false, durationMs: took(), problem: e.message };
    throw e;
  }
  if (r.exitCode !== 0)
    return {
      ...base,
      ok: false,
      durationMs: took(),
      problem: `the query failed: ${stderrTail(r.stderr, 3)}`,
    };
  return { ...base, ...judgeOutput(s.kind, r.stdout), durationMs: took() };
}

/**
 * The whole level: the server answers, every dump loads, then every assertion passes. Assertions run only when
 * every dump loaded (a half-loaded database proves nothing either way).
 */
export async function checkRestore(
  s: ScratchDatabase,
  input: { dumps: DumpToLoad[]; assertions: Assertion[]; readySeconds?: number },
): Promise<RestoreCheck> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  try {
    await waitForScratchServer(s, input.readySeconds ?? 120);
  } catch (e) {
    if (!(e instanceof Error) || s.signal?.aborted) throw e;
    return { ok: false, loads: [], assertions: [], durationMs: took(), problem: e.message };
  }
  const loads: DumpLoad[] = [];
  for (const dump of input.dumps) loads.push(await loadDump(s, dump));
  const loaded = loads.every((l) => l.ok);
  const assertions: AssertionResult[] = [];
  if (loaded) {
    // What each load found in its dump (MySQL), not the manifest's placeholder.
    const fallback = defaultDatabase(
      s.kind,
      loads.map((l) => l.database),
    );
    for (const a of input.assertions) assertions.push(await runAssertion(s, a, a.database ?? fallback));
  }
  return {
    ok: loads.length > 0 && loaded && assertions.every((a) => a.ok),
    loads,
    assertions,
    durationMs: took(),
    ...(loads.length === 0 ? { problem: 'the backup holds no database dump' } : {}),
  };
}
