// The same dumps through the emulator's real pods/exec (WebSocket, client-node, v5 half-close) with
// localProcessHandler running the commands as real processes: what the API server sees (the request log)
// never contains the password, and streaming to S3 / restoring from S3 works over the real protocol.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podExec } from '../../lib/exec/index.js';
import { connect } from '../../lib/kube/index.js';
import { DumpError, checkDatabase, dumpDatabase, restoreDump, streamDumpToS3 } from '../../lib/dump/index.js';
import type { DbConnection, DumpContext } from '../../lib/dump/index.js';
import { startCluster, type Cluster, localProcessHandler } from '../cluster/index.js';
import {
  PG_BIN,
  startPostgres,
  type LocalPostgres,
  startMariaDb,
  type LocalMariaDb,
  startS3,
  type LocalS3,
} from '../kit/index.js';

let cluster: Cluster;
let pg: LocalPostgres;
let maria: LocalMariaDb;
let s3: LocalS3;
let work: string;
let dumpDir: string;
const PATH = `${PG_BIN}:/usr/bin:/bin`;

function pod(name: string, containers: { name: string; env?: Record<string, string> }[]) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop' },
    spec: {
      containers: containers.map((c) => ({
        name: c.name,
        image: 'db',
        env: Object.entries(c.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
      })),
    },
  };
}

function pgCtx(container = 'postgres', over: Partial<DbConnection> = {}): DumpContext {
  return {
    exec: podExec(connect({ kubeconfigPath: cluster.kubeconfigPath })),
    target: { namespace: 'shop', pod: 'pg-0', container },
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

const execQueries = () =>
  cluster.requests.filter((r) => r.verb === 'exec').map((r) => decodeURIComponent(r.query));

beforeAll(async () => {
  [cluster, pg, maria, s3] = await Promise.all([startCluster(), startPostgres(), startMariaDb(), startS3()]);
  work = mkdtempSync(join(tmpdir(), 'nsbackup-dump-emu-'));
  dumpDir = join(work, 'dumps');
  const failing = join(work, 'failing-bin');
  mkdirSync(failing);
  writeFileSync(join(failing, 'pg_dump'), `#!/bin/sh\n${PG_BIN}/pg_dump "$@" | head -c 500\nexit 1\n`);
  chmodSync(join(failing, 'pg_dump'), 0o755);
  cluster.seed(
    pod('pg-0', [{ name: 'postgres', env: { POSTGRES_PASSWORD: pg.password } }, { name: 'broken-pg-dump' }]),
    pod('maria-0', [{ name: 'mariadb', env: { MARIADB_ROOT_PASSWORD: maria.password } }]),
  );
  cluster.exec.register('shop', 'pg-0', 'postgres', localProcessHandler({ env: { PATH } }));
  cluster.exec.register(
    'shop',
    'pg-0',
    'broken-pg-dump',
    localProcessHandler({ env: { PATH: `${failing}:${PATH}` } }),
  );
  cluster.exec.register('shop', 'maria-0', 'mariadb', localProcessHandler());
  await pg.psql('CREATE DATABASE shop');
  await pg.psql(
    `CREATE TABLE items (id serial PRIMARY KEY, name text);
     CREATE VIEW short_items AS SELECT * FROM items WHERE length(name) < 8;
     INSERT INTO items(name) SELECT 'item ' || g FROM generate_series(1, 5000) g;`,
    'shop',
  );
  await maria.sql(
    `CREATE DATABASE crm; USE crm; CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(50));
     INSERT INTO people SELECT seq, CONCAT('p', seq) FROM seq_1_to_3000;`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([cluster?.close(), pg?.stop(), maria?.stop(), s3?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const pgCount = (db: string) =>
  pg.psql("SELECT count(*) || ',' || (SELECT count(*) FROM short_items) FROM items", db);

describe('dumps over the emulator pods/exec', () => {
  it('checks, dumps and restores PostgreSQL; the API server never sees the password', async () => {
    cluster.clearRequests();
    await checkDatabase(pgCtx(), { dumpDir, databases: ['shop'] });
    const { files } = await dumpDatabase(pgCtx(), { dumpDir, databases: ['shop'] });
    await pg.psql('CREATE DATABASE shop_restored');
    await restoreDump(pgCtx(), { source: { path: files[0].path }, database: 'shop_restored' });
    expect(await pgCount('shop_restored')).toBe(await pgCount('shop'));

    const queries = execQueries();
    expect(queries).toHaveLength(3);
    for (const q of queries) {
      expect(q).toContain('command=sh&command=-c');
      expect(q).not.toContain(pg.password);
    }
  });

  it('uses a password the container already holds, by variable name', async () => {
    const result = await checkDatabase(
      pgCtx('postgres', { password: { from: 'env', name: 'POSTGRES_PASSWORD' } }),
      {
        dumpDir,
        databases: ['shop'],
      },
    );
    expect(result.versions[0].tool).toBe('pg_dump');
  });

  it('keeps the previous dump when pg_dump fails half-way in the container', async () => {
    const previous = readFileSync(join(dumpDir, 'shop.sql.gz'));
    const err = await dumpDatabase(pgCtx('broken-pg-dump'), { dumpDir, databases: ['shop'] }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.message).toMatch(/the dump of shop failed \(exit code 1\)/);
    expect(readFileSync(join(dumpDir, 'shop.sql.gz')).equals(previous)).toBe(true);
  });

  it('a database name like "x; rm -rf /" travels as one argument and fails cleanly', async () => {
    const err = await dumpDatabase(pgCtx(), { dumpDir, databases: ['x; rm -rf /'] }).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.message).toMatch(/database "x; rm -rf \/" does not exist/);
    expect(readFileSync(join(dumpDir, 'shop.sql.gz')).length).toBeGreaterThan(0);
  });

  it('streams to S3 and restores from S3 over stdin (half-close of v5)', async () => {
    const store = s3.store('emu');
    const key = store.key('b1', 'shop.sql.gz');
    const streamed = await streamDumpToS3(pgCtx(), { store, key, databases: ['shop'] });
    expect(streamed.sizeBytes).toBeGreaterThan(0);
    await pg.psql('CREATE DATABASE shop_from_s3');
    await restoreDump(pgCtx(), { source: { stream: await store.download(key) }, database: 'shop_from_s3' });
    expect(await pgCount('shop_from_s3')).toBe(await pgCount('shop'));
  });

  it('dumps and restores MariaDB with MARIADB_ROOT_PASSWORD from the container', async () => {
    const ctx: DumpContext = {
      exec: podExec(connect({ kubeconfigPath: cluster.kubeconfigPath })),
      target: { namespace: 'shop', pod: 'maria-0', container: 'mariadb' },
      db: {
        kind: 'mysql',
        user: 'root',
        host: '127.0.0.1',
        port: maria.port,
        password: { from: 'env', name: 'MARIADB_ROOT_PASSWORD' },
      },
    };
    const { files } = await dumpDatabase(ctx, { dumpDir, databases: ['crm'] });
    await maria.sql('DROP DATABASE crm');
    await restoreDump(ctx, { source: { path: files[0].path } });
    expect(await maria.sql('SELECT COUNT(*) FROM people', 'crm')).toBe('3000');
  });
});

describe('one transient fault on the pods/exec upgrade (issue 11): retried, because the command had not started', () => {
  const FAULTS = [
    ['429 with Retry-After', { retryAfterSeconds: 1 }],
    ['500', { status: 500 }],
    ['503', { status: 503 }],
    ['a 2 s delay', { delayMs: 2_000 }],
    ['a dropped connection', { drop: true }],
  ] as const;

  /** pgCtx with an exec whose retries are recorded, and short waits (the policy's shape, not its patience). */
  function retryingCtx(warnings: string[]): DumpContext {
    return {
      ...pgCtx(),
      exec: podExec(connect({ kubeconfigPath: cluster.kubeconfigPath }), {
        log: { warn: (msg: string, fields?: any) => void warnings.push(`${msg}: ${fields?.error}`) },
        policy: { attempts: 4, baseDelayMs: 20, maxDelayMs: 200, maxElapsedMs: 10_000 },
      }),
    };
  }

  it.each(FAULTS)(
    '%s: check, dump and restore end as without it',
    async (what, fault) => {
      const warnings: string[] = [];
      const ctx = retryingCtx(warnings);
      const target = `shop_fault_${what.replace(/\W+/g, '_').toLowerCase()}`;
      await pg.psql(`DROP DATABASE IF EXISTS ${target}`);
      await pg.psql(`CREATE DATABASE ${target}`);
      for (const step of ['check', 'dump', 'restore'] as const) {
        cluster.faults.add({ verb: 'exec', times: 1, ...fault });
        if (step === 'check') await checkDatabase(ctx, { dumpDir, databases: ['shop'] });
        if (step === 'dump') await dumpDatabase(ctx, { dumpDir, databases: ['shop'] });
        if (step === 'restore')
          await restoreDump(ctx, { source: { path: join(dumpDir, 'shop.sql.gz') }, database: target });
      }
      cluster.faults.clear();
      expect(await pgCount(target)).toBe(await pgCount('shop'));
      if (what === 'a 2 s delay')
        expect(warnings).toEqual([]); // slow is not failed
      else {
        expect(warnings).toHaveLength(3);
        for (const w of warnings)
          expect(w).toMatch(/^exec upgrade failed before the command started: trying again: /);
      }
    },
    30_000,
  );

  it('a persistent fault fails cleanly, saying the command did not start; a broken session is never retried', async () => {
    const warnings: string[] = [];
    cluster.faults.add({ verb: 'exec', status: 503 });
    const err = await checkDatabase(retryingCtx(warnings), { dumpDir, databases: ['shop'] }).catch((e) => e);
    cluster.faults.clear();
    expect(err.message).toMatch(/could not connect \(the command did not start\): HTTP 503/);
    expect(warnings).toHaveLength(3); // 4 attempts
  });
});
