// Real dumps in a backup run: the backup command against the emulator, whose pods/exec runs the dump scripts
// as local processes (localProcessHandler) next to a real PostgreSQL 15 and a real MariaDB.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { createBackupCommand } from '../../scripts/backup.js';
import { createRestoreDbCommand } from '../../scripts/restore-db.js';
import { localProcessHandler, startCluster, type Cluster } from '../cluster/index.js';
import {
  startMariaDb,
  type LocalMariaDb,
  PG_BIN,
  startPostgres,
  type LocalPostgres,
  startRedis,
  type LocalRedis,
  startS3,
  type LocalS3,
} from '../kit/index.js';

const sh = promisify(execFile);
const NS = 'shop';
const PATH = `${PG_BIN}:/usr/bin:/bin`;
let cluster: Cluster;
let pg: LocalPostgres;
let maria: LocalMariaDb;
let s3: LocalS3;
let redis: LocalRedis;
let work: string;

beforeAll(async () => {
  [cluster, pg, maria, s3, redis] = await Promise.all([
    startCluster(),
    startPostgres(),
    startMariaDb(),
    startS3(),
    startRedis(),
  ]);
  work = await mkdtemp(join(tmpdir(), 'nsbackup-backup-db-'));
  const pvc = (name: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS },
    spec: { resources: { requests: { storage: '1Gi' } } },
    status: { phase: 'Bound', capacity: { storage: '1Gi' } },
  });
  const workload = (kind: 'Deployment' | 'StatefulSet', name: string) => ({
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: NS },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } } } },
  });
  cluster.seed(
    pvc('pg-data'),
    pvc('maria-data'),
    pvc('redis-data'),
    workload('Deployment', 'pg'),
    workload('StatefulSet', 'maria'),
    workload('StatefulSet', 'cache'),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pg-5c9f-x1', namespace: NS, labels: { app: 'pg' } },
      spec: { containers: [{ name: 'postgres', env: [{ name: 'POSTGRES_PASSWORD', value: pg.password }] }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'maria-0', namespace: NS, labels: { app: 'maria' } },
      spec: {
        containers: [{ name: 'mariadb', env: [{ name: 'MARIADB_ROOT_PASSWORD', value: maria.password }] }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cache-0', namespace: NS, labels: { app: 'cache' } },
      spec: { containers: [{ name: 'redis', env: [{ name: 'REDIS_PASSWORD', value: redis.password }] }] },
    },
  );
  cluster.exec.register(NS, 'cache-0', 'redis', localProcessHandler({ env: { PATH: '/usr/bin:/bin' } }));
  // The "container" environment: the client finds the server through PGHOST/PGPORT, as it would on its socket.
  cluster.exec.register(NS, 'pg-5c9f-x1', 'postgres', localProcessHandler({ env: { ...pg.env, PATH } }));
  cluster.exec.register(NS, 'maria-0', 'mariadb', localProcessHandler({ env: { PATH: '/usr/bin:/bin' } }));
  await pg.psql('CREATE DATABASE app');
  await pg.psql(
    `CREATE TABLE orders (id serial PRIMARY KEY, item text);
     INSERT INTO orders(item) SELECT 'item ' || g FROM generate_series(1, 3000) g;`,
    'app',
  );
  await maria.sql(
    `CREATE DATABASE crm; USE crm; CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(50));
     INSERT INTO people SELECT seq, CONCAT('p', seq) FROM seq_1_to_2000;`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([cluster?.close(), pg?.stop(), maria?.stop(), s3?.close(), redis?.remove()]);
  if (work) await rm(work, { recursive: true, force: true });
});

async function backup(env: Record<string, string>) {
  const logs: any[] = [];
  const code = await runCommand(createBackupCommand({ pollMs: 20, notifier: async () => {} }), {
    env: {
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_NAMESPACE: NS,
      NSBACKUP_LOCK_DIR: join(work, 'locks'),
      NSBACKUP_TYPE: 'scheduled',
      TZ: 'UTC',
      ...env,
    },
    write: (line) => logs.push(JSON.parse(line)),
  });
  return { code, logs, summary: logs.find((l) => l.summary) };
}

const pgEnv = () => ({
  NSBACKUP_DB: 'postgres',
  NSBACKUP_DB_TARGET: 'deployment/pg',
  NSBACKUP_DB_CONTAINER: 'postgres',
  NSBACKUP_DB_USER: pg.user,
  NSBACKUP_DB_NAMES: 'app',
  NSBACKUP_DB_PASSWORD: pg.password,
  NSBACKUP_DUMP_DIR: join(work, 'pg-dumps'),
  NSBACKUP_PVC: 'pg-data',
});
const snapshotsOf = (pvc: string) =>
  cluster
    .list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', NS)
    .filter((s) => s.spec.source.persistentVolumeClaimName === pvc);
/** The n-th value of a comma-separated dump annotation (PostgreSQL: the databases, then the globals). */
const nth = (snap: any, annotation: string, n = 0): string =>
  snap.metadata.annotations[`nsbackup.io/${annotation}`].split(',')[n];
const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('PostgreSQL', () => {
  it('dumps through pods/exec, records the dump on the snapshot, and the dump restores', async () => {
    cluster.clearRequests();
    const r = await backup(pgEnv());
    expect(r.code, JSON.stringify(r.summary)).toBe(0);
    const [snap] = snapshotsOf('pg-data');
    const path = nth(snap, 'dump-path');
    expect(path).toBe(join(work, 'pg-dumps', 'app.sql.gz'));
    expect(nth(snap, 'dump-sha256')).toBe(await sha256(path));
    expect(nth(snap, 'dump-size')).toBe(String((await stat(path)).size));
    // The roles and memberships beside it (NSBACKUP_DB_GLOBALS=roles by default), on the same snapshot.
    const globals = nth(snap, 'dump-path', 1);
    expect(globals).toBe(join(work, 'pg-dumps', '@globals.sql.gz'));
    expect(nth(snap, 'dump-sha256', 1)).toBe(await sha256(globals));

    await pg.psql('CREATE DATABASE app_restored');
    await sh('sh', ['-c', `gzip -dc "$1" | psql -X -q -v ON_ERROR_STOP=1 -d app_restored`, 'sh', path], {
      env: { ...process.env, ...pg.env, PGPASSWORD: pg.password },
    });
    expect(await pg.psql('SELECT count(*) FROM orders', 'app_restored')).toBe('3000');

    // The password went over stdin: not in any exec command the API server saw (audit log, ps).
    const execs = cluster.requests.filter((q) => q.verb === 'exec');
    expect(execs.length).toBeGreaterThanOrEqual(2);
    for (const q of execs) expect(decodeURIComponent(q.query)).not.toContain(pg.password);
    expect(JSON.stringify(r.logs)).not.toContain(pg.password);
  });

  it.each([
    [
      'the database is down',
      { NSBACKUP_DB_HOST: '127.0.0.1', NSBACKUP_DB_PORT: '1' },
      /database server check failed: .*does not answer/,
    ],
    [
      'the disk is over the threshold',
      { NSBACKUP_DISK_THRESHOLD: '1' },
      /database disk check failed: .*at or over the threshold of 1%/,
    ],
  ])(
    '%s: the run fails before any snapshot and the previous dump is untouched',
    async (_what, extra, message) => {
      const before = snapshotsOf('pg-data').length;
      const path = nth(snapshotsOf('pg-data')[0], 'dump-path');
      const [hash, mtime] = [await sha256(path), (await stat(path)).mtimeMs];
      const r = await backup({ ...pgEnv(), ...extra });
      expect(r.code).toBe(1);
      expect(r.summary.error).toMatch(message);
      expect(snapshotsOf('pg-data')).toHaveLength(before);
      expect(await sha256(path)).toBe(hash);
      expect((await stat(path)).mtimeMs).toBe(mtime);
    },
  );

  it('a dry run checks the database but creates no dump directory', async () => {
    const dumpDir = join(work, 'not-yet', 'pg-dumps');
    const r = await backup({ ...pgEnv(), NSBACKUP_DUMP_DIR: dumpDir, NSBACKUP_DRY_RUN: 'true' });
    expect(r.code, JSON.stringify(r.summary)).toBe(0);
    expect(existsSync(join(work, 'not-yet'))).toBe(false);
  });

  it('uploads the dump file to S3 as well, byte for byte, under <cluster>/<namespace>/<backup id>', async () => {
    cluster.clearRequests();
    const r = await backup({
      ...pgEnv(),
      ...s3.env,
      NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
      NSBACKUP_S3_DUMP: 'true',
      NSBACKUP_CLUSTER_NAME: 'test-cluster',
    });
    expect(r.code, JSON.stringify(r.summary)).toBe(0);
    const key = `nsbackup/test-cluster/${NS}/${r.summary.backupId}/dump-app.sql.gz`;
    expect(await s3.store().exists(key)).toBe(true);
    const snap = snapshotsOf('pg-data').find(
      (s) => s.metadata.labels['nsbackup.io/backup'] === r.summary.backupId,
    );
    // The backup's folder, named before anything was uploaded: the dump and the resource export (on by default
    // with a bucket) are in it.
    const folder = `s3://${s3.bucket}/nsbackup/test-cluster/${NS}/${r.summary.backupId}/`;
    expect(snap.metadata.annotations['nsbackup.io/s3-location']).toBe(folder);
    const globalsKey = `nsbackup/test-cluster/${NS}/${r.summary.backupId}/globals.sql.gz`;
    expect(r.summary.s3).toEqual([`s3://${s3.bucket}/${key}`, `s3://${s3.bucket}/${globalsKey}`, folder]);
    // The manifest lists the dump with the digest of the stored bytes, so restore-db can find and verify it.
    const manifest = JSON.parse(
      await s3.store().downloadText(`nsbackup/test-cluster/${NS}/${r.summary.backupId}/manifest.json`),
    );
    const stored = await s3.store().download(key);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of stored) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const digest = hash.digest('hex');
    expect(manifest.files.find((f: any) => f.name === 'dump-app.sql.gz')).toMatchObject({
      contents: 'dump',
      database: 'app',
      size,
      sha256: digest,
    });
    // The S3 copy is the dump the snapshot holds: same bytes, and the database was dumped once.
    expect(digest).toBe(nth(snap, 'dump-sha256'));
    expect(digest).toBe(await sha256(nth(snap, 'dump-path')));
    expect(manifest.files.find((f: any) => f.contents === 'globals')).toMatchObject({
      name: 'globals.sql.gz',
      sha256: nth(snap, 'dump-sha256', 1),
    });
    const actions = cluster.requests
      .filter((q) => q.verb === 'exec')
      .map((q) => new URLSearchParams(q.query).getAll('command')[4]);
    expect(actions).toEqual(['check', 'dump', 'globals', 'cat', 'cat']);
    // The upload reported its progress in bytes of the dump file.
    const dumpBytes = Number(nth(snap, 'dump-size'));
    expect(r.logs.find((l) => l.msg === 'dump upload finished')).toMatchObject({
      unit: 'bytes',
      done: dumpBytes,
      total: dumpBytes,
    });
    // How the run ended, beside the manifest.
    const outcome = JSON.parse(
      await s3.store().downloadText(`nsbackup/test-cluster/${NS}/${r.summary.backupId}/outcome.json`),
    );
    expect(outcome).toMatchObject({ backupId: r.summary.backupId, outcome: 'succeeded', failures: [] });
  });

  it('encrypts the streamed dump with the backup key: nothing readable in the bucket', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const r = await backup({
      ...pgEnv(),
      ...s3.env,
      NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
      NSBACKUP_S3_DUMP: 'true',
      NSBACKUP_CLUSTER_NAME: 'test-cluster',
      NSBACKUP_ENCRYPTION_KEY: key,
    });
    expect(r.code, JSON.stringify(r.summary)).toBe(0);
    const folder = `nsbackup/test-cluster/${NS}/${r.summary.backupId}/`;
    const manifest = JSON.parse(await s3.store().downloadText(`${folder}manifest.json`));
    const dump = manifest.files.find((f: any) => f.contents === 'dump');
    expect(dump.name).toBe('dump-app.sql.gz.enc');
    const head: Buffer[] = [];
    for await (const chunk of await s3.store().download(folder + dump.name)) head.push(chunk as Buffer);
    const bytes = Buffer.concat(head);
    expect(bytes.length).toBe(dump.size);
    // Not gzip (1f 8b) and no SQL: the encrypted format's magic instead.
    expect(bytes.subarray(0, 2).toString('hex')).not.toBe('1f8b');
    expect(bytes.subarray(0, 7).toString()).toBe('NSBKENC');
  });

  it('refuses to stream a dump that no manifest would list (export off)', async () => {
    const r = await backup({ ...pgEnv(), ...s3.env, NSBACKUP_S3_DUMP: 'true', NSBACKUP_EXPORT: 'false' });
    expect(r.code).toBe(2);
  });
});

describe('MariaDB', () => {
  it('dumps a StatefulSet database with the password from the container env, and the dump restores', async () => {
    const r = await backup({
      NSBACKUP_DB: 'mysql',
      NSBACKUP_DB_TARGET: 'statefulset/maria',
      NSBACKUP_DB_HOST: '127.0.0.1',
      NSBACKUP_DB_PORT: String(maria.port),
      NSBACKUP_DB_NAMES: 'crm',
      NSBACKUP_DB_PASSWORD_ENV: 'MARIADB_ROOT_PASSWORD',
      NSBACKUP_DUMP_DIR: join(work, 'maria-dumps'),
      NSBACKUP_PVC: 'maria-data',
    });
    expect(r.code, JSON.stringify(r.summary)).toBe(0);
    const [snap] = snapshotsOf('maria-data');
    const path = snap.metadata.annotations['nsbackup.io/dump-path'];
    await maria.sql('DROP DATABASE crm');
    await sh(
      'sh',
      ['-c', 'gzip -dc "$1" | mariadb --host=127.0.0.1 --port="$2" -uroot', 'sh', path, String(maria.port)],
      {
        env: { ...process.env, MYSQL_PWD: maria.password },
      },
    );
    expect(await maria.sql('SELECT count(*) FROM crm.people')).toBe('2000');
  });
});

describe('a dump command (Redis)', () => {
  const redisRestore = () =>
    JSON.stringify([
      'sh',
      '-c',
      'cat > "$0/dump.rdb.partial" && mv "$0/dump.rdb.partial" "$0/dump.rdb" && redis-cli -h 127.0.0.1 -p "$1" shutdown nosave',
      redis.dir,
      String(redis.port),
    ]);
  async function restoreDb(argv: string[], env: Record<string, string> = {}) {
    const lines: string[] = [];
    const code = await runCommand(createRestoreDbCommand({ isTTY: false }), {
      argv: ['-n', NS, '--db', 'command', '--db-target', 'statefulset/cache', ...argv],
      env: {
        NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
        NSBACKUP_CLUSTER_NAME: 'test-cluster',
        NSBACKUP_DB_RESTORE_COMMAND: redisRestore(),
        NSBACKUP_DB_PASSWORD_ENV: 'REDIS_PASSWORD',
        NSBACKUP_DB_COMMAND_PASSWORD_ENV: 'REDISCLI_AUTH',
        ...s3.env,
        NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
        ...env,
      },
      write: (line) => lines.push(line),
    });
    return { code, text: lines.join('\n') };
  }

  const redisEnv = () => ({
    NSBACKUP_DB: 'command',
    NSBACKUP_DB_TARGET: 'statefulset/cache',
    NSBACKUP_DB_NAMES: 'redis',
    NSBACKUP_DB_DUMP_COMMAND: JSON.stringify([
      'redis-cli',
      '-h',
      '127.0.0.1',
      '-p',
      String(redis.port),
      '--rdb',
      '-',
    ]),
    // The container's own variable, handed to redis-cli in the one it reads.
    NSBACKUP_DB_PASSWORD_ENV: 'REDIS_PASSWORD',
    NSBACKUP_DB_COMMAND_PASSWORD_ENV: 'REDISCLI_AUTH',
    NSBACKUP_DUMP_DIR: join(work, 'redis-dumps'),
    NSBACKUP_PVC: 'redis-data',
    ...s3.env,
    NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
    NSBACKUP_S3_DUMP: 'true',
    NSBACKUP_CLUSTER_NAME: 'test-cluster',
  });

  it('dumps the RDB into the dump directory, the snapshot and S3 (listed in the manifest); restore-db puts it back', async () => {
    await redis.cli('MSET', 'order:1', 'paid', 'order:2', 'shipped', 'greeting', 'hello');
    cluster.clearRequests();
    const r = await backup(redisEnv());
    expect(r.code, JSON.stringify(r.summary)).toBe(0);
    const [snap] = snapshotsOf('redis-data');
    const path = snap.metadata.annotations['nsbackup.io/dump-path'];
    expect(path).toBe(join(work, 'redis-dumps', 'redis.dump.gz'));
    expect(snap.metadata.annotations['nsbackup.io/dump-sha256']).toBe(await sha256(path));

    const folder = `nsbackup/test-cluster/${NS}/${r.summary.backupId}/`;
    const manifest = JSON.parse(await s3.store().downloadText(`${folder}manifest.json`));
    expect(manifest.files.find((f: any) => f.contents === 'dump')).toMatchObject({
      name: 'dump-redis.dump.gz',
      database: 'redis',
      size: Number(snap.metadata.annotations['nsbackup.io/dump-size']),
      sha256: snap.metadata.annotations['nsbackup.io/dump-sha256'],
    });
    const execs = cluster.requests.filter((q) => q.verb === 'exec');
    expect(execs.map((q) => new URLSearchParams(q.query).getAll('command')[4])).toEqual([
      'check',
      'dump',
      'cat',
    ]);
    for (const q of execs) expect(decodeURIComponent(q.query)).not.toContain(redis.password);
    expect(JSON.stringify(r.logs)).not.toContain(redis.password);

    // Restore from S3: the RDB replaces dump.rdb and the server stops without saving; the kubelet would restart
    // the container, here the test does.
    await redis.cli('FLUSHALL');
    const { code, text } = await restoreDb(['--from', 'latest', '--yes']);
    expect(code, text).toBe(0);
    await redis.start();
    expect(await redis.cli('MGET', 'order:1', 'order:2', 'greeting')).toBe('paid\nshipped\nhello');
  });

  it('restore-db --dry-run checks the restore command and the backup, restoring nothing', async () => {
    await redis.cli('SET', 'after-backup', 'kept');
    const ok = await restoreDb(['--from', 'latest', '--dry-run']);
    expect(ok.code, ok.text).toBe(0);
    expect(ok.text).toContain('dump-redis.dump.gz');
    const missing = await restoreDb(['--from', 'latest', '--dry-run'], {
      NSBACKUP_DB_RESTORE_COMMAND: '["redis-restore-tool"]',
    });
    expect(missing.code).toBe(1);
    expect(missing.text).toContain('the command redis-restore-tool was not found in the container');
    expect(await redis.cli('GET', 'after-backup')).toBe('kept'); // the server was neither replaced nor stopped
    cluster.clearRequests();
    const noCommand = await restoreDb(['--from', 'latest', '--dry-run'], { NSBACKUP_DB_RESTORE_COMMAND: '' });
    expect(noCommand.code).toBe(2);
    expect(noCommand.text).toContain('--db command needs NSBACKUP_DB_RESTORE_COMMAND');
    expect(cluster.requests).toEqual([]);
  });

  it('a command that fails or writes nothing fails the run before any snapshot; the previous dump stays', async () => {
    const path = join(work, 'redis-dumps', 'redis.dump.gz');
    const [hash, before] = [await sha256(path), snapshotsOf('redis-data').length];
    const failing = await backup({
      ...redisEnv(),
      NSBACKUP_DB_DUMP_COMMAND: JSON.stringify(['redis-cli', '-h', '127.0.0.1', '-p', '1', '--rdb', '-']),
    });
    expect(failing.code).toBe(1);
    expect(failing.summary.error).toMatch(/the dump of redis failed \(exit code 1\).*Connection refused/);
    const empty = await backup({ ...redisEnv(), NSBACKUP_DB_DUMP_COMMAND: '["true"]' });
    expect(empty.code).toBe(1);
    expect(empty.summary.error).toMatch(/the dump of redis is empty/);
    expect(snapshotsOf('redis-data')).toHaveLength(before);
    expect(await sha256(path)).toBe(hash);
  });

  it('refuses a command type without its command or dump directory (exit 2), and checks the program exists', async () => {
    const { NSBACKUP_DB_DUMP_COMMAND: _c, NSBACKUP_DUMP_DIR: _d, ...without } = redisEnv();
    cluster.clearRequests();
    const bad = await backup(without);
    expect(bad.code).toBe(2);
    expect(cluster.requests).toEqual([]);
    const missing = await backup({ ...redisEnv(), NSBACKUP_DB_DUMP_COMMAND: '["mongodump","--archive"]' });
    expect(missing.code).toBe(1);
    expect(missing.summary.error).toMatch(/the command mongodump was not found in the container/);
  });
});
