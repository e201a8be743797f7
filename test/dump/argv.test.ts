// The pure parts: what goes into argv and stdin, how the script's report and failures are read.
import { describe, expect, it } from 'vitest';
import {
  SCRIPT_ACTIONS,
  dumpScript,
  DumpError,
  dumpFileName,
  fileNameClashes,
  parseScriptOutput,
  scriptFailure,
  scriptInvocation,
} from '../../lib/dump/index.js';
import type { DbConnection } from '../../lib/dump/index.js';
import { exitCodeFromStatus } from '../../lib/exec/index.js';

const pg: DbConnection = {
  kind: 'postgres',
  user: 'app',
  host: '',
  port: 5432,
  password: { from: 'value', value: 's3cr3t pass' },
};

describe('scriptInvocation', () => {
  it('hands a password the Job holds over stdin, never in argv', () => {
    const inv = scriptInvocation('dump', pg, { dumpDir: '/data/dump', args: ['shop'] });
    expect(inv.command.join('\n')).not.toContain('s3cr3t');
    expect(inv.stdinPrefix?.toString()).toBe('s3cr3t pass\n');
    expect(inv.command.slice(0, 4)).toEqual(['sh', '-c', dumpScript('postgres', 'dump'), 'nsbackup']);
    expect(inv.command.slice(4)).toEqual([
      'dump',
      'postgres',
      'stdin',
      '',
      'app',
      '',
      '5432',
      '/data/dump',
      '90',
      'shop',
    ]);
  });

  it('passes a container variable by name and nothing on stdin', () => {
    const inv = scriptInvocation('check', { ...pg, password: { from: 'env', name: 'POSTGRES_PASSWORD' } });
    expect(inv.command.slice(6, 8)).toEqual(['env', 'POSTGRES_PASSWORD']);
    expect(inv.stdinPrefix).toBeUndefined();
  });

  it('refuses variable names that are not names, multi-line passwords and odd thresholds', () => {
    for (const name of ['1ABC', 'A-B', 'X; rm -rf /', '$(id)', '']) {
      expect(() => scriptInvocation('check', { ...pg, password: { from: 'env', name } })).toThrow(DumpError);
    }
    expect(() => scriptInvocation('check', { ...pg, password: { from: 'value', value: 'a\nb' } })).toThrow(
      /line break/,
    );
    expect(() => scriptInvocation('check', pg, { thresholdPercent: 101 })).toThrow(/whole percentage/);
    expect(() => scriptInvocation('check', pg, { thresholdPercent: 12.5 })).toThrow(/whole percentage/);
  });

  it('keeps a hostile database name as one argv element', () => {
    const inv = scriptInvocation('dump', pg, { dumpDir: '/d', args: ['x; rm -rf /', '$(reboot)'] });
    expect(inv.command.slice(-2)).toEqual(['x; rm -rf /', '$(reboot)']);
  });
});

describe('scriptInvocation for a dump command', () => {
  const redis: DbConnection = {
    kind: 'command',
    command: ['redis-cli', '--rdb', '-'],
    password: { from: 'value', value: 'redis pass' },
    passwordVar: 'REDISCLI_AUTH',
  };

  it('sends the command program, the password variable first, the password on stdin only', () => {
    const inv = scriptInvocation('dump', redis, {
      dumpDir: '/data',
      args: ['cache', 'redis-cli', '--rdb', '-'],
    });
    expect(inv.command.slice(0, 4)).toEqual(['sh', '-c', dumpScript('command', 'dump'), 'nsbackup']);
    expect(inv.command.slice(4)).toEqual([
      'dump', 'command', 'stdin', '', '', '', '', '/data', '90',
      'REDISCLI_AUTH', 'cache', 'redis-cli', '--rdb', '-',
    ]); // prettier-ignore
    expect(inv.command.join('\n')).not.toContain('redis pass');
    expect(inv.stdinPrefix?.toString()).toBe('redis pass\n');
  });

  it('refuses a password without a variable to pass it in, and a variable that is not a name', () => {
    expect(() => scriptInvocation('dump', { ...redis, passwordVar: undefined })).toThrow(
      /needs the variable/,
    );
    expect(() => scriptInvocation('dump', { ...redis, passwordVar: 'X=1; id' })).toThrow(/not a valid/);
    // cat reads a file: no password, so no variable needed.
    expect(scriptInvocation('cat', { ...redis, passwordVar: undefined }).stdinPrefix).toBeUndefined();
  });

  // The program is the `command` query parameter, percent-encoded: Node's HTTP servers (the emulator's) refuse
  // request heads over 16 KiB with 431, and the URL also carries the container, the arguments and the stream flags.
  it('keeps the program of every kind and action under 12 KiB in the exec URL, and evaluates nothing', () => {
    const programs = [
      ...SCRIPT_ACTIONS.sql.map((action) => ['postgres', action] as const),
      ...SCRIPT_ACTIONS.command.map((action) => ['command', action] as const),
    ];
    for (const [kind, action] of programs) {
      const script = dumpScript(kind, action);
      expect(encodeURIComponent(script).length, `${kind} ${action}`).toBeLessThan(12 * 1024);
      expect(script).not.toMatch(/(^|[\s;&|(])eval\s/m);
    }
  });
});

describe('dump file names', () => {
  it('maps database names to safe file names and finds clashes', () => {
    expect(dumpFileName('postgres', ['shop'])).toBe('shop.sql.gz');
    expect(dumpFileName('command', [])).toBe('command.dump.gz');
    expect(dumpFileName('command', ['redis'])).toBe('redis.dump.gz');
    expect(dumpFileName('postgres', ['x; rm -rf /'])).toBe('x__rm_-rf__.sql.gz');
    expect(dumpFileName('postgres', ['../etc'])).toBe('.._etc.sql.gz');
    expect(dumpFileName('mysql', [])).toBe('all-databases.sql.gz');
    expect(dumpFileName('mysql', ['a', 'b'])).toBe('databases.sql.gz');
    expect(fileNameClashes(['a b', 'a_b', 'c'])).toEqual([['a b', 'a_b']]);
  });
});

describe('parseScriptOutput', () => {
  it('reads versions, disk usage and files', () => {
    const sha = 'a'.repeat(64);
    const report = parseScriptOutput(
      [
        'nsbackup-version\tpg_dump\tpg_dump (PostgreSQL) 15.20',
        'nsbackup-disk\t42\t90',
        `nsbackup-file\t1234\t${sha}\t/data/dump/shop.sql.gz\tshop`,
        'nsbackup-file\t10\t\t/data/dump/x.sql.gz\tweird\tname',
        'noise',
      ].join('\n'),
    );
    expect(report.versions).toEqual([{ tool: 'pg_dump', version: 'pg_dump (PostgreSQL) 15.20' }]);
    expect(report.disk).toEqual({ usedPercent: 42, thresholdPercent: 90 });
    expect(report.files).toEqual([
      { path: '/data/dump/shop.sql.gz', database: 'shop', sizeBytes: 1234, sha256: sha },
      { path: '/data/dump/x.sql.gz', database: 'weird\tname', sizeBytes: 10, sha256: undefined },
    ]);
  });
});

describe('scriptFailure', () => {
  it("names the step from the exit code and keeps the tool's own last words", () => {
    const err = scriptFailure(
      'dump',
      {
        exitCode: 14,
        stderr:
          'pg_dump: error: query failed: permission denied for table secrets\nnsbackup: the dump of shop failed (exit code 1)\n',
        stderrTruncated: false,
      },
      'dump',
    );
    expect(err.step).toBe('dump');
    expect(err.message).toBe(
      'database dump failed: the dump of shop failed (exit code 1) (pg_dump: error: query failed: permission denied for table secrets)',
    );
    expect(
      scriptFailure(
        'check',
        { exitCode: 13, stderr: 'nsbackup: disk full\n', stderrTruncated: false },
        'server',
      ).message,
    ).toBe('database disk check failed: disk full');
  });
});

describe('exitCodeFromStatus', () => {
  it('reads success, exit codes, and treats other failures as errors', () => {
    expect(exitCodeFromStatus({ metadata: {}, status: 'Success' })).toBe(0);
    expect(
      exitCodeFromStatus({
        status: 'Failure',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '14' }] },
      }),
    ).toBe(14);
    expect(() => exitCodeFromStatus({ status: 'Failure', reason: 'InternalError', message: 'boom' })).toThrow(
      /exec failed: boom/,
    );
  });
});
