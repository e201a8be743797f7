// PostgreSQL globals on the real PostgreSQL 15: a database owned by a non-superuser role, with grants, does not
// restore into a fresh server from its pg_dump alone; with the globals dumped beside it and applied first, it
// does, and the new server's own roles keep their passwords.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localExec } from '../../lib/exec/index.js';
import {
  DumpError,
  GLOBALS_DUMP_FILE,
  dumpDatabase,
  dumpGlobals,
  readGlobalsBeside,
  restoreDump,
  restoreGlobals,
} from '../../lib/dump/index.js';
import type { DumpContext } from '../../lib/dump/index.js';
import { PG_BIN, startPostgres, type LocalPostgres } from '../kit/index.js';

let source: LocalPostgres;
let work: string;

const ctx = (pg: LocalPostgres): DumpContext => ({
  exec: localExec({ env: { PATH: `${PG_BIN}:/usr/bin:/bin` } }),
  target: { namespace: 'app', pod: 'db-0', container: 'postgres' },
  db: {
    kind: 'postgres',
    user: pg.user,
    host: '127.0.0.1',
    port: pg.port,
    password: { from: 'value', value: pg.password },
  },
});

beforeAll(async () => {
  source = await startPostgres({ user: 'admin', password: 'source-admin-pw' });
  work = mkdtempSync(join(tmpdir(), 'nsbackup-globals-'));
  await source.psql(`CREATE ROLE readers NOLOGIN`);
  await source.psql(`CREATE ROLE app LOGIN PASSWORD 'app-pw' IN ROLE readers`);
  await source.psql(`COMMENT ON ROLE app IS 'the shop; owner
of everything'`);
  await source.psql(`CREATE DATABASE shop OWNER app`);
  await source.psql(`SET ROLE app; CREATE TABLE orders (id int PRIMARY KEY, total numeric)`, 'shop');
  await source.psql(`INSERT INTO orders VALUES (1, 9.5), (2, 20)`, 'shop');
  await source.psql(`GRANT SELECT ON orders TO readers`, 'shop');
}, 60_000);

afterAll(async () => {
  await source?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function freshServer(): Promise<LocalPostgres> {
  const target = await startPostgres({ user: 'admin', password: 'target-admin-pw' });
  await target.psql('CREATE DATABASE shop');
  return target;
}

async function dumps(withPasswords: boolean) {
  const dumpDir = mkdtempSync(join(work, 'dump-'));
  const { files } = await dumpDatabase(ctx(source), { dumpDir, databases: ['shop'] });
  const globals = await dumpGlobals(ctx(source), { dumpDir, withPasswords });
  return { dumpDir, database: files[0], globals };
}

describe('PostgreSQL globals', () => {
  it('a fresh server refuses the database dump alone: its owner role is missing', async () => {
    const { database } = await dumps(false);
    const target = await freshServer();
    try {
      const failure = await restoreDump(ctx(target), {
        source: { path: database.path },
        database: 'shop',
      }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(DumpError);
      expect((failure as DumpError).message).toMatch(/role "app" does not exist/);
    } finally {
      await target.stop();
    }
  }, 60_000);

  it('with the globals applied first, the database restores with its owner, grants and memberships', async () => {
    const { dumpDir, database, globals } = await dumps(false);
    expect(globals.path).toBe(join(dumpDir, GLOBALS_DUMP_FILE));
    expect(globals.globals).toBe(true);
    const sql = gunzipSync(readFileSync(globals.path)).toString('utf8');
    expect(sql).toMatch(/CREATE ROLE app;/);
    expect(sql).not.toMatch(/PASSWORD/); // without passwords unless asked

    const target = await freshServer();
    try {
      const dry = await restoreGlobals(ctx(target), { sql, database: 'shop', dryRun: true });
      expect(dry.createdRoles.sort()).toEqual(['app', 'readers']);
      expect(await target.psql(`SELECT count(*) FROM pg_roles WHERE rolname IN ('app', 'readers')`)).toBe(
        '0',
      );

      const applied = await restoreGlobals(ctx(target), { sql, database: 'shop' });
      expect(applied.createdRoles.sort()).toEqual(['app', 'readers']);
      expect(applied.existingRoles).toEqual(['admin']);
      await restoreDump(ctx(target), { source: { path: database.path }, database: 'shop' });

      expect(await target.psql(`SELECT tableowner FROM pg_tables WHERE tablename = 'orders'`, 'shop')).toBe(
        'app',
      );
      expect(await target.psql(`SELECT has_table_privilege('readers', 'orders', 'SELECT')`, 'shop')).toBe(
        't',
      );
      expect(await target.psql(`SELECT pg_has_role('app', 'readers', 'MEMBER')`)).toBe('t');
      expect(
        await target.psql(`SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = 'app'`),
      ).toBe('the shop; owner\nof everything');
      expect(await target.psql(`SELECT sum(total) FROM orders`, 'shop')).toBe('29.5');

      // Applied again (a second restore-db): everything exists, nothing fails.
      const again = await restoreGlobals(ctx(target), { sql, database: 'shop' });
      expect(again.createdRoles).toEqual([]);
      expect(again.existingRoles.sort()).toEqual(['admin', 'app', 'readers']);
    } finally {
      await target.stop();
    }
  }, 90_000);

  it('as the application user (no superuser): dumped, and restored into the same server with nothing to apply', async () => {
    const asApp = ctx({ ...source, user: 'app', password: 'app-pw' } as LocalPostgres);
    // Without passwords, the application's own user can dump the globals too.
    const globals = await dumpGlobals(asApp, {
      dumpDir: mkdtempSync(join(work, 'app-')),
      withPasswords: false,
    });
    const sql = gunzipSync(readFileSync(globals.path)).toString('utf8');
    expect(sql).toMatch(/CREATE ROLE readers;/);
    const plan = await restoreGlobals(asApp, { sql, database: 'shop' });
    expect(plan.createdRoles).toEqual([]);
    expect(plan.existingMemberships).toEqual(['readers -> app']);
  }, 60_000);

  it('with passwords, the roles log in as before and the new server keeps its own admin password', async () => {
    const { globals } = await dumps(true);
    const sql = gunzipSync(readFileSync(globals.path)).toString('utf8');
    expect(sql).toMatch(/ALTER ROLE app WITH .*PASSWORD 'SCRAM-SHA-256/);
    const target = await freshServer();
    try {
      await restoreGlobals(ctx(target), { sql, database: 'shop' });
      const asApp = { ...target, user: 'app', password: 'app-pw' };
      expect(await target.psql(`SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app'`)).toBe('t');
      // The target's admin still logs in with its own password (target.psql uses it), and app with its old one.
      await restoreGlobals(ctx(asApp as LocalPostgres), { sql, database: 'shop', dryRun: true });
    } finally {
      await target.stop();
    }
  }, 90_000);

  it('a globals dump the server refuses fails naming psql and its reason', async () => {
    const target = await freshServer();
    try {
      const failure = await restoreGlobals(ctx(target), {
        sql: `CREATE ROLE app;\nGRANT nosuchrole TO app;\n`,
        database: 'shop',
      }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(DumpError);
      expect((failure as DumpError).message).toMatch(
        /psql failed to apply the roles.*role "nosuchrole" does not exist/,
      );
    } finally {
      await target.stop();
    }
  }, 60_000);

  it('beside a dump in the container: absent is no globals, but one that cannot be read fails', async () => {
    const dir = mkdtempSync(join(work, 'beside-'));
    const dump = join(dir, 'shop.sql.gz');
    expect(await readGlobalsBeside(ctx(source), dump)).toBeUndefined();
    mkdirSync(join(dir, GLOBALS_DUMP_FILE)); // there, but no file to read
    const failure = await readGlobalsBeside(ctx(source), dump).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DumpError);
    expect((failure as DumpError).message).toMatch(/is not a readable file/);
  });
});
