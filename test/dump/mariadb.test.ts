// The dump script against a real MariaDB through the local exec runner: --single-transaction dumps with
// routines, triggers, events and views restore with identical data; failures keep the previous dump.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localExec } from '../../lib/exec/index.js';
import { DumpError, checkDatabase, dumpDatabase, restoreDump, streamDumpToS3 } from '../../lib/dump/index.js';
import type { DbConnection, DumpContext } from '../../lib/dump/index.js';
import { startMariaDb, type LocalMariaDb, startS3, type LocalS3 } from '../kit/index.js';

const SCHEMA = `
CREATE DATABASE shop; USE shop;
CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB;
CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT, amount DECIMAL(10,2),
  FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(100)) ENGINE=InnoDB;
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 1000;
CREATE FUNCTION order_total(c INT) RETURNS DECIMAL(12,2) READS SQL DATA
  RETURN (SELECT COALESCE(SUM(amount), 0) FROM orders WHERE customer_id = c);
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit(note) VALUES (CONCAT('order ', NEW.id));
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit WHERE id < 0;
INSERT INTO customers(name) SELECT CONCAT('customer ', seq) FROM seq_1_to_200;
INSERT INTO orders(customer_id, amount) SELECT 1 + (seq % 200), seq * 1.5 FROM seq_1_to_1000;
`;
const FINGERPRINT = `SELECT CONCAT_WS(',', (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM orders),
  (SELECT COUNT(*) FROM audit), (SELECT COUNT(*) FROM big_orders), order_total(5),
  (SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = 'shop'),
  (SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = 'shop'),
  (SELECT COUNT(*) FROM information_schema.events WHERE event_schema = 'shop'))`;

let db: LocalMariaDb;
let s3: LocalS3;
let work: string;
let dumpDir: string;
const argvSeen: string[][] = [];
const target = { namespace: 'app', pod: 'mariadb-0', container: 'mariadb' };

function ctx(over: Partial<DbConnection> = {}, env: Record<string, string> = {}): DumpContext {
  return {
    exec: localExec({
      env: { PATH: '/usr/bin:/bin', MYSQL_ROOT_PASSWORD: db.password, ...env },
      onSpawn: (argv) => argvSeen.push(argv),
    }),
    target,
    db: {
      kind: 'mysql',
      user: 'root',
      host: '127.0.0.1',
      port: db.port,
      password: { from: 'value', value: db.password },
      ...over,
    },
  };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  [db, s3] = await Promise.all([startMariaDb(), startS3()]);
  work = mkdtempSync(join(tmpdir(), 'nsbackup-dump-mariadb-'));
  dumpDir = join(work, 'dumps');
  await db.sql(SCHEMA);
}, 30_000);

afterAll(async () => {
  await Promise.all([db?.stop(), s3?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('MySQL/MariaDB dumps through the exec contract', () => {
  it('checks tools (preferring mariadb-dump), server and disk', async () => {
    const result = await checkDatabase(ctx(), { dumpDir });
    expect(result.versions.map((v) => v.tool)).toEqual(['mariadb-dump', 'mariadb', 'gzip']);
    expect(result.versions[1].version).toMatch(/MariaDB/);
  });

  it('dumps with routines, triggers, events and views, and restores them into a fresh database', async () => {
    const original = await db.sql(FINGERPRINT, 'shop');
    expect(original).toBe('200,1000,1000,334,3030.00,1,1,1');
    const result = await dumpDatabase(ctx(), { dumpDir, databases: ['shop'] });
    const [file] = result.files;
    expect(file).toMatchObject({ path: join(dumpDir, 'databases.sql.gz'), database: 'shop' });
    const bytes = readFileSync(file.path);
    expect(file.sha256).toBe(sha256(bytes));
    expect(file.sizeBytes).toBe(bytes.length);
    const sql = gunzipSync(bytes).toString();
    expect(sql).toMatch(/CREATE DATABASE .*`shop`/);
    expect(sql).toContain('-- Dump completed');

    await db.sql('DROP DATABASE shop');
    await restoreDump(ctx(), { source: { path: file.path } });
    expect(await db.sql(FINGERPRINT, 'shop')).toBe(original);
  });

  it('dumps all databases when none is named', async () => {
    const result = await dumpDatabase(ctx(), { dumpDir });
    expect(result.files.map((f) => f.path)).toEqual([join(dumpDir, 'all-databases.sql.gz')]);
    expect(gunzipSync(readFileSync(result.files[0].path)).toString()).toContain('USE `shop`');
  });

  it('keeps the password out of argv and takes MYSQL_ROOT_PASSWORD by name', async () => {
    argvSeen.length = 0;
    await checkDatabase(ctx({ password: { from: 'env', name: 'MYSQL_ROOT_PASSWORD' } }), { dumpDir });
    await checkDatabase(ctx(), { dumpDir });
    for (const argv of argvSeen) expect(argv.join(' ')).not.toContain(db.password);
    const err = await checkDatabase(ctx({ password: { from: 'none' } }), { dumpDir }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.message).toMatch(/does not answer SELECT 1.*Access denied/s);
  });

  it('keeps the previous dump when the dump fails half-way, and a hostile name is just a name', async () => {
    const previous = readFileSync(join(dumpDir, 'databases.sql.gz'));
    const bin = join(work, 'failing-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'mariadb-dump'),
      '#!/bin/sh\n/usr/bin/mariadb-dump "$@" | head -c 3000\necho "mariadb-dump: Error 2013: Lost connection" >&2\nexit 2\n',
    );
    chmodSync(join(bin, 'mariadb-dump'), 0o755);
    const err = await dumpDatabase(ctx({}, { PATH: `${bin}:/usr/bin:/bin` }), {
      dumpDir,
      databases: ['shop'],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.message).toMatch(/failed \(exit code 2\).*Lost connection/s);
    expect(readFileSync(join(dumpDir, 'databases.sql.gz')).equals(previous)).toBe(true);

    const hostile = await dumpDatabase(ctx(), { dumpDir, databases: ['x; rm -rf /'] }).catch((e) => e);
    expect(hostile).toBeInstanceOf(DumpError);
    expect(hostile.message).toMatch(/Unknown database 'x; rm -rf \/'/);
    expect(readFileSync(join(dumpDir, 'databases.sql.gz')).equals(previous)).toBe(true);
    expect(readdirSync(dumpDir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('streams a dump to S3 and restores it over stdin', async () => {
    const store = s3.store('mariadb');
    const key = store.key('run-1', 'shop.sql.gz');
    const original = await db.sql(FINGERPRINT, 'shop');
    const streamed = await streamDumpToS3(ctx(), { store, key, databases: ['shop'] });
    expect(streamed.sizeBytes).toBeGreaterThan(1000);
    await db.sql('DROP DATABASE shop');
    await restoreDump(ctx(), { source: { stream: await store.download(key) } });
    expect(await db.sql(FINGERPRINT, 'shop')).toBe(original);
  });
});
