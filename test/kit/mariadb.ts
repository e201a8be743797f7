// A throwaway real MariaDB for tests and the demo: mariadb-install-db into a temp datadir, the server on
// 127.0.0.1 with a free port and its socket in the temp dir, real grants: root gets a password (no unix_socket
// login), so tests can check that passwords really matter.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface LocalMariaDb {
  host: string;
  port: number;
  user: string;
  password: string;
  socket: string;
  dir: string;
  /** Environment for a local client process (mariadb, mysqldump): MYSQL_HOST, MYSQL_TCP_PORT. */
  env: Record<string, string>;
  /** Runs SQL with the mariadb client (batch, no column names) and returns its stdout. */
  sql(sql: string, db?: string): Promise<string>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function startMariaDb(opts: { password?: string } = {}): Promise<LocalMariaDb> {
  const password = opts.password ?? "my-secret 'quoted' $x";
  const dir = mkdtempSync(join(tmpdir(), 'nsbackup-mariadb-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  let server: ChildProcess | undefined;
  const cleanup = () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    if (server) live.delete(server);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const asUser = userInfo().uid === 0 ? ['--user=root'] : [];
    // Small InnoDB files, the same at install and at start (a size change makes the server rebuild its redo log).
    const small = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=8M'];
    await run('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${data}`,
      ...asUser,
      ...small,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
    ]);
    const port = await freePort();
    server = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${data}`,
        ...asUser,
        `--port=${port}`,
        `--socket=${socket}`,
        '--bind-address=127.0.0.1',
        '--skip-networking=0',
        '--skip-name-resolve',
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        ...small,
        '--innodb-flush-log-at-trx-commit=0',
        '--skip-log-bin',
        '--log-error=' + join(dir, 'error.log'),
      ],
      { stdio: 'ignore' },
    );
    live.add(server);
    const env: Record<string, string> = { MYSQL_HOST: '127.0.0.1', MYSQL_TCP_PORT: String(port) };
    const client = (sql: string, db: string | undefined, pwd: string | undefined) =>
      run(
        'mariadb',
        [
          '--no-defaults',
          '--protocol=TCP',
          '-h127.0.0.1',
          `-P${port}`,
          '-uroot',
          '--batch',
          '--skip-column-names',
          ...(db ? [db] : []),
          '-e',
          sql,
        ],
        { env: { ...process.env, ...(pwd !== undefined ? { MYSQL_PWD: pwd } : {}) }, maxBuffer: 64 << 20 },
      );
    // A fresh datadir: root has no password yet; set it, then every later call uses it.
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error('mariadbd exited during start-up');
      try {
        await client('SELECT 1', undefined, undefined);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`mariadbd did not start: ${String(e)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const quoted = password.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    await client(
      `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; ` +
        `ALTER USER 'root'@'localhost' IDENTIFIED BY '${quoted}'; ` +
        `ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '${quoted}'; ` +
        `GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;`,
      undefined,
      undefined,
    );
    const proc = server;
    return {
      host: '127.0.0.1',
      port,
      user: 'root',
      password,
      socket,
      dir,
      env,
      sql: async (sql, db) => (await client(sql, db, password)).stdout.trim(),
      stop: async () => {
        if (proc.exitCode === null) {
          const exited = new Promise((r) => proc.once('exit', r));
          proc.kill('SIGTERM');
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
