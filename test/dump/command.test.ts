// Kind `command` against real programs through the local exec runner: a Redis RDB taken with `redis-cli --rdb -`
// and put back the way a Redis container is restored (the file replaced, the server stopped without saving and
// started again), an SQLite database dumped with `sqlite3 DB .dump` and replayed into a new one; a command that
// fails or writes nothing never replaces the previous dump.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localExec } from '../../lib/exec/index.js';
import { DumpError, checkDatabase, checkRestore, dumpDatabase, restoreDump } from '../../lib/dump/index.js';
import type { DbConnection, DumpContext, PasswordSource } from '../../lib/dump/index.js';
import { startRedis, type LocalRedis } from '../kit/index.js';

let redis: LocalRedis;
let work: string;
let dumpDir: string;
const argvSeen: string[][] = [];
const target = { namespace: 'app', pod: 'cache-0', container: 'redis' };

/** The container's environment: no REDISCLI_AUTH of its own, so the password must come from nsbackup. */
function ctx(db: Omit<DbConnection, 'kind' | 'password'> & Partial<DbConnection>): DumpContext {
  return {
    exec: localExec({ env: { PATH: '/usr/bin:/bin', REDISCLI_AUTH: '' }, onSpawn: (a) => argvSeen.push(a) }),
    target,
    db: { kind: 'command', password: { from: 'none' }, ...db },
  };
}

const redisDump = (): string[] => ['redis-cli', '-h', '127.0.0.1', '-p', String(redis.port), '--rdb', '-'];
/**
 * How a Redis container is restored: the RDB written beside dump.rdb and renamed over it, then the server stopped
 * without saving (which would overwrite it); the kubelet restarts the container, which loads dump.rdb. The paths
 * reach the user's own `sh -c` program as its positional arguments, not spliced into it.
 */
const redisRestore = (): string[] => [
  'sh',
  '-c',
  'cat > "$0/dump.rdb.partial" && mv "$0/dump.rdb.partial" "$0/dump.rdb" && redis-cli -h 127.0.0.1 -p "$1" shutdown nosave',
  redis.dir,
  String(redis.port),
];
const withPassword: { password: PasswordSource; passwordVar: string } = {
  password: { from: 'none' },
  passwordVar: 'REDISCLI_AUTH',
};

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  redis = await startRedis();
  withPassword.password = { from: 'value', value: redis.password };
  work = mkdtempSync(join(tmpdir(), 'nsbackup-dump-command-'));
  dumpDir = join(work, 'dumps');
}, 30_000);

afterAll(async () => {
  await redis?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a dump command (redis-cli --rdb -) through the exec contract', () => {
  it('checks that the command exists, and names a missing one without creating the dump directory', async () => {
    const ok = await checkDatabase(ctx({ command: redisDump(), ...withPassword }), {
      dumpDir,
      databases: ['redis'],
    });
    expect(ok.versions.map((v) => v.tool)).toEqual(['redis-cli', 'gzip']);
    expect(ok.versions[0].version).toBe('/usr/bin/redis-cli');

    const err = await checkDatabase(ctx({ command: ['mongodump', '--archive'] }), { dumpDir }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('tools');
    expect(err.message).toMatch(/the command mongodump was not found in the container/);
    expect(readdirSync(work)).toEqual([]);
  });

  it('dumps the RDB with the password in REDISCLI_AUTH, and restores it: every key comes back', async () => {
    await redis.cli('SET', 'greeting', 'hello world');
    await redis.cli('RPUSH', 'queue', 'a', 'b', 'c');
    await redis.cli('HSET', 'user:1', 'name', 'Ada', 'lang', 'en');
    await redis.cli('MSET', ...Array.from({ length: 500 }, (_, i) => [`key:${i}`, `value ${i}`]).flat());

    const result = await dumpDatabase(ctx({ command: redisDump(), ...withPassword }), {
      dumpDir,
      databases: ['redis'],
    });
    expect(result.files).toHaveLength(1);
    const file = result.files[0];
    expect(file.path).toBe(join(dumpDir, 'redis.dump.gz'));
    expect(file.database).toBe('redis');
    const bytes = readFileSync(file.path);
    expect(file.sizeBytes).toBe(bytes.length);
    expect(file.sha256).toBe(sha256(bytes));
    expect(gunzipSync(bytes).subarray(0, 5).toString()).toBe('REDIS'); // an RDB file, not redis-cli's chatter
    // The password went over stdin and into the variable, never into an argument.
    expect(argvSeen.flat().join(' ')).not.toContain(redis.password);

    await redis.cli('FLUSHALL');
    expect(await redis.cli('DBSIZE')).toBe('0');
    await restoreDump(ctx({ command: redisRestore(), ...withPassword }), { source: { path: file.path } });
    await redis.start(); // the kubelet's part: the container restarts and loads dump.rdb
    expect(await redis.cli('DBSIZE')).toBe('503');
    expect(await redis.cli('GET', 'greeting')).toBe('hello world');
    expect(await redis.cli('LRANGE', 'queue', '0', '-1')).toBe('a\nb\nc');
    expect(await redis.cli('HGET', 'user:1', 'name')).toBe('Ada');
    expect(await redis.cli('GET', 'key:499')).toBe('value 499');
  });

  it('never replaces the previous dump with a failed or empty one, and names the exit status and stderr', async () => {
    const path = join(dumpDir, 'redis.dump.gz');
    const previous = readFileSync(path);

    const failing = [
      'sh',
      '-c',
      'echo "Could not connect to Redis at 127.0.0.1:1: Connection refused" >&2; exit 1',
    ];
    const err = await dumpDatabase(ctx({ command: failing }), { dumpDir, databases: ['redis'] }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('dump');
    expect(err.message).toMatch(/the dump of redis failed \(exit code 1\).*Connection refused/s);
    expect(readFileSync(path).equals(previous)).toBe(true);

    const empty = await dumpDatabase(ctx({ command: ['true'] }), { dumpDir, databases: ['redis'] }).catch(
      (e) => e,
    );
    expect(empty).toBeInstanceOf(DumpError);
    expect(empty.step).toBe('verify');
    expect(empty.message).toMatch(/the dump of redis is empty/);
    expect(readFileSync(path).equals(previous)).toBe(true);

    // Wrong password: redis-cli says so and exits non-zero.
    const denied = await dumpDatabase(
      ctx({
        command: redisDump(),
        password: { from: 'value', value: 'wrong' },
        passwordVar: 'REDISCLI_AUTH',
      }),
      { dumpDir, databases: ['redis'] },
    ).catch((e) => e);
    expect(denied).toBeInstanceOf(DumpError);
    expect(denied.message).toMatch(/WRONGPASS|invalid username-password/);
    expect(readFileSync(path).equals(previous)).toBe(true);
    expect(readdirSync(dumpDir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('refuses a password without the variable to pass it in, before running anything', async () => {
    const before = argvSeen.length;
    const err = await dumpDatabase(ctx({ command: redisDump(), password: withPassword.password }), {
      dumpDir,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('arguments');
    expect(err.message).toMatch(/needs the variable to pass it in/);
    expect(err.message).not.toContain(redis.password);
    expect(argvSeen.length).toBe(before);
  });

  it('takes user values as arguments only: a command named like a shell line is not found, nothing runs', async () => {
    const marker = join(work, 'pwned');
    const err = await dumpDatabase(ctx({ command: [`true; touch ${marker}`] }), { dumpDir }).catch((e) => e);
    expect(err.step).toBe('tools');
    expect(readdirSync(work)).not.toContain('pwned');
  });

  it('reports a failing restore command with its exit status and last lines', async () => {
    const failing = ['sh', '-c', 'cat >/dev/null; echo "ERR wrong number of arguments" >&2; exit 3'];
    const err = await restoreDump(ctx({ command: failing }), {
      source: { path: join(dumpDir, 'redis.dump.gz') },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('restore');
    expect(err.message).toMatch(/sh failed to restore the dump \(exit code 3\).*ERR wrong number/s);
  });

  it('checks a restore without running it: the command and the file', async () => {
    const path = join(dumpDir, 'redis.dump.gz');
    const ok = await checkRestore(ctx({ command: redisRestore() }), { source: { path } });
    expect(ok.versions[0]).toEqual({ tool: 'sh', version: '/usr/bin/sh' });
    const missing = await checkRestore(ctx({ command: ['mongorestore', '--archive'] }), {
      source: 'stream',
    }).catch((e) => e);
    expect(missing.step).toBe('tools');
    expect(missing.message).toMatch(/mongorestore was not found/);
    const noFile = await checkRestore(ctx({ command: ['sh'] }), {
      source: { path: join(dumpDir, 'nope.dump.gz') },
    }).catch((e) => e);
    expect(noFile.step).toBe('restore');
    expect(noFile.message).toMatch(/cannot read the dump file/);
    expect(await redis.cli('DBSIZE')).toBe('503'); // nothing was restored
  });
});

describe('a dump command (sqlite3 DB .dump)', () => {
  it('dumps an SQLite database and restores it into a new one with the same rows', async () => {
    const data = join(work, 'sqlite');
    mkdirSync(data);
    const app = join(data, 'app.db');
    execFileSync('sqlite3', [
      app,
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO notes(body) SELECT 'note ' || i || ' ''quoted''' FROM n; CREATE INDEX notes_body ON notes(body);",
    ]);
    const fingerprint = (db: string) =>
      execFileSync('sqlite3', [db, "SELECT count(*), sum(length(body)), max(body) FROM notes; SELECT name FROM sqlite_master WHERE type = 'index';"]).toString(); // prettier-ignore

    const { files } = await dumpDatabase(ctx({ command: ['sqlite3', app, '.dump'] }), {
      dumpDir,
      databases: ['app'],
    });
    expect(files[0].path).toBe(join(dumpDir, 'app.dump.gz'));
    expect(gunzipSync(readFileSync(files[0].path)).toString()).toMatch(/^PRAGMA foreign_keys=OFF;/);

    const restored = join(data, 'new.db');
    await restoreDump(ctx({ command: ['sqlite3', '-bail', restored] }), { source: { path: files[0].path } });
    expect(fingerprint(restored)).toBe(fingerprint(app));
    expect(fingerprint(restored)).toMatch(/^1000\|/);
  });
});
