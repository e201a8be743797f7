// A throwaway real PostgreSQL 15 for tests and the demo: initdb into a temp dir (as the `postgres` user when we
// are root, because initdb refuses to run as root), TCP on 127.0.0.1 with a free port, the unix socket in the
// temp dir, scram password authentication for everyone so that tests can check that passwords really matter.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './ports.js';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface LocalPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The data and socket directory (removed by stop()). */
  dir: string;
  /** Environment for a local process (psql, pg_dump): PATH with the PostgreSQL 15 binaries, PGHOST... */
  env: Record<string, string>;
  /** Runs SQL with psql (ON_ERROR_STOP) and returns its stdout (unaligned, tuples only). */
  psql(sql: string, db?: string): Promise<string>;
  stop(): Promise<void>;
}

/** initdb and postgres refuse to run as root: when we are root, run them as the `postgres` system user. */
async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startPostgres(opts: { user?: string; password?: string } = {}): Promise<LocalPostgres> {
  const user = opts.user ?? 'nsbackup';
  const password = opts.password ?? 'pg-secret-Ünïcode $x';
  const dir = mkdtempSync(join(tmpdir(), 'nsbackup-pg-'));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  const ids = await postgresIds();
  if (ids) {
    chownSync(dir, ids.uid, ids.gid);
    chownSync(pwfile, ids.uid, ids.gid);
  }
  chmodSync(dir, 0o755);
  let server: ChildProcess | undefined;
  const cleanup = () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    if (server) live.delete(server);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run(
      join(PG_BIN, 'initdb'),
      [
        '-D',
        data,
        '-U',
        user,
        '--pwfile',
        pwfile,
        '--auth',
        'scram-sha-256',
        '--encoding',
        'UTF8',
        '--locale',
        'C',
        '--no-sync',
      ],
      { ...ids, cwd: dir },
    );
    const port = await freePort();
    const args = [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ];
    server = spawn(join(PG_BIN, 'postgres'), args, { ...ids, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(server);
    let serverLog = '';
    server.stderr!.on('data', (c: Buffer) => (serverLog = (serverLog + c.toString()).slice(-4000)));
    const env: Record<string, string> = {
      PATH: `${PG_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      PGHOST: '127.0.0.1',
      PGPORT: String(port),
      PGUSER: user,
      PGDATABASE: 'postgres',
    };
    const psql = async (sql: string, db = 'postgres'): Promise<string> => {
      const { stdout } = await run(
        join(PG_BIN, 'psql'),
        ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql],
        { env: { ...process.env, ...env, PGPASSWORD: password }, maxBuffer: 64 * 1024 * 1024 },
      );
      return stdout.trim();
    };
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`postgres exited: ${serverLog}`);
      try {
        await psql('SELECT 1');
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`postgres did not start: ${serverLog || String(e)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const proc = server;
    return {
      host: '127.0.0.1',
      port,
      user,
      password,
      dir,
      env,
      psql,
      stop: async () => {
        if (proc.exitCode === null) {
          const exited = new Promise((r) => proc.once('exit', r));
          proc.kill('SIGINT'); // fast shutdown
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        }
        cleanup();
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}
