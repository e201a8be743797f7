// Runs the restic binary: argv only, the password and S3 keys in the child's environment (never its arguments,
// which `ps` and audit logs show). stdout is kept (JSON answers), stderr's tail is kept for the error message.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TailBuffer } from '../exec/tail.js';

export interface ResticResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** restic's peak resident memory (VmHWM, read while it ran), when asked to measure. */
  peakRssBytes?: number;
}

export type ResticRunner = (
  args: string[],
  opts?: { cwd?: string; signal?: AbortSignal; measure?: boolean },
) => Promise<ResticResult>;

/** Variables restic (and its S3 client) reads; nothing else of ours reaches it. */
const PASSED_THROUGH = [
  'PATH',
  'HOME',
  'TMPDIR',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'GOMAXPROCS',
  'GOGC',
  'GOMEMLIMIT',
];

export interface ResticRunnerOptions {
  /** The repository password (from a Secret); handed over as RESTIC_PASSWORD. */
  password: string;
  env?: NodeJS.ProcessEnv;
  binary?: string;
  /** Largest stdout kept (a `snapshots --json` of a long history is a few MB). */
  stdoutLimitBytes?: number;
  /** Go's soft memory limit for restic (GOMEMLIMIT, e.g. 400MiB): the garbage collector works harder near it. */
  memoryLimit?: string;
}

export function resticRunner(options: ResticRunnerOptions): ResticRunner {
  const env = options.env ?? process.env;
  const childEnv: NodeJS.ProcessEnv = {};
  for (const name of PASSED_THROUGH) if (env[name] !== undefined) childEnv[name] = env[name];
  childEnv.RESTIC_PASSWORD = options.password;
  if (options.memoryLimit) childEnv.GOMEMLIMIT = options.memoryLimit;
  const limit = options.stdoutLimitBytes ?? 64 * 1024 * 1024;
  return (args, opts = {}) =>
    new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new Error('restic: stopped before it started'));
      const child = spawn(options.binary ?? 'restic', args, {
        env: childEnv,
        cwd: opts.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let outBytes = 0;
      const err = new TailBuffer(16 * 1024);
      child.stdout.on('data', (c: Buffer) => {
        outBytes += c.length;
        if (outBytes <= limit) out.push(c);
      });
      child.stderr.on('data', (c: Buffer) => err.push(c));
      let peakRssBytes: number | undefined;
      const sample = () => {
        try {
          const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (hwm) peakRssBytes = Math.max(peakRssBytes ?? 0, Number(hwm[1]) * 1024);
        } catch {
          // gone already, or no /proc: the last sample stands
        }
      };
      const sampler = opts.measure ? setInterval(sample, 100) : undefined;
      child.on('exit', () => clearInterval(sampler));
      // SIGINT first: restic then removes its lock; the kill after 30 s is for a restic that does not stop.
      const abort = () => {
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
      };
      opts.signal?.addEventListener('abort', abort, { once: true });
      child.on('error', (e) => {
        opts.signal?.removeEventListener('abort', abort);
        reject(new Error(`restic: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        opts.signal?.removeEventListener('abort', abort);
        if (outBytes > limit)
          return reject(new Error(`restic ${args.at(-1)}: more output than ${limit} bytes`));
        resolve({
          exitCode: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: err.text(),
          ...(peakRssBytes !== undefined ? { peakRssBytes } : {}),
        });
      });
    });
}
