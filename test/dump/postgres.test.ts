// The dump script against a real PostgreSQL 15, through a local exec runner (same argv/stdin/stdout contract
// as pods/exec): dumps restore with identical data, failures leave the previous dump alone, secrets stay out
// of argv, hostile names stay harmless.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { localExec } from '../../lib/exec/index.js';
import { createDecryptStream, parseEncryptionKey } from '../../lib/crypto/index.js';
import { S3Store } from '../../lib/s3/index.js';
import {
  DumpError,
  checkDatabase,
  dumpDatabase,
  restoreDump,
  scriptInvocation,
  streamDumpToS3,
  uploadDumpFile,
} from '../../lib/dump/index.js';
import type { DbConnection, DumpContext } from '../../lib/dump/index.js';
import {
  PG_BIN,
  startPostgres,
  type LocalPostgres,
  TEST_S3_CREDENTIALS,
  startS3,
  type LocalS3,
} from '../kit/index.js';

const SCHEMA = `
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), amount numeric(10,2));
CREATE TABLE audit (id serial PRIMARY KEY, note text);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 1000;
CREATE FUNCTION order_total(c int) RETURNS numeric LANGUAGE sql AS $$ SELECT coalesce(sum(amount), 0) FROM orders WHERE customer_id = c $$;
CREATE FUNCTION log_order() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit(note) VALUES ('order ' || NEW.id); RETURN NEW; END $$;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION log_order();
INSERT INTO customers(name) SELECT 'customer ' || g FROM generate_series(1, 200) g;
INSERT INTO orders(customer_id, amount) SELECT 1 + (g % 200), g * 1.5 FROM generate_series(1, 1000) g;
`;
const FINGERPRINT = `SELECT (SELECT count(*) FROM customers) || ',' || (SELECT count(*) FROM orders) || ',' ||
  (SELECT count(*) FROM audit) || ',' || (SELECT count(*) FROM big_orders) || ',' || order_total(5)`;

let pg: LocalPostgres;
let s3: LocalS3;
let work: string;
let dumpDir: string;
const argvSeen: string[][] = [];
const target = { namespace: 'app', pod: 'db-0', container: 'postgres' };

function ctx(over: Partial<DbConnection> = {}, env: Record<string, string> = {}): DumpContext {
  return {
    exec: localExec({
      env: { PATH: `${PG_BIN}:/usr/bin:/bin`, POSTGRES_PASSWORD: pg.password, ...env },
      onSpawn: (argv) => argvSeen.push(argv),
    }),
    target,
    db: {
      kind: 'postgres',
      user: pg.user,
      host: '127.0.0.1',
      port: pg.port,
      password: { from: 'value', value: pg.password },
      ...over,
    },
  };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

// A pg_dump that writes part of a real dump, then fails, as one that loses its connection half-way would.
function failingPgDump(extraBytes: number): string {
  const bin = join(work, 'failing-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'pg_dump'),
    `#!/bin/sh\n${PG_BIN}/pg_dump "$@" | head -c 2000\nhead -c ${extraBytes} /dev/urandom\necho 'pg_dump: error: connection lost' >&2\nexit 1\n`,
  );
  chmodSync(join(bin, 'pg_dump'), 0o755);
  return `${bin}:${PG_BIN}:/usr/bin:/bin`;
}

beforeAll(async () => {
  [pg, s3] = await Promise.all([startPostgres(), startS3()]);
  work = mkdtempSync(join(tmpdir(), 'nsbackup-dump-pg-'));
  dumpDir = join(work, 'dumps');
  await pg.psql('CREATE DATABASE shop');
  await pg.psql(SCHEMA, 'shop');
}, 30_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('PostgreSQL dumps through the exec contract', () => {
  it('checks tools, server and disk, and reports versions', async () => {
    const result = await checkDatabase(ctx(), { dumpDir, databases: ['shop'] });
    expect(result.versions.map((v) => v.tool)).toEqual(['pg_dump', 'psql', 'gzip']);
    expect(result.versions[0].version).toMatch(/PostgreSQL\) 15\./);
    expect(result.diskUsedPercent).toBeGreaterThanOrEqual(0);
    // The check writes nothing (a dry run runs it): the missing directory only needs a writable ancestor.
    expect(existsSync(dumpDir)).toBe(false);
    await checkDatabase(ctx(), { dumpDir: join(dumpDir, 'a', 'b'), databases: ['shop'] });
    expect(existsSync(dumpDir)).toBe(false);
  });

  it('dumps and restores into a fresh database with identical data, view, function and trigger', async () => {
    const result = await dumpDatabase(ctx(), { dumpDir, databases: ['shop'] });
    expect(result.files).toHaveLength(1);
    const [file] = result.files;
    expect(file).toMatchObject({ path: join(dumpDir, 'shop.sql.gz'), database: 'shop' });
    expect(file.sizeBytes).toBe(readFileSync(file.path).length);
    expect(file.sha256).toBe(sha256(file.path));
    expect(gunzipSync(readFileSync(file.path)).toString()).toContain('DROP TABLE IF EXISTS public.orders');

    await pg.psql('CREATE DATABASE shop_copy');
    await restoreDump(ctx(), { source: { path: file.path }, database: 'shop_copy' });
    const original = await pg.psql(FINGERPRINT, 'shop');
    expect(await pg.psql(FINGERPRINT, 'shop_copy')).toBe(original);
    expect(original).toBe('200,1000,1000,334,3030.00');
    // The trigger came along: a new order is audited in the copy.
    await pg.psql('INSERT INTO orders(customer_id, amount) VALUES (1, 1)', 'shop_copy');
    expect(await pg.psql('SELECT count(*) FROM audit', 'shop_copy')).toBe('1001');
  });

  it('never puts the password into the command line', async () => {
    argvSeen.length = 0;
    await checkDatabase(ctx(), { dumpDir, databases: ['shop'] });
    expect(argvSeen.length).toBeGreaterThan(0);
    for (const argv of argvSeen) expect(argv.join(' ')).not.toContain(pg.password);
    expect(argvSeen[0].slice(0, 2)).toEqual(['sh', '-c']);
  });

  it('fails the server check clearly with a wrong password', async () => {
    const err = await checkDatabase(ctx({ password: { from: 'value', value: 'wrong' } }), {
      dumpDir,
      databases: ['shop'],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('server');
    expect(err.message).toMatch(/does not answer SELECT 1.*password authentication failed/s);
  });

  it('takes a password from a container variable by name', async () => {
    const result = await checkDatabase(ctx({ password: { from: 'env', name: 'POSTGRES_PASSWORD' } }), {
      dumpDir,
      databases: ['shop'],
    });
    expect(result.versions).toHaveLength(3);
    await expect(
      checkDatabase(ctx({ password: { from: 'env', name: 'NOT_SET_ANYWHERE' } }), { dumpDir }),
    ).rejects.toThrow(/no environment variable NOT_SET_ANYWHERE/);
  });

  it('refuses a password variable name that is not a plain name, in the script too', async () => {
    expect(() =>
      scriptInvocation('check', { ...ctx().db, password: { from: 'env', name: 'X; rm -rf /' } }),
    ).toThrow(DumpError);
    // Even if a caller bypassed the TypeScript check, the script validates the name before printenv.
    const argv = scriptInvocation('check', { ...ctx().db, password: { from: 'env', name: 'X' } }).command;
    argv[7] = '$(touch /tmp/nsbackup-pwned)';
    const r = await ctx().exec({ ...target, command: argv });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/password variable name must match/);
    expect(existsSync('/tmp/nsbackup-pwned')).toBe(false);
  });

  it('treats a database name like "x; rm -rf /" as a name: clean error, nothing removed', async () => {
    const canary = join(dumpDir, 'canary.txt');
    writeFileSync(canary, 'still here');
    const before = sha256(join(dumpDir, 'shop.sql.gz'));
    const err = await dumpDatabase(ctx(), { dumpDir, databases: ['x; rm -rf /'] }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('dump');
    expect(err.message).toMatch(/database "x; rm -rf \/" does not exist/);
    expect(readFileSync(canary, 'utf8')).toBe('still here');
    expect(sha256(join(dumpDir, 'shop.sql.gz'))).toBe(before);
    expect(readdirSync(dumpDir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('keeps the previous dump byte-identical when pg_dump fails half-way', async () => {
    const previous = readFileSync(join(dumpDir, 'shop.sql.gz'));
    const err = await dumpDatabase(ctx({}, { PATH: failingPgDump(100_000) }), {
      dumpDir,
      databases: ['shop'],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.message).toMatch(/the dump of shop failed \(exit code 1\).*connection lost/s);
    expect(readFileSync(join(dumpDir, 'shop.sql.gz')).equals(previous)).toBe(true);
    expect(readdirSync(dumpDir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('fails on a disk over the threshold before dumping', async () => {
    const err = await dumpDatabase(ctx(), { dumpDir, databases: ['postgres'], thresholdPercent: 0 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('disk');
    expect(err.message).toMatch(/% used, at or over the threshold of 0%/);
    expect(existsSync(join(dumpDir, 'postgres.sql.gz'))).toBe(false);
  });

  it('names a missing dump tool', async () => {
    // A container with a shell and gzip but no PostgreSQL client tools.
    const bin = join(work, 'no-pg-bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['sh', 'gzip', 'df', 'head', 'tail', 'tr', 'mkdir', 'printenv', 'wc', 'cut']) {
      if (!existsSync(join(bin, tool))) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
    }
    const err = await checkDatabase(ctx({}, { PATH: bin }), { dumpDir }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('tools');
    expect(err.message).toMatch(/pg_dump not found in the container/);
  });

  it('dumps every connectable database when none is named', async () => {
    const result = await dumpDatabase(ctx(), { dumpDir });
    expect(result.files.map((f) => f.database).sort()).toEqual(['postgres', 'shop', 'shop_copy']);
  });

  it('streams a dump to S3 with size and checksum, and restores it from S3 over stdin', async () => {
    const store = s3.store('pg-stream');
    const key = store.key('run-1', 'shop.sql.gz');
    const streamed = await streamDumpToS3(ctx(), { store, key, databases: ['shop'] });
    const chunks: Buffer[] = [];
    for await (const c of await store.download(key)) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    expect(streamed.sizeBytes).toBe(body.length);
    expect(streamed.sha256).toBe(createHash('sha256').update(body).digest('hex'));

    await pg.psql('CREATE DATABASE shop_from_s3');
    await restoreDump(ctx(), { source: { stream: await store.download(key) }, database: 'shop_from_s3' });
    expect(await pg.psql(FINGERPRINT, 'shop_from_s3')).toBe(await pg.psql(FINGERPRINT, 'shop'));
  });

  it('leaves no object behind when the streamed dump fails after parts were uploaded', async () => {
    const store = s3.store('pg-stream');
    const key = store.key('run-2', 'shop.sql.gz');
    const err = await streamDumpToS3(ctx({}, { PATH: failingPgDump(12_000_000) }), {
      store,
      key,
      databases: ['shop'],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('dump');
    expect(await store.exists(key)).toBe(false);
  });

  it('stops the dump when the upload fails instead of waiting forever, and says it was the upload', async () => {
    // A bucket that does not exist: the multipart upload fails at its first part, while the dump still runs.
    const store = new S3Store(
      {
        bucket: 'no-such-bucket',
        prefix: '',
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
      },
      TEST_S3_CREDENTIALS,
    );
    const bin = join(work, 'endless-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'pg_dump'), '#!/bin/sh\nexec cat /dev/urandom\n');
    chmodSync(join(bin, 'pg_dump'), 0o755);
    const started = Date.now();
    const err = await streamDumpToS3(ctx({}, { PATH: `${bin}:${PG_BIN}:/usr/bin:/bin` }), {
      store,
      key: 'shop.sql.gz',
      databases: ['shop'],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('upload');
    expect(err.message).toMatch(/s3:\/\/no-such-bucket\/shop\.sql\.gz failed/);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('fails the directory check for a relative or uncreatable dump directory', async () => {
    for (const dir of ['relative/dir', '/etc/hostname/below-a-file']) {
      const err = await checkDatabase(ctx(), { dumpDir: dir, databases: ['shop'] }).catch((e) => e);
      expect(err).toBeInstanceOf(DumpError);
      expect(err.step).toBe('directory');
    }
  });
});

describe('the dump file: its own temporary name, room beside the previous one, uploaded as it is', () => {
  const download = async (store: S3Store, key: string) => {
    const chunks: Buffer[] = [];
    for await (const c of await store.download(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  // A df that reports the disk 1% used but only 1 KiB available.
  function fullDiskPath(): string {
    const bin = join(work, 'full-disk-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'df'),
      "#!/bin/sh\nprintf 'Filesystem 1024-blocks Used Available Capacity Mounted on\\n/dev/x 1000000 10 1 1%% /\\n'\n",
    );
    chmodSync(join(bin, 'df'), 0o755);
    return `${bin}:${PG_BIN}:/usr/bin:/bin`;
  }

  it("never touches another run's temporary file, and removes those of runs that are gone", async () => {
    // An orphaned pg_dump of an earlier run (closing the exec did not kill it) still writes its temp file; another
    // run that is gone (SIGKILL) left one behind.
    const orphan = join(dumpDir, '.shop.sql.gz.partial');
    const live = join(dumpDir, `.shop.sql.gz.${process.pid}.partial`);
    const dead = join(dumpDir, '.shop.sql.gz.4194999.partial');
    for (const f of [orphan, live, dead]) writeFileSync(f, 'still being written');
    const result = await dumpDatabase(ctx(), { dumpDir, databases: ['shop'] });
    expect(gunzipSync(readFileSync(result.files[0].path)).toString()).toContain('CREATE TABLE public.orders');
    expect(readFileSync(orphan, 'utf8')).toBe('still being written');
    expect(readFileSync(live, 'utf8')).toBe('still being written');
    expect(existsSync(dead)).toBe(false);
    rmSync(orphan);
    rmSync(live);
  });

  it('refuses to dump when the disk has less room than the previous dump, and says so', async () => {
    const previous = join(dumpDir, 'shop.sql.gz');
    const before = sha256(previous);
    const size = Math.ceil(readFileSync(previous).length / 1024);
    const full = ctx({}, { PATH: fullDiskPath() });
    for (const attempt of [
      () => checkDatabase(full, { dumpDir, databases: ['shop'] }),
      () => dumpDatabase(full, { dumpDir, databases: ['shop'] }),
    ]) {
      const err = await attempt().catch((e) => e);
      expect(err).toBeInstanceOf(DumpError);
      expect(err.step).toBe('disk');
      expect(err.message).toContain(
        `has 1 KiB free, less than the ${size} KiB of the previous dump ${previous} (the new dump is written beside it`,
      );
    }
    expect(sha256(previous)).toBe(before);
    // No previous dump of that database: nothing to compare with, the dump goes ahead.
    const fresh = join(work, 'fresh-dumps');
    const result = await dumpDatabase(full, { dumpDir: fresh, databases: ['shop'] });
    expect(result.files).toHaveLength(1);
  });

  it('uploads the verified file byte for byte, and encrypted with the key', async () => {
    const store = s3.store('pg-file');
    const [file] = (await dumpDatabase(ctx(), { dumpDir, databases: ['shop'] })).files;
    argvSeen.length = 0;
    const plain = await uploadDumpFile(ctx(), {
      store,
      key: store.key('run-1', 'shop.sql.gz'),
      file,
      dumpDir,
    });
    const body = await download(store, plain.key);
    expect(body.equals(readFileSync(file.path))).toBe(true);
    expect(plain).toMatchObject({ sizeBytes: file.sizeBytes, sha256: file.sha256 });
    // Only cat runs: no dump, and the password is not even handed over.
    expect(argvSeen.map((a) => a[4])).toEqual(['cat']);

    const keyText = Buffer.alloc(32, 3).toString('base64');
    const key = parseEncryptionKey(keyText);
    const sealed = await uploadDumpFile(ctx(), {
      store,
      key: store.key('run-2', 'shop.sql.gz.enc'),
      file,
      dumpDir,
      encryptionKey: key,
    });
    const stored = await download(store, sealed.key);
    expect(sealed.sizeBytes).toBe(stored.length);
    expect(sealed.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    const opened: Buffer[] = [];
    await pipeline(Readable.from([stored]), createDecryptStream(key), async (source) => {
      for await (const c of source) opened.push(c as Buffer);
    });
    expect(Buffer.concat(opened).equals(readFileSync(file.path))).toBe(true);
  });

  it('refuses a file that changed since it was verified, and files outside the dump directory', async () => {
    const store = s3.store('pg-file');
    const [file] = (await dumpDatabase(ctx(), { dumpDir, databases: ['shop'] })).files;
    const key = store.key('run-3', 'shop.sql.gz');
    const changed = { ...file, sha256: '0'.repeat(64) };
    const err = await uploadDumpFile(ctx(), { store, key, file: changed, dumpDir }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.step).toBe('verify');
    expect(err.message).toMatch(/changed after it was verified/);
    expect(await store.exists(key)).toBe(false);

    for (const path of [
      '/etc/passwd',
      join(dumpDir, '..', 'secret'),
      join(dumpDir, '.shop.sql.gz.1.partial'),
    ]) {
      const refused = await uploadDumpFile(ctx(), { store, key, file: { ...file, path }, dumpDir }).catch(
        (e) => e,
      );
      expect(refused).toBeInstanceOf(DumpError);
      expect(refused.message).toMatch(/not a dump file in/);
    }
  });
});
