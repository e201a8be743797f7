import { describe, expect, it } from 'vitest';
import { defineCommand, runCommand } from '../../lib/command.js';
import { secret, str } from '../../lib/config/index.js';
import { ExitCode, JobError } from '../../lib/exit.js';
import { Logger } from '../../lib/log.js';

const PASSWORD = 'pg-Sup3r-s3cret!';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.token-value';

function capture() {
  const lines: string[] = [];
  return { lines, write: (l: string) => void lines.push(l), text: () => lines.join('\n') };
}

describe('logging', () => {
  it('writes JSON lines with level, message and fields', () => {
    const out = capture();
    new Logger({ write: out.write, base: { command: 'x' } }).info('hello', { n: 1 });
    const line = JSON.parse(out.lines[0]);
    expect(line).toMatchObject({ level: 'info', msg: 'hello', command: 'x', n: 1 });
    expect(Date.parse(line.time)).not.toBeNaN();
  });

  it('writes readable text lines when asked and drops lines below the level', () => {
    const out = capture();
    const log = new Logger({ write: out.write, format: 'text', level: 'warn' });
    log.info('quiet');
    log.warn('loud', { pvc: 'data' });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatch(/^\d\d:\d\d:\d\d WARN {2}loud {2}pvc=data$/);
  });

  it('reports progress with done, total and rate', async () => {
    const out = capture();
    const p = new Logger({ write: out.write }).progress('upload', {
      total: 100,
      unit: 'bytes',
      intervalMs: 10,
    });
    p.add(40);
    await new Promise((r) => setTimeout(r, 35));
    p.add(60);
    p.done();
    const lines = out.lines.map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toMatchObject({ msg: 'upload finished', done: 100, total: 100, unit: 'bytes' });
    expect(lines[0]).toMatchObject({ msg: 'upload in progress', done: 40 });
  });

  it('never lets a secret reach a log line or an error message', async () => {
    const out = capture();
    const stdout: string[] = [];
    const command = defineCommand({
      name: 'leaky',
      summary: 'tries to leak',
      schema: {
        password: secret({ env: 'NSBACKUP_DB_PASSWORD', description: 'p' }),
        name: str({ env: 'NSBACKUP_NAME', description: 'n' }),
      },
      async run({ log, config }) {
        log.info(`connecting with ${config.password}`);
        log.info('secret object', {
          object: {
            kind: 'Secret',
            metadata: { name: 's' },
            data: { password: Buffer.from(PASSWORD).toString('base64') },
          },
          headers: { Authorization: `Bearer ${TOKEN}` },
          kubeconfig: 'users: [{token: x}]',
        });
        log.warn('base64 of it', { v: Buffer.from(PASSWORD).toString('base64') });
        throw new JobError(`pg_dump failed: password authentication failed for "${PASSWORD}"`);
      },
    });
    const code = await runCommand(command, {
      env: { NSBACKUP_DB_PASSWORD: PASSWORD, NSBACKUP_NAME: 'app' },
      write: out.write,
      out: (t) => void stdout.push(t),
    });
    expect(code).toBe(ExitCode.failed);
    const all = out.text() + stdout.join('');
    expect(all).toContain('pg_dump failed: password authentication failed');
    expect(all).toContain('[redacted]');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(Buffer.from(PASSWORD).toString('base64'));
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain('users: [{token');
    const summary = JSON.parse(out.lines.at(-1)!);
    expect(summary).toMatchObject({ summary: true, outcome: 'failure', exitCode: 1 });
    expect(typeof summary.durationSeconds).toBe('number');
  });

  it('exits 2 on bad configuration, naming the variable, before running anything', async () => {
    const out = capture();
    let ran = false;
    const command = defineCommand({
      name: 'x',
      summary: 'x',
      schema: {
        pvc: str({
          env: 'NSBACKUP_PVC',
          pattern: /^[a-z]+$/,
          patternText: 'lowercase letters',
          description: 'p',
        }),
      },
      async run() {
        ran = true;
      },
    });
    expect(await runCommand(command, { env: { NSBACKUP_PVC: 'Bad!' }, write: out.write })).toBe(
      ExitCode.badConfig,
    );
    expect(ran).toBe(false);
    expect(out.text()).toContain('NSBACKUP_PVC (got \\"Bad!\\") must be lowercase letters');
  });
});
