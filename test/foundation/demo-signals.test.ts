// `npm run demo` cleans up everything it started, also when stopped (Ctrl-C, SIGTERM) while PostgreSQL is still
// starting. The demo runs as a child process and is signalled the moment its PostgreSQL server process appears
// (before it accepts connections); afterwards that server must be gone and its data directory removed.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/helm.js';
import { PG_BIN } from '../helpers/postgres.js';

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  argv: string[];
}

function proc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, ppid: Number(ppid), state, argv };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** The PostgreSQL server the process `parent` started, with its data directory. */
function postgresServerOf(parent: number): { pid: number; dataDir: string } | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const p = proc(Number(entry));
    if (!p || p.ppid !== parent || p.argv[0] !== join(PG_BIN, 'postgres')) continue;
    const d = p.argv.indexOf('-D');
    if (d >= 0) return { pid: p.pid, dataDir: p.argv[d + 1] };
  }
  return undefined;
}

const running = (pid: number) => {
  const p = proc(pid);
  return p !== undefined && p.state !== 'Z';
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!existsSync(join(PG_BIN, 'pg_ctl')))('the demo, stopped while PostgreSQL starts', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s: the server is stopped and its files removed',
    async (signal) => {
      const demo = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      demo.stdout.on('data', (c: Buffer) => (output += c.toString()));
      demo.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<number | null>((resolve) => demo.on('exit', (code) => resolve(code)));

      let server: { pid: number; dataDir: string } | undefined;
      const deadline = Date.now() + 60_000;
      while (!server && Date.now() < deadline && demo.exitCode === null) {
        server = postgresServerOf(demo.pid!);
        if (!server) await sleep(10);
      }
      expect(server, `the demo started no PostgreSQL server:\n${output}`).toBeDefined();
      demo.kill(signal);

      const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') demo.kill('SIGKILL');
      // The server was stopped by the demo, not left to die (or not) with it.
      for (let i = 0; i < 50 && running(server!.pid); i++) await sleep(100);
      const leftRunning = running(server!.pid);
      // Never leave a server of this test behind, whatever the outcome.
      if (leftRunning) process.kill(server!.pid, 'SIGKILL');
      const leftFiles = existsSync(server!.dataDir);
      if (leftFiles) rmSync(dirname(server!.dataDir), { recursive: true, force: true });
      expect(leftRunning, `postgres ${server!.pid} still ran after the demo exited`).toBe(false);
      expect(leftFiles, `${server!.dataDir} was left behind`).toBe(false);
      expect(code, output).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(output).toContain(`${signal}: cleaning up`);
    },
    120_000,
  );
});
