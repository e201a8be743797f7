// A scratch server for tests: lib/verify's SCRATCH_SCRIPT `serve`, as the scratch Job's container runs it, here as
// a local process (as the `postgres` user when we are root: initdb refuses root, as in the Job's pod), and an
// ExecFn that reaches it as an exec into that pod would (PGHOST / MYSQL_UNIX_PORT set to its directory).
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { localExec } from '../../lib/exec/index.js';
import type { SqlDbKind } from '../../lib/dump/index.js';
import { SCRATCH_SCRIPT } from '../../lib/verify/scratch-script.js';
import type { ScratchDatabase } from '../../lib/verify/restore-check.js';
import { PG_BIN } from '../kit/index.js';

export interface LocalScratch extends ScratchDatabase {
  /** The server's process, for checks that it is a process of its own. */
  server: ChildProcess;
  stop(): Promise<void>;
}

export const scratchEnv = (kind: SqlDbKind, dir: string): Record<string, string> =>
  kind === 'postgres'
    ? { PATH: `${PG_BIN}:${process.env.PATH}`, PGHOST: dir, PGUSER: 'postgres' }
    : { MYSQL_UNIX_PORT: join(dir, 'mysqld.sock') };

export function startScratch(kind: SqlDbKind): LocalScratch {
  const dir = mkdtempSync(join(tmpdir(), `nsbackup-scratch-${kind}-`));
  const argv = ['sh', '-c', SCRATCH_SCRIPT, 'nsbackup-verify', 'serve', kind, dir];
  const asPostgres = kind === 'postgres' && userInfo().uid === 0;
  if (asPostgres)
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres'])),
      Number(execFileSync('id', ['-g', 'postgres'])),
    );
  const env = { ...process.env, ...scratchEnv(kind, dir) };
  const server = asPostgres
    ? spawn('runuser', ['-u', 'postgres', '--', ...argv], { env, stdio: 'ignore', detached: true })
    : spawn(argv[0], argv.slice(1), { env, stdio: 'ignore', detached: true });
  return {
    exec: localExec({ env: scratchEnv(kind, dir) }),
    target: { namespace: 'verify', pod: 'scratch', container: 'db' },
    kind,
    dir,
    server,
    stop: async () => {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        try {
          process.kill(-server.pid!, 'SIGINT');
        } catch {
          // gone already
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
