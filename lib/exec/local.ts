// An ExecFn that runs the command as a local process with the same contract as pods/exec (argv, stdin with EOF,
// stdout with backpressure and not ended, bounded stderr): the dump scripts are tested against real database
// servers with it, and the demo uses it when there is no cluster. namespace/pod/container are ignored.
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { Readable } from 'node:stream';
import { TailBuffer } from './tail.js';
import { DEFAULT_STDERR_LIMIT, ExecError } from './types.js';
import type { ExecFn } from './types.js';

export interface LocalExecOptions {
  /** Added to this process's environment (like the container's env). */
  env?: Record<string, string>;
  cwd?: string;
  /** Sees every argv before it runs (tests check that no secret is in it). */
  onSpawn?: (argv: string[]) => void;
}

export function localExec(local: LocalExecOptions = {}): ExecFn {
  return (options) =>
    new Promise((resolve, reject) => {
      const { command } = options;
      if (options.signal?.aborted) return reject(new ExecError('exec: aborted before start', 'Aborted'));
      local.onSpawn?.([...command]);
      const child = spawn(command[0], command.slice(1), {
        env: { ...process.env, ...local.env },
        cwd: local.cwd,
        stdio: [options.stdin ? 'pipe' : 'ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'],
        // Its own process group, so that an abort ends the whole pipeline (sh, pg_dump, gzip), as the end of a
        // container's exec session does; killing only sh would leave its children holding stdout open.
        detached: true,
      });
      const stderr = new TailBuffer(options.stderrLimitBytes ?? DEFAULT_STDERR_LIMIT);
      let spawnError: NodeJS.ErrnoException | undefined;
      child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e));
      child.stderr!.on('data', (c: Buffer) => stderr.push(c));
      if (options.stdout) child.stdout!.pipe(options.stdout, { end: false });
      let source: Readable | undefined;
      if (options.stdin && child.stdin) {
        child.stdin.on('error', () => {}); // the command may exit without reading all of it
        source = Buffer.isBuffer(options.stdin) ? Readable.from([options.stdin]) : options.stdin;
        source.pipe(child.stdin);
      }
      const abort = (): void => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
        // Output nobody will read: a paused stdout would otherwise never reach EOF, and 'close' never come.
        child.stdout?.destroy();
        child.stdin?.destroy();
      };
      options.signal?.addEventListener('abort', abort, { once: true });
      child.on('close', (code, signal) => {
        options.signal?.removeEventListener('abort', abort);
        if (source && child.stdin) source.unpipe(child.stdin);
        if (options.stdout) child.stdout!.unpipe(options.stdout);
        if (options.signal?.aborted) return reject(new ExecError('exec: aborted', 'Aborted'));
        if (spawnError) {
          return reject(
            new ExecError(`exec: ${command[0]}: ${spawnError.message}`, spawnError.code ?? 'Spawn'),
          );
        }
        resolve({
          exitCode: code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0),
          stderr: stderr.text(),
          stderrTruncated: stderr.truncated,
        });
      });
    });
}
