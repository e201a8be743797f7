// A throwaway real Redis (Debian's redis-server 7) for tests: its own data directory, 127.0.0.1 on a free port, no
// automatic saves and no AOF (so dump.rdb in the directory is what a start loads), and a password, so tests can
// check that the password really reaches redis-cli. stop() is `SHUTDOWN NOSAVE`, as a container that is stopped
// for a restore; start() loads whatever dump.rdb the directory holds then.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface LocalRedis {
  port: number;
  password: string;
  /** The data directory: the server reads and writes dump.rdb here. */
  dir: string;
  /** Environment for redis-cli: REDISCLI_AUTH. */
  env: Record<string, string>;
  /** redis-cli against this server; returns stdout trimmed. */
  cli(...args: string[]): Promise<string>;
  /** Starts the server again (after stop()), loading dir/dump.rdb if there is one. */
  start(): Promise<void>;
  /** Stops the server without saving (the data directory stays). */
  stop(): Promise<void>;
  /** Stops the server and removes the directory. */
  remove(): Promise<void>;
}

export async function startRedis(opts: { password?: string } = {}): Promise<LocalRedis> {
  const password = opts.password ?? "redis secret 'quoted' $x";
  const dir = mkdtempSync(join(tmpdir(), 'nsbackup-redis-'));
  const port = await freePort();
  let server: ChildProcess | undefined;
  const env = { REDISCLI_AUTH: password };
  const cli = async (...args: string[]) =>
    (
      await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
        env: { ...process.env, ...env },
      })
    ).stdout.trim();

  const start = async () => {
    server = spawn(
      'redis-server',
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', dir,
        '--dbfilename', 'dump.rdb',
        '--save', '',
        '--appendonly', 'no',
        '--requirepass', password,
        '--daemonize', 'no',
      ], // prettier-ignore
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    live.add(server);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`redis-server exited with code ${server.exitCode}`);
      try {
        if ((await cli('PING')) === 'PONG') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const s = server;
    if (!s || s.exitCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    await cli('SHUTDOWN', 'NOSAVE').catch(() => s.kill('SIGKILL'));
    await exited;
    live.delete(s);
  };
  try {
    await start();
  } catch (e) {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    password,
    dir,
    env,
    cli,
    start,
    stop,
    remove: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
