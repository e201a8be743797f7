// `npm run demo`: the whole backup-to-restore cycle on the embedded default: the Kubernetes API emulator, a local
// S3 (s3rver), and, when PostgreSQL 15 is installed, a throwaway PostgreSQL behind a database pod. It runs the real
// commands in order (backup, verify, list, retain, mark-and-delete, restore into a new namespace, restore-db, diff) and prints
// what each did. Everything it started is stopped again, also on Ctrl-C.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from '../lib/luxon.js';
import { runCommand } from '../lib/command.js';
import type { Command } from '../lib/command.js';
import { Labels } from '../lib/labels.js';
import { gfsLabelsFor } from '../lib/retention/index.js';
import type { SnapshotRecord } from '../lib/retention/index.js';
import { localProcessHandler, startCluster } from '../test/cluster/index.js';
import { PG_BIN, startPostgres, type LocalPostgres, startS3, seedSnapshots } from '../test/kit/index.js';
import { generateEncryptionKey } from '../lib/crypto/index.js';
import { commands } from '../scripts/commands.js';
import { cleanUpOnSignals, cleanup, onCleanup, say, starting } from './lifecycle.js';
import { createMarkAndDeleteCommand } from '../scripts/mark-and-delete.js';

const NS = 'shop';
const RESTORED = 'shop-restored';
const ZONE = 'UTC';
cleanUpOnSignals();

/** Runs one nsbackup command in this process; returns its exit code, summary line and stdout. */
async function nsbackup(name: string | Command<any>, argv: string[], env: Record<string, string>) {
  const command: Command<any> = typeof name === 'string' ? await commands[name].load() : name;
  const logs: any[] = [];
  let out = '';
  const code = await runCommand(command, {
    argv,
    env: { ...process.env, ...env },
    write: (line) => logs.push(JSON.parse(line)),
    out: (text) => void (out += text.endsWith('\n') ? text : text + '\n'),
  });
  const summary = logs.find((l) => l.summary) ?? {};
  const errors = logs.filter((l) => l.level === 'error' && !l.summary).map((l) => l.msg);
  return { code, summary, out, errors, logs };
}

function report(step: string, r: { code: number; summary: any; errors: string[] }, detail: string): void {
  const ok = r.code === 0;
  say(
    `${ok ? '✔' : '✘'} ${step.padEnd(16)} ${detail}${ok ? '' : `  (exit ${r.code}: ${r.summary.error ?? r.errors[0] ?? 'see logs'})`}`,
  );
  if (!ok) process.exitCode = 1;
}

function seedNamespace(cluster: Awaited<ReturnType<typeof startCluster>>, pg?: LocalPostgres): void {
  const labels = { app: 'db' };
  cluster.seed(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    // The class the claim names: the export records it with the namespace's cluster-scoped dependencies.
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'csi' },
      provisioner: 'hostpath.csi.k8s.io',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: NS },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        storageClassName: 'csi',
      },
      status: { phase: 'Bound', capacity: { storage: '1Gi' } },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'db', namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              { name: 'postgres', image: 'postgres:15', env: [{ name: 'POSTGRES_PASSWORD', value: 'demo' }] },
            ],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db-6b7f9c-x2k4p', namespace: NS, labels },
      spec: {
        containers: [
          {
            name: 'postgres',
            image: 'postgres:15',
            env: [{ name: 'POSTGRES_PASSWORD', value: pg?.password ?? 'demo' }],
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace: NS },
      spec: {
        selector: labels,
        ports: [{ port: 5432 }],
        clusterIP: '10.96.0.15',
        clusterIPs: ['10.96.0.15'],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'shop-config', namespace: NS },
      data: { currency: 'EUR' },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'shop-secret', namespace: NS },
      type: 'Opaque',
      data: { apiKey: Buffer.from('not-a-real-key').toString('base64') },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'shop', namespace: NS } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'shop-reader', namespace: NS },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'shop-reader', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'shop-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'shop', namespace: NS }],
    },
  );
  if (pg) {
    cluster.exec.register(
      NS,
      'db-6b7f9c-x2k4p',
      'postgres',
      localProcessHandler({ env: { ...pg.env, PATH: `${PG_BIN}:/usr/bin:/bin` } }),
    );
  }
}

/** Twenty earlier nightly backups of the PVC, labelled as backup labels them, so retention has work to do. */
function seedHistory(cluster: Awaited<ReturnType<typeof startCluster>>): void {
  const records: SnapshotRecord[] = [];
  const today = DateTime.now().setZone(ZONE).startOf('day');
  for (let back = 20; back >= 1; back--) {
    const day = today.minus({ days: back }).plus({ hours: 2 });
    const createdAt = day.toUTC().toISO({ suppressMilliseconds: true })!;
    const name = `data-${day.toFormat('yyyyMMdd')}-020000-hist${String(back).padStart(2, '0')}`;
    const labels = {
      [Labels.retain]: 'gfs',
      [Labels.type]: 'scheduled',
      [Labels.backup]: `hist-${day.toFormat('yyyyMMdd')}`,
      ...gfsLabelsFor(createdAt, ZONE, records),
    };
    records.push({
      namespace: NS,
      name,
      pvc: 'data',
      createdAt,
      ready: true,
      failed: false,
      labels: { ...labels, [Labels.pvc]: 'data' },
    });
    seedSnapshots(cluster, [
      { namespace: NS, name, pvc: 'data', createdAt, labels, contentPolicy: 'Retain' },
    ]);
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'nsbackup-demo-'));
  onCleanup(() => rm(work, { recursive: true, force: true }));
  say('nsbackup demo: emulated Kubernetes API, local S3, a real PostgreSQL when installed\n');

  const cluster = await starting(
    () => startCluster({ snapshotReadyDelayMs: 300, clusterName: 'demo' }),
    (c) => c.close(),
  );
  const s3 = await starting(
    () => startS3(),
    (s) => s.close(),
  );
  let pg: LocalPostgres | undefined;
  if (existsSync(join(PG_BIN, 'pg_ctl'))) {
    pg = await starting(
      () => startPostgres(),
      (p) => p.stop(),
    );
    await pg.psql('CREATE DATABASE shop');
    await pg.psql(
      `CREATE TABLE orders (id serial PRIMARY KEY, item text, placed timestamptz DEFAULT now());
       INSERT INTO orders(item) SELECT 'item ' || g FROM generate_series(1, 2500) g;`,
      'shop',
    );
  }
  say(`  cluster  ${cluster.url}  (kubeconfig ${cluster.kubeconfigPath})`);
  say(`  s3       ${s3.endpoint}/${s3.bucket}`);
  say(
    pg
      ? `  postgres 127.0.0.1:${pg.port}, database "shop" with 2500 orders\n`
      : '  postgres not installed: backing up without a database dump\n',
  );

  seedNamespace(cluster, pg);
  seedHistory(cluster);

  const env: Record<string, string> = {
    ...s3.env,
    NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    NSBACKUP_NAMESPACE: NS,
    NSBACKUP_CLUSTER_NAME: 'demo',
    NSBACKUP_LOCK_DIR: join(work, 'locks'),
    NSBACKUP_DELETE_PAUSE: '0s',
    NSBACKUP_LOG_FORMAT: 'json',
    // Encrypted, as a production bucket should be: the backup then takes the namespace's Secrets too (without a
    // key they are left out, and the summary says so).
    NSBACKUP_ENCRYPTION_KEY: generateEncryptionKey(),
    TZ: ZONE,
  };
  const dbEnv: Record<string, string> = pg
    ? {
        NSBACKUP_DB: 'postgres',
        NSBACKUP_DB_TARGET: 'deployment/db',
        NSBACKUP_DB_CONTAINER: 'postgres',
        NSBACKUP_DB_NAMES: 'shop',
        NSBACKUP_DB_USER: pg.user,
        NSBACKUP_DB_PASSWORD_ENV: 'POSTGRES_PASSWORD',
        NSBACKUP_DUMP_DIR: join(work, 'pvc-data'),
      }
    : { NSBACKUP_DB: 'none' };

  const backup = await nsbackup('backup', [], {
    ...env,
    ...dbEnv,
    NSBACKUP_PVC: 'data',
    NSBACKUP_S3_DUMP: 'true',
  });
  const backupId: string = backup.summary.backupId ?? '?';
  report(
    'backup',
    backup,
    `backup ${backupId}: ${backup.summary.dumpBytes ? `dump ${backup.summary.dumpBytes} bytes, ` : ''}` +
      `snapshot ${(backup.summary.snapshots ?? []).join(', ')}; resources and dump in S3`,
  );

  // The backup read back from S3: every file against its manifest, decrypted and decompressed to the end.
  const verify = await nsbackup('verify', [backupId, '-n', NS], env);
  report(
    'verify',
    verify,
    `backup ${backupId}: ${verify.summary.files ?? '?'} files, ${verify.summary.bytesReadBack ?? '?'} bytes ` +
      'read back and checked against the manifest',
  );

  const list = await nsbackup('list', ['-n', NS], env);
  const rows = list.out.trim().split('\n');
  report(
    'list',
    list,
    `${rows.filter((l) => /^data-/.test(l.trim())).length} snapshots of PVC data (oldest first, the new one last):`,
  );
  // The table's heading, then its end: the newest snapshots, the backup just made among them.
  const heading = rows.findIndex((l) => l.trim().startsWith('SNAPSHOT')) + 1;
  const tail = rows.slice(Math.max(heading, rows.length - 4));
  for (const line of rows.slice(0, heading)) say(`      ${line}`);
  if (rows.length - tail.length > heading)
    say(`      ... ${rows.length - tail.length - heading} earlier lines`);
  for (const line of tail) say(`      ${line}`);

  const retain = await nsbackup('retain', ['-n', NS], env);
  report('retain', retain, describeCounts(retain.summary));

  // Mark today; a second pass two days later sweeps what passed its grace day.
  const mark = await nsbackup('mark-and-delete', ['-n', NS], env);
  report('mark-and-delete', mark, describeCounts(mark.summary));
  // Two days later the marked snapshots are past their delete-after day. Twenty days of history pruned at once is
  // more than half of the PVC's snapshots: the safety valve refuses, and a person confirms with --force.
  const inTwoDays = () => DateTime.now().plus({ days: 2 }).toJSDate();
  const refused = await nsbackup(createMarkAndDeleteCommand({ now: inTwoDays }), ['-n', NS], env);
  say(
    `${refused.code === 1 && refused.summary.refused ? '✔' : '✘'} ${'  two days later'.padEnd(16)} ` +
      `safety valve refused (exit ${refused.code}): ${refused.summary.error ?? refused.errors[0] ?? ''}`,
  );
  const forced = await nsbackup(createMarkAndDeleteCommand({ now: inTwoDays }), ['-n', NS, '--force'], env);
  report('  with --force', forced, describeCounts(forced.summary));

  const restore = await nsbackup(
    'restore',
    [
      '--backup',
      'latest',
      '-n',
      NS,
      '--namespace-mapping',
      `${NS}=${RESTORED}`,
      '--report',
      join(work, 'restore.json'),
    ],
    env,
  );
  report('restore', restore, `into namespace ${RESTORED}: ${describeCounts(restore.summary)}`);

  if (pg) {
    await pg.psql('CREATE DATABASE shop_restored');
    const restoreDb = await nsbackup(
      'restore-db',
      ['--from', 'latest', '--database', 'shop_restored', '--yes'],
      { ...env, ...dbEnv },
    );
    const rowsBack =
      restoreDb.code === 0 ? await pg.psql('SELECT count(*) FROM orders', 'shop_restored') : '?';
    report('restore-db', restoreDb, `dump from S3 into database shop_restored: ${rowsBack} orders back`);
  }

  const diff = await nsbackup('diff', ['--from', 'latest', '-n', NS], env);
  report(
    'diff',
    { ...diff, code: diff.code === 0 ? 0 : diff.code },
    diff.code === 0
      ? `backup ${backupId} and the live namespace ${NS} are identical`
      : diff.out.split('\n')[0],
  );
  say(`\n${process.exitCode ? 'some steps failed' : 'done'}: cleaning up`);
}

function describeCounts(summary: Record<string, unknown>): string {
  const skip = new Set([
    'time',
    'level',
    'msg',
    'command',
    'summary',
    'outcome',
    'durationSeconds',
    'exitCode',
  ]);
  const parts = Object.entries(summary)
    .filter(([k, v]) => !skip.has(k) && (typeof v === 'number' ? v > 0 : v === true))
    .map(([k, v]) => (v === true ? k : `${k} ${v}`));
  return parts.join(', ') || 'nothing to do';
}

main()
  .catch((e) => {
    say(`demo failed: ${e instanceof Error ? e.stack : e}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
