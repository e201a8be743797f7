// `npm run demo` cleans up everything it started, also when stopped (Ctrl-C, SIGTERM): it exits 128 + the signal's
// number, saying so, and leaves no server running and no temporary folder behind. Cheap on purpose (these tests
// were a sixth of the suite's time): the demo itself is signalled as soon as it starts its services, not during its
// PostgreSQL's initdb; the case of a server still starting when the signal comes, both signals, runs the demo's
// lifecycle (demo/lifecycle.ts) through a small entry whose server is a plain process.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../kit/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const running = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false; // gone
  }
};

let folders: string[] = [];
afterEach(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
  folders = [];
});

/**
 * Runs a script under tsx with a temporary folder of its own (TMPDIR), so that what it leaves there is its own
 * whatever runs beside it; sends `signal` once its output matches `ready`.
 */
async function signalled(script: string, ready: RegExp, signal: NodeJS.Signals) {
  const tmp = mkdtempSync(join(tmpdir(), 'nsbackup-signals-'));
  folders.push(tmp);
  chmodSync(tmp, 0o1777); // as /tmp: PostgreSQL's helper runs initdb as the postgres user
  // tsx's transform cache (os.tmpdir()/tsx-<uid>) shared, not rebuilt: a cold cache doubles the demo's start.
  const tsxCache = `tsx-${process.getuid?.() ?? 0}`;
  if (existsSync(join(tmpdir(), tsxCache))) symlinkSync(join(tmpdir(), tsxCache), join(tmp, tsxCache));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!ready.test(output) && Date.now() < deadline && child.exitCode === null) await sleep(10);
  expect(output, 'it never got ready').toMatch(ready);
  child.kill(signal);
  const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') child.kill('SIGKILL');
  // tsx keeps its cache there; everything nsbackup's demo and helpers make is named nsbackup-*.
  const leftBehind = readdirSync(tmp).filter((f) => f.startsWith('nsbackup-'));
  return { code, output, leftBehind };
}

const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

describe('the demo, stopped by a signal', () => {
  it('SIGINT (Ctrl-C) while it starts its services: exits 130, saying so, and removes its folders', async () => {
    const { code, output, leftBehind } = await signalled('demo/demo.ts', /nsbackup demo:/, 'SIGINT');
    expect(code, output).toBe(130);
    expect(output).toContain('SIGINT: cleaning up');
    expect(leftBehind, output).toEqual([]);
  }, 120_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s: a server still starting is stopped once started, the work folder removed',
    async (signal) => {
      const { code, output, leftBehind } = await signalled(
        'test/foundation/demo-lifecycle-entry.ts',
        /server \d+ starting/,
        signal,
      );
      const server = Number(/server (\d+) starting/.exec(output)![1]);
      for (let i = 0; i < 50 && running(server); i++) await sleep(100);
      const leftRunning = running(server);
      if (leftRunning) process.kill(server, 'SIGKILL'); // never leave it behind, whatever the outcome
      expect(leftRunning, `server ${server} still ran after the entry exited`).toBe(false);
      expect(code, output).toBe(EXIT[signal]);
      expect(output).toContain(`${signal}: cleaning up`);
      expect(output).not.toContain('server started'); // signalled during the start, as intended
      expect(leftBehind, output).toEqual([]);
    },
    60_000,
  );
});
