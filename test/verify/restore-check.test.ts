// The restorability level against real servers: a real dump of a real PostgreSQL 15 / MariaDB loaded into a scratch
// server started by the scratch Job's own script (local processes standing in for the Job's pod), the assertions run
// there. A good dump loads and its assertions pass; a truncated dump, a dump of a newer server and a failing
// assertion are each reported with the file, the value and the loader's own words; production is not touched.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDatabase } from '../../lib/dump/index.js';
import { execCapture, localExec } from '../../lib/exec/index.js';
import { assertionsFromConfigMap } from '../../lib/verify/assertions.js';
import { checkRestore, loadDump, type DumpToLoad } from '../../lib/verify/restore-check.js';
import { startMariaDb, type LocalMariaDb, startPostgres, type LocalPostgres } from '../kit/index.js';
import { startScratch, type LocalScratch } from './scratch.js';

const SCRATCH_STATE =
  "SELECT count(*), sum(amount), pg_get_userbyid((SELECT relowner FROM pg_class WHERE relname = 'orders')) FROM orders";

const dumpOf = (name: string, database: string, gzip: Buffer): DumpToLoad => ({
  name,
  database,
  open: async () => Readable.from([gzip]),
});

/** The first `fraction` of the SQL, cut at a line end (every statement in it is whole), gzipped again. */
const truncated = (gzip: Buffer, fraction: number): Buffer => {
  const sql = gunzipSync(gzip).toString('utf8');
  return gzipSync(sql.slice(0, sql.lastIndexOf('\n', Math.floor(sql.length * fraction)) + 1));
};

describe('verify --level restore: PostgreSQL 15', () => {
  let pg: LocalPostgres;
  let scratch: LocalScratch;
  let work: string;
  let dump: Buffer;
  let production: string;
  const PRODUCTION_STATE = `SELECT (SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database) || ';' ||
    (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%') || ';' ||
    (SELECT count(*) FROM orders) || ';' || (SELECT sum(amount) FROM orders)`;

  beforeAll(async () => {
    pg = await startPostgres();
    await pg.psql('CREATE DATABASE shop');
    await pg.psql(
      `CREATE ROLE app; CREATE ROLE "Report Reader";
       CREATE TABLE orders (id serial PRIMARY KEY, amount numeric(10,2), note text);
       ALTER TABLE orders OWNER TO app; GRANT SELECT ON orders TO "Report Reader";
       INSERT INTO orders(amount, note) SELECT g * 1.5, 'order ' || g || E'\\ttab|pipe' FROM generate_series(1, 500) g;`,
      'shop',
    );
    work = mkdtempSync(join(tmpdir(), 'nsbackup-verify-pg-'));
    const { files } = await dumpDatabase(
      {
        exec: localExec({ env: pg.env }),
        target: { namespace: 'shop', pod: 'db-0', container: 'postgres' },
        db: { kind: 'postgres', user: pg.user, password: { from: 'value', value: pg.password } },
      },
      { dumpDir: work, databases: ['shop'] },
    );
    dump = readFileSync(files[0].path);
    production = await pg.psql(PRODUCTION_STATE, 'shop');
    scratch = startScratch('postgres');
  });
  afterAll(async () => {
    await scratch?.stop();
    await pg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('loads a good dump (its roles created first) and reports each assertion with its value and duration', async () => {
    const assertions = assertionsFromConfigMap({
      '10-orders-exist.sql': 'select count(*) > 0 from orders',
      '20-order-count.sql': '-- database: shop\nselect count(*) from orders;',
      'README.md': 'not an assertion',
    });
    const result = await checkRestore(scratch, { dumps: [dumpOf('shop.sql.gz', 'shop', dump)], assertions });
    expect(result.loads).toEqual([
      expect.objectContaining({ name: 'shop.sql.gz', ok: true, roles: ['Report Reader', 'app'] }),
    ]);
    expect(result.assertions.map(({ name, ok, value }) => ({ name, ok, value }))).toEqual([
      { name: '10-orders-exist.sql', ok: true, value: 't' },
      { name: '20-order-count.sql', ok: true, value: '500' },
    ]);
    for (const a of result.assertions) expect(a.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.ok).toBe(true);
    // The scratch server holds the data; production is as it was (no scratch database or role made there).
    const inScratch = await execCapture(scratch.exec, {
      ...scratch.target,
      command: ['psql', '-X', '-A', '-t', '-d', 'shop', '-c', SCRATCH_STATE],
    });
    expect(inScratch.stdout.trim()).toBe('500|187875.00|app');
    expect(await pg.psql(PRODUCTION_STATE, 'shop')).toBe(production);
  });

  it('a failing assertion fails the check, naming the file and the value; the others still run', async () => {
    const other = startScratch('postgres');
    try {
      const result = await checkRestore(other, {
        dumps: [dumpOf('shop.sql.gz', 'shop', dump)],
        assertions: assertionsFromConfigMap({
          'a-no-negative.sql': 'select count(*) from orders where amount < 0',
          'b-two-rows.sql': 'select id from orders where id <= 2',
          'c-bad-sql.sql': 'select count(*) from no_such_table',
          'd-ok.sql': 'select exists (select 1 from orders where note like $$order 7%$$)',
        }),
      });
      expect(result.ok).toBe(false);
      expect(result.loads[0].ok).toBe(true);
      expect(result.assertions).toEqual([
        expect.objectContaining({
          name: 'a-no-negative.sql',
          ok: false,
          value: '0',
          problem: 'returned 0, which is zero',
        }),
        expect.objectContaining({
          name: 'b-two-rows.sql',
          ok: false,
          problem: 'returned 2 rows, expected one row of one column',
        }),
        expect.objectContaining({
          name: 'c-bad-sql.sql',
          ok: false,
          problem: expect.stringContaining('relation "no_such_table" does not exist'),
        }),
        expect.objectContaining({ name: 'd-ok.sql', ok: true, value: 't' }),
      ]);
    } finally {
      await other.stop();
    }
  });

  it('reports a truncated dump and a dump of a newer server with the loader’s stderr, and runs no assertion', async () => {
    const other = startScratch('postgres');
    try {
      // Cut at a line end: every statement that is there loads; only the missing completion line gives it away.
      const cut = await checkRestore(other, {
        dumps: [dumpOf('shop.sql.gz', 'shop', truncated(dump, 0.5))],
        assertions: assertionsFromConfigMap({ 'x.sql': 'select true' }),
      });
      expect(cut.ok).toBe(false);
      expect(cut.loads[0]).toMatchObject({ name: 'shop.sql.gz', ok: false });
      expect(cut.loads[0].problem).toMatch(/truncated/);
      expect(cut.assertions).toEqual([]);

      // The gzip stream itself cut: gzip's complaint is the reason.
      const bytes = await loadDump(
        other,
        dumpOf('broken.sql.gz', 'broken', dump.subarray(0, dump.length - 200)),
      );
      expect(bytes.ok).toBe(false);
      expect(bytes.problem).toMatch(/cannot be read to its end|gzip/);

      // PostgreSQL 17's pg_dump writes SET transaction_timeout, which 15 does not know: psql's error is reported.
      const newer = gzipSync(
        Buffer.concat([Buffer.from('SET transaction_timeout = 0;\n'), gunzipSync(dump)]),
      );
      const load = await loadDump(other, dumpOf('newer.sql.gz', 'newer', newer));
      expect(load.ok).toBe(false);
      expect(load.problem).toBe('the dump did not load (the client exited with code 3)');
      expect(load.stderrTail).toContain('unrecognized configuration parameter "transaction_timeout"');
    } finally {
      await other.stop();
    }
  });
});

describe('verify --level restore: MariaDB', () => {
  let my: LocalMariaDb;
  let scratch: LocalScratch;
  let work: string;
  let dump: Buffer;

  beforeAll(async () => {
    my = await startMariaDb();
    await my.sql(
      `CREATE DATABASE shop; CREATE TABLE shop.orders (id int primary key auto_increment, amount decimal(10,2));
       INSERT INTO shop.orders(amount) VALUES (1.5), (2.5), (3.5);`,
    );
    work = mkdtempSync(join(tmpdir(), 'nsbackup-verify-my-'));
    const { files } = await dumpDatabase(
      {
        exec: localExec({ env: my.env }),
        target: { namespace: 'shop', pod: 'db-0', container: 'mariadb' },
        db: {
          kind: 'mysql',
          user: 'root',
          host: '127.0.0.1',
          port: my.port,
          password: { from: 'value', value: my.password },
        },
      },
      { dumpDir: work, databases: ['shop'] },
    );
    dump = readFileSync(files[0].path);
    scratch = startScratch('mysql');
  });
  afterAll(async () => {
    await scratch?.stop();
    await my?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('loads a good dump and runs the assertions in its only database', async () => {
    const result = await checkRestore(scratch, {
      // As the backup's manifest records a MySQL dump of a list: `databases`, the names only in the dump.
      dumps: [dumpOf('databases.sql.gz', 'databases', dump)],
      assertions: assertionsFromConfigMap({
        'count.sql': 'select count(*) > 0 from orders',
        'sum.sql': 'select sum(amount) = 7.5 from orders',
        'empty.sql': 'select count(*) from orders where amount > 100',
      }),
    });
    expect(result.loads[0]).toMatchObject({ ok: true, database: 'shop' });
    expect(result.assertions.map(({ name, ok, value }) => ({ name, ok, value }))).toEqual([
      { name: 'count.sql', ok: true, value: '1' },
      { name: 'empty.sql', ok: false, value: '0' },
      { name: 'sum.sql', ok: true, value: '1' },
    ]);
    expect(result.ok).toBe(false);
    expect(await my.sql('select count(*) from shop.orders')).toBe('3');
  });

  it('reports a truncated dump', async () => {
    const load = await loadDump(scratch, dumpOf('databases.sql.gz', 'shop', truncated(dump, 0.6)));
    expect(load.ok).toBe(false);
    expect(load.problem).toMatch(/truncated|did not load/);
  });
});
