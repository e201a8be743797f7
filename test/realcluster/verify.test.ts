// verify --level restore on a real control plane: a backup of a namespace whose database container is postgres:15
// (its dump in S3), then the scratch Job made by the real Job controller, run by the test node as a local process of
// the same PostgreSQL 15 binaries (the image's PATH, as the production container has it), the dump decrypted in the
// verifier and piped into it over pods/exec, the assertions of a ConfigMap run there. The Job and its pod are gone
// afterwards, production is not touched, and a dump cut short (or a truncated object) fails with exit 1. The same
// backup rehearsed: restored into a scratch namespace (nothing running), compared, the namespace deleted for real.
// The same for a mariadb:11 container in its own namespace of the same cluster: the local MariaDB binaries serve
// the scratch Job (mariadb-install-db, mariadbd as the pod's user, the socket in the emptyDir).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as backupCommand } from '../../scripts/backup.js';
import { command as backupsCommand } from '../../scripts/backups.js';
import { command as verifyCommand } from '../../scripts/verify.js';
import {
  startMariaDb,
  type LocalMariaDb,
  startPostgres,
  type LocalPostgres,
  startS3,
  type LocalS3,
  runNsbackup,
  until,
} from '../kit/index.js';
import { startRealCluster, type RealCluster } from './index.js';

let cluster: RealCluster;
let pg: LocalPostgres;
let s3: LocalS3;
let backupId: string;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const PRODUCTION_STATE = `SELECT (SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database) || ';' ||
  (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%') || ';' ||
  (SELECT count(*) FROM orders)`;

const env = () => ({
  NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
  NSBACKUP_CLUSTER_NAME: 'prod',
  NSBACKUP_NAMESPACE: 'shop',
  NSBACKUP_DB: 'postgres',
  NSBACKUP_DB_TARGET: 'deployment/db',
  ...s3.env,
});

const verifyRestore = (more: Record<string, string> = {}) =>
  runNsbackup(verifyCommand, { ...env(), NSBACKUP_VERIFY_START_TIMEOUT: '60s', ...more }, [
    'latest',
    '--level',
    'restore',
    '--assertions-configmap',
    'verify-assertions',
  ]);

/** The verify scratch Jobs and pods left in the namespace (none, once verify returned). */
const scratchLeft = async (ns = 'shop') => {
  const jobs = JSON.parse(
    await cluster.kubectlAsync(['-n', ns, 'get', 'jobs', '-l', 'nsbackup.io/verify', '-o', 'json']),
  );
  const pods = JSON.parse(
    await cluster.kubectlAsync(['-n', ns, 'get', 'pods', '-l', 'nsbackup.io/verify', '-o', 'json']),
  );
  return [...jobs.items, ...pods.items].map((o: any) => `${o.kind}/${o.metadata.name}`);
};

beforeAll(async () => {
  [cluster, pg, s3] = await Promise.all([startRealCluster(), startPostgres(), startS3()]);
  await pg.psql('CREATE DATABASE shop');
  await pg.psql(
    `CREATE ROLE app; CREATE TABLE orders (id int primary key, item text); ALTER TABLE orders OWNER TO app;
     INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 2000) g`,
    'shop',
  );
  // The production pod runs as the image's user; here the local postgres user (initdb refuses root).
  const postgresUid =
    process.getuid!() === 0 ? Number(execFileSync('id', ['-u', 'postgres'])) : process.getuid!();
  const manifests = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-password', namespace: 'shop' },
      data: { password: b64(pg.password) },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'verify-assertions', namespace: 'shop' },
      data: {
        'orders-exist.sql': 'select count(*) > 0 from orders',
        'order-count.sql': '-- database: shop\nselect count(*) from orders',
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'db', namespace: 'shop' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            // The scratch Job takes this user over with the image.
            securityContext: { runAsUser: postgresUid },
            containers: [
              {
                name: 'postgres',
                image: 'postgres:15',
                // The server runs beside the node here; the container reaches it as a sidecar's port would be.
                env: [
                  { name: 'PATH', value: pg.env.PATH },
                  { name: 'PGHOST', value: pg.env.PGHOST },
                  { name: 'PGPORT', value: pg.env.PGPORT },
                  {
                    name: 'POSTGRES_PASSWORD',
                    valueFrom: { secretKeyRef: { name: 'db-password', key: 'password' } },
                  },
                ],
                volumeMounts: [{ name: 'dumps', mountPath: '/var/lib/postgresql/data' }],
              },
            ],
            volumes: [{ name: 'dumps', emptyDir: {} }],
          },
        },
      },
    },
  ];
  cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
  cluster.kubectl(['-n', 'shop', 'rollout', 'status', 'deployment/db', '--timeout=60s']);
  const r = await runNsbackup(backupCommand, {
    ...env(),
    NSBACKUP_DB_NAMES: 'shop',
    NSBACKUP_DB_USER: pg.user,
    NSBACKUP_DB_PASSWORD_ENV: 'POSTGRES_PASSWORD',
    NSBACKUP_DUMP_DIR: '/var/lib/postgresql/data/nsbackup',
    NSBACKUP_S3_DUMP: 'true',
    NSBACKUP_LOCK: 'false',
  });
  expect(r.code, r.text).toBe(0);
  backupId = r.summary!.backupId;
}, 180_000);

afterAll(async () => {
  await Promise.all([cluster?.close(), pg?.stop(), s3?.close()]);
});

describe('verify --level restore: a scratch Job of the database image on a real control plane', () => {
  it('loads the dump into the scratch Job, runs the assertions, deletes the Job; production untouched', async () => {
    const before = await pg.psql(PRODUCTION_STATE, 'shop');
    const r = await verifyRestore();
    expect(r.code, r.text + r.out).toBe(0);
    expect(r.out).toMatch(/ok {6}load dump-shop\.sql\.gz into shop \(.*roles created: app\)/);
    expect(r.out).toMatch(/ok {6}assertion order-count\.sql = 2000 \(\d+ ms\)/);
    expect(r.out).toMatch(/ok {6}assertion orders-exist\.sql = t \(\d+ ms\)/);
    // Three files: the resources, the dump and the PostgreSQL globals, all read back.
    expect(r.out).toMatch(/ok {6}globals\.sql\.gz \(\d+ bytes read back\)/);
    expect(r.out).toMatch(
      /verified \(level restore\): 3 files, \d+ bytes read back; 1\/1 dumps loaded, 2\/2 assertions held, in/,
    );
    expect(r.summary).toMatchObject({ level: 'restore', dumpsLoaded: 1, failedAssertions: 0 });
    // The scratch pod ran the production container's image, as the user its pod runs as.
    expect(r.logs.find((l) => l.msg === 'scratch database for the restore check')).toMatchObject({
      image: 'postgres:15',
    });
    expect(r.logs.some((l) => l.msg === 'verify scratch job deleted')).toBe(true);
    await until(
      'the scratch Job and its pod gone',
      async () => (await scratchLeft()).length === 0 || undefined,
      60_000,
    ).catch(async () => {
      throw new Error(`left behind: ${(await scratchLeft()).join(', ')}`);
    });
    expect(await pg.psql(PRODUCTION_STATE, 'shop')).toBe(before);
    // Recorded beside the backup: backups shows it restorable.
    const list = await runNsbackup(backupsCommand, env(), ['-o', 'json']);
    const row = JSON.parse(list.out).find((b: any) => b.backupId === backupId);
    expect(row.restorable).toMatchObject({ ok: true });
  }, 120_000);

  it('rehearsal: the namespace restored into a scratch namespace where nothing runs, equal to the backup, then deleted', async () => {
    const scratch = `shop-rehearsal-${backupId.split('-').pop()}`;
    const started = Date.now();
    const r = await runNsbackup(verifyCommand, env(), ['latest', '--level', 'rehearsal']);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.text + r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`^rehearsal in namespace ${scratch}:$`, 'm'));
    expect(r.out).toMatch(/^ok {6}\d+ objects restored, \d+ equal to the backup, .*namespace deleted/m);
    expect(r.summary).toMatchObject({
      level: 'rehearsal',
      differences: 0,
      failedObjects: 0,
      namespaceDeleted: true,
    });
    // Gone for the API server, not only asked to go.
    const left = JSON.parse(await cluster.kubectlAsync(['get', 'namespaces', '-o', 'json'])).items.map(
      (n: any) => n.metadata.name,
    );
    expect(left).not.toContain(scratch);
    // Production's database kept its one replica.
    const db = JSON.parse(await cluster.kubectlAsync(['-n', 'shop', 'get', 'deployment/db', '-o', 'json']));
    expect(db.spec.replicas).toBe(1);
    const list = await runNsbackup(backupsCommand, env(), ['-o', 'json']);
    expect(JSON.parse(list.out).find((b: any) => b.backupId === backupId).rehearsed).toMatchObject({
      ok: true,
      differences: 0,
    });
    console.log(`rehearsal of a small namespace on the real control plane: ${seconds.toFixed(1)} s`);
  }, 180_000);

  it('a scratch pod the scheduler cannot place fails with its reason after the start timeout; the Job is deleted', async () => {
    // A memory request no node has: the scheduler says so, and verify stops waiting after the start timeout.
    const r = await verifyRestore({
      NSBACKUP_VERIFY_MEMORY: String(64 * 1024 * 1024),
      NSBACKUP_VERIFY_START_TIMEOUT: '3s',
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /FAILED {2}the scratch database could not be run: verify scratch job nsbackup-verify-\S+: its pod \S+ did not start within 3 s: .*Insufficient memory/,
    );
    expect(r.logs.some((l) => l.msg === 'verify scratch job deleted')).toBe(true);
    await until(
      'the scratch Job and its pod gone',
      async () => (await scratchLeft()).length === 0 || undefined,
      60_000,
    );
  }, 120_000);

  it('a dump cut short fails with exit 1, naming the backup, the file and why; so does a truncated object', async () => {
    const store = s3.store();
    const folder = store.key('prod', 'shop', backupId) + '/';
    const manifest = JSON.parse(await store.downloadText(folder + 'manifest.json'));
    const file = manifest.files.find((f: any) => f.name === 'dump-shop.sql.gz');
    const chunks: Buffer[] = [];
    for await (const c of await store.download(folder + file.name)) chunks.push(c as Buffer);
    const original = Buffer.concat(chunks);
    // Cut at a line end and stored with a matching manifest (as a dump cut before it was hashed): every file reads
    // back whole, the statements there load, only the missing last line of pg_dump gives it away.
    const sql = gunzipSync(original).toString('utf8');
    const cut = gzipSync(sql.slice(0, sql.lastIndexOf('\n', sql.length / 2) + 1));
    await store.upload(folder + file.name, cut, 'application/gzip');
    Object.assign(file, { size: cut.length, sha256: createHash('sha256').update(cut).digest('hex') });
    await store.upload(folder + 'manifest.json', JSON.stringify(manifest), 'application/json');
    const r = await verifyRestore();
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED {2}load dump-shop\.sql\.gz: .*truncated/);
    const error = r.logs.find((l) => l.level === 'error' && String(l.msg).includes('did not load'));
    expect(error?.msg).toMatch(
      new RegExp(`^the dump dump-shop\\.sql\\.gz of backup ${backupId} did not load: .*truncated`),
    );
    expect(await scratchLeft()).toEqual([]);
    const list = await runNsbackup(backupsCommand, env(), ['-o', 'json']);
    expect(JSON.parse(list.out).find((b: any) => b.backupId === backupId).restorable).toMatchObject({
      ok: false,
    });

    // The object itself truncated: the integrity check finds it, and the dump is not loaded at all.
    await store.upload(folder + file.name, cut.subarray(0, cut.length - 100), 'application/gzip');
    const r2 = await verifyRestore();
    expect(r2.code).toBe(1);
    expect(r2.out).toMatch(/FAILED {2}load dump-shop\.sql\.gz: not loaded: the integrity check failed/);
  }, 120_000);
});

describe('verify --level restore of a MariaDB dump: a scratch Job of mariadb:11 on the same control plane', () => {
  let maria: LocalMariaDb;
  let mariaBackupId: string;
  // Everything a load into production by mistake would change: the databases, the accounts, the rows.
  const MARIA_STATE = `SELECT CONCAT_WS(';',
    (SELECT GROUP_CONCAT(schema_name ORDER BY schema_name) FROM information_schema.schemata),
    (SELECT GROUP_CONCAT(CONCAT(user, '@', host) ORDER BY user, host) FROM mysql.user),
    (SELECT CONCAT(count(*), ',', SUM(CRC32(item))) FROM shop.orders))`;
  const mariaEnv = () => ({
    NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    NSBACKUP_CLUSTER_NAME: 'prod',
    NSBACKUP_NAMESPACE: 'books',
    NSBACKUP_DB: 'mysql',
    NSBACKUP_DB_TARGET: 'deployment/db',
    ...s3.env,
  });

  beforeAll(async () => {
    maria = await startMariaDb();
    await maria.sql('CREATE DATABASE shop');
    await maria.sql(
      `CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(64));
       INSERT INTO orders SELECT seq, CONCAT('item ', seq) FROM seq_1_to_2000`,
      'shop',
    );
    // The image's user is mysql; here the local one (the scratch server must not run as root).
    const mysqlUid =
      process.getuid!() === 0 ? Number(execFileSync('id', ['-u', 'mysql'])) : process.getuid!();
    const manifests = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'books' } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'maria-root', namespace: 'books' },
        data: { password: b64(maria.password) },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'verify-assertions', namespace: 'books' },
        data: {
          'orders-exist.sql': 'select count(*) > 0 from shop.orders',
          'order-count.sql': '-- database: shop\nselect count(*) from orders',
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'db', namespace: 'books' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: {
              securityContext: { runAsUser: mysqlUid },
              containers: [
                {
                  name: 'mariadb',
                  image: 'mariadb:11',
                  // The image's PATH: the server (mariadbd) is in /usr/sbin, the clients in /usr/bin.
                  env: [
                    { name: 'PATH', value: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
                    {
                      name: 'MARIADB_ROOT_PASSWORD',
                      valueFrom: { secretKeyRef: { name: 'maria-root', key: 'password' } },
                    },
                  ],
                  volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }],
                },
              ],
              volumes: [{ name: 'data', emptyDir: {} }],
            },
          },
        },
      },
    ];
    cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
    );
    await cluster.kubectlAsync(['-n', 'books', 'rollout', 'status', 'deployment/db', '--timeout=60s']);
    // The server runs beside the node, not in the container: the dump is told where.
    const r = await runNsbackup(backupCommand, {
      ...mariaEnv(),
      NSBACKUP_DB_NAMES: 'shop',
      NSBACKUP_DB_PASSWORD_ENV: 'MARIADB_ROOT_PASSWORD',
      NSBACKUP_DB_HOST: maria.host,
      NSBACKUP_DB_PORT: String(maria.port),
      NSBACKUP_DUMP_DIR: '/var/lib/mysql/nsbackup',
      NSBACKUP_S3_DUMP: 'true',
      NSBACKUP_LOCK: 'false',
    });
    expect(r.code, r.text).toBe(0);
    mariaBackupId = r.summary!.backupId;
  }, 180_000);

  afterAll(async () => {
    await maria?.stop();
  });

  it('loads the dump into a scratch mariadbd, runs the assertions, deletes the Job; production untouched', async () => {
    const before = await maria.sql(MARIA_STATE);
    const started = Date.now();
    const r = await runNsbackup(verifyCommand, { ...mariaEnv(), NSBACKUP_VERIFY_START_TIMEOUT: '60s' }, [
      'latest',
      '--level',
      'restore',
      '--assertions-configmap',
      'verify-assertions',
    ]);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.text + r.out).toBe(0);
    // The manifest names the file `databases`; the output names the database the dump loaded.
    expect(r.out).toMatch(/ok {6}load dump-databases\.sql\.gz into shop \(/);
    expect(r.out).toMatch(/ok {6}assertion order-count\.sql = 2000 \(\d+ ms\)/);
    expect(r.out).toMatch(/ok {6}assertion orders-exist\.sql = 1 \(\d+ ms\)/);
    expect(r.out).toMatch(/verified \(level restore\): .*1\/1 dumps loaded, 2\/2 assertions held, in/);
    expect(r.summary).toMatchObject({ level: 'restore', dumpsLoaded: 1, failedAssertions: 0 });
    expect(r.logs.find((l) => l.msg === 'scratch database for the restore check')).toMatchObject({
      image: 'mariadb:11',
    });
    expect(r.logs.some((l) => l.msg === 'verify scratch job deleted')).toBe(true);
    await until(
      'the scratch Job and its pod gone',
      async () => (await scratchLeft('books')).length === 0 || undefined,
      60_000,
    ).catch(async () => {
      throw new Error(`left behind: ${(await scratchLeft('books')).join(', ')}`);
    });
    expect(await maria.sql(MARIA_STATE)).toBe(before);
    const list = await runNsbackup(backupsCommand, mariaEnv(), ['-o', 'json']);
    const row = JSON.parse(list.out).find((b: any) => b.backupId === mariaBackupId);
    expect(row.restorable).toMatchObject({ ok: true });
    console.log(
      `verify --level restore of a MariaDB dump on the real control plane: ${seconds.toFixed(1)} s`,
    );
  }, 120_000);
});
