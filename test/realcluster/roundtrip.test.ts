// The whole cycle on a real control plane: a tenant namespace applied with kubectl, backed up (pg_dump in the
// database container over pods/exec through kube-apiserver to the node, a CSI snapshot cut by the real
// snapshot-controller and csi-snapshotter, the export to S3), restored into another namespace with its volumes
// from the snapshots, and the dump fed back. What the emulator could not show is asserted here: the namespace's
// own default ServiceAccount, node ports the server allocates, CRD pruning and defaults, StatefulSet claims.
import { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as backupCommand } from '../../scripts/backup.js';
import { command as restoreCommand } from '../../scripts/restore.js';
import { command as restoreDbCommand } from '../../scripts/restore-db.js';
import { command as exportCommand } from '../../scripts/export.js';
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
import { claim, shopManifests, WIDGET_CRD } from './shop.js';

let cluster: RealCluster;
let pg: LocalPostgres;
let s3: LocalS3;
let tmp: string;
const NODE_PORT = 30080;

const kubectlJson = (args: string[]) => JSON.parse(cluster.kubectl([...args, '-o', 'json']));

beforeAll(async () => {
  [cluster, pg, s3] = await Promise.all([startRealCluster(), startPostgres(), startS3()]);
  tmp = mkdtempSync(join(tmpdir(), 'nsbackup-real-roundtrip-'));
  await pg.psql('CREATE DATABASE shop');
  await pg.psql(
    "CREATE TABLE orders (id int primary key, item text); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 500) g",
    'shop',
  );
  cluster.kubectl(['apply', '-f', '-'], JSON.stringify(WIDGET_CRD));
  cluster.kubectl(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=60s']);
  const list = { apiVersion: 'v1', kind: 'List', items: shopManifests('shop', pg, NODE_PORT) };
  cluster.kubectl(['apply', '-f', '-'], JSON.stringify(list));
  cluster.kubectl(['-n', 'shop', 'rollout', 'status', 'deployment/db', '--timeout=60s']);
  cluster.kubectl(['-n', 'shop', 'rollout', 'status', 'statefulset/cache', '--timeout=60s']);
}, 180_000);

afterAll(async () => {
  await Promise.all([cluster?.close(), pg?.stop(), s3?.close()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const baseEnv = () => ({
  NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
  NSBACKUP_CLUSTER_NAME: 'prod',
  ...s3.env,
});

describe('backup, restore into another namespace, restore-db: on a real control plane', () => {
  let backupId: string;

  it('backs up: pg_dump inside the database container, a ready snapshot of the PVC, the export in S3', async () => {
    const r = await runNsbackup(backupCommand, {
      ...baseEnv(),
      NSBACKUP_NAMESPACE: 'shop',
      NSBACKUP_PVC: 'data,cache-data-cache-0',
      NSBACKUP_DB: 'postgres',
      NSBACKUP_DB_TARGET: 'deployment/db',
      NSBACKUP_DB_NAMES: 'shop',
      NSBACKUP_DB_USER: pg.user,
      NSBACKUP_DB_PASSWORD_ENV: 'POSTGRES_PASSWORD',
      NSBACKUP_DUMP_DIR: '/var/lib/postgresql/data/nsbackup',
      NSBACKUP_EXPORT: 'true',
      NSBACKUP_EXPORT_SECRETS: 'include',
      NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES: 'true',
      NSBACKUP_S3_DUMP: 'true',
      NSBACKUP_LOCK: 'false',
    });
    expect(r.code, r.text).toBe(0);
    backupId = r.summary!.backupId;
    const snaps = kubectlJson(['-n', 'shop', 'get', 'volumesnapshots']).items;
    expect(snaps.map((s: any) => s.spec.source.persistentVolumeClaimName).sort()).toEqual([
      'cache-data-cache-0',
      'data',
    ]);
    for (const s of snaps) {
      expect(s.status.readyToUse).toBe(true);
      expect(s.metadata.labels['nsbackup.io/backup']).toBe(backupId);
      // The real snapshot-controller bound it to a content our CSI driver cut.
      expect(s.status.boundVolumeSnapshotContentName).toMatch(/^snapcontent-/);
    }
    // The dump file lies on the volume (the container wrote it through its mount) ...
    const volume = kubectlJson(['-n', 'shop', 'get', 'pvc', 'data']).spec.volumeName;
    const onDisk = readFileSync(join(cluster.dir, 'node', 'volumes', volume, 'nsbackup', 'shop.sql.gz'));
    expect(onDisk.length).toBeGreaterThan(100);
    // ... and in S3, with the export of the namespace.
    const keys: string[] = [];
    const store = s3.store();
    for await (const o of store.list(store.key('prod', 'shop', backupId) + '/')) keys.push(o.key);
    expect(keys.some((k) => k.endsWith('shop.sql.gz'))).toBe(true);
    expect(keys.some((k) => k.endsWith('manifest.json'))).toBe(true);
  });

  it('restores into a new namespace: default ServiceAccount merged, node port re-allocated, Widget, claims from snapshots', async () => {
    const reportPath = join(tmp, 'report.json');
    const r = await runNsbackup(restoreCommand, {
      ...baseEnv(),
      NSBACKUP_NAMESPACE: 'shop',
      NSBACKUP_RESTORE_BACKUP: backupId,
      NSBACKUP_NAMESPACE_MAPPING: 'shop=shop2',
      NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS: 'true',
      NSBACKUP_RESTORE_REPORT: reportPath,
    });
    expect(r.code, r.text).toBe(0);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report.failed, JSON.stringify(report.failed)).toEqual([]);

    // shop2's default ServiceAccount: the controller usually makes it before the restore reaches it, and then the
    // registry credentials are merged into it, not dropped as "already existed"; when the restore is first, it
    // creates it from the backup. Either way the credentials are there, and the report says which happened.
    const sa = kubectlJson(['-n', 'shop2', 'get', 'sa', 'default']);
    expect(sa.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    const isDefaultSa = (e: any) => e.path === '/api/v1/namespaces/shop2/serviceaccounts/default';
    const merged = report.updated.filter(isDefaultSa);
    const created = report.created.filter(isDefaultSa);
    expect(merged.length + created.length, JSON.stringify(report.alreadyExisted)).toBe(1);
    if (merged.length) expect(JSON.stringify(merged)).toContain('imagePullSecrets regcred');

    // The original still holds node port 30080: the copy gets one the server allocates, and the report says so.
    const web = kubectlJson(['-n', 'shop2', 'get', 'svc', 'web']);
    expect(web.spec.ports[0].nodePort).not.toBe(NODE_PORT);
    expect(web.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(report.warnings.join('\n')).toContain(`node port ${NODE_PORT} already allocated`);

    // The Widget came back as the server stored it, default included.
    const gear = kubectlJson(['-n', 'shop2', 'get', 'widgets.example.com', 'gear']);
    expect(gear.spec).toEqual({ size: 3, color: 'blue' });

    // Both claims come up from the backup's snapshots, with the files that were on them.
    await until('the StatefulSet and the database running in shop2', () => {
      const pods = kubectlJson(['-n', 'shop2', 'get', 'pods']).items;
      return pods.length === 2 && pods.every((p: any) => p.status.phase === 'Running') ? true : undefined;
    });
    expect(
      cluster.kubectl(['-n', 'shop2', 'exec', 'statefulset/cache', '--', 'cat', '/data/state']).trim(),
    ).toBe('warm');
    const files = cluster.kubectl([
      '-n',
      'shop2',
      'exec',
      'deploy/db',
      '--',
      'ls',
      '/var/lib/postgresql/data/nsbackup',
    ]);
    expect(files.split('\n')).toContain('shop.sql.gz');
  });

  it('feeds the dump from S3 back into the database', async () => {
    await pg.psql('DROP TABLE orders', 'shop');
    const r = await runNsbackup(restoreDbCommand, {
      ...baseEnv(),
      NSBACKUP_NAMESPACE: 'shop',
      NSBACKUP_DB: 'postgres',
      NSBACKUP_DB_TARGET: 'deployment/db',
      NSBACKUP_DB_USER: pg.user,
      NSBACKUP_DB_PASSWORD_ENV: 'POSTGRES_PASSWORD',
      NSBACKUP_RESTORE_FROM: backupId,
      NSBACKUP_RESTORE_DATABASE: 'shop',
      NSBACKUP_YES: 'true',
    });
    expect(r.code, r.text).toBe(0);
    expect(await pg.psql('SELECT count(*) FROM orders', 'shop')).toBe('500');
  });

  it('a dry run into a namespace that does not exist checks every object on the server, and stores nothing', async () => {
    const reportPath = join(tmp, 'dry.json');
    const r = await runNsbackup(restoreCommand, {
      ...baseEnv(),
      NSBACKUP_NAMESPACE: 'shop',
      NSBACKUP_RESTORE_BACKUP: backupId,
      NSBACKUP_NAMESPACE_MAPPING: 'shop=shop-dry',
      NSBACKUP_DRY_RUN: 'true',
      NSBACKUP_RESTORE_REPORT: reportPath,
    });
    expect(r.code, r.text).toBe(0);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report.notChecked).toEqual([]);
    expect(report.failed).toEqual([]);
    // The backup's objects; the snapshot copies the restore adds for the claims (PVCs come from snapshots by default)
    // say so in their own reason.
    const checked = report.created.filter(
      (e: any) => e.kind !== 'Namespace' && !String(e.reason).startsWith('added by the restore'),
    );
    expect(
      report.created.filter((e: any) => String(e.reason).startsWith('added by the restore')),
    ).not.toEqual([]);
    expect(checked.length).toBeGreaterThan(10);
    for (const e of checked) expect(e.reason).toMatch(/^checked in namespace default/);
    expect(() => cluster.kubectl(['get', 'namespace', 'shop-dry'])).toThrow(/NotFound/);
    const restoredInDefault = ['configmap', 'statefulset', 'widgets.example.com'].flatMap(
      (kind) => kubectlJson(['-n', 'default', 'get', kind, '-l', 'nsbackup.io/restored-from']).items,
    );
    expect(restoredInDefault).toEqual([]);
  });

  it('a dry run finds the custom resource that a stricter CRD already installed would refuse', async () => {
    // The target cluster's CRD has since tightened its schema: gear's size 3 is over the new maximum.
    const stricter: any = structuredClone(WIDGET_CRD);
    stricter.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size = {
      type: 'integer',
      minimum: 1,
      maximum: 2,
    };
    cluster.kubectl(['apply', '-f', '-'], JSON.stringify(stricter));
    try {
      const reportPath = join(tmp, 'strict.json');
      const r = await runNsbackup(restoreCommand, {
        ...baseEnv(),
        NSBACKUP_NAMESPACE: 'shop',
        NSBACKUP_RESTORE_BACKUP: backupId,
        NSBACKUP_NAMESPACE_MAPPING: 'shop=shop-strict',
        NSBACKUP_DRY_RUN: 'true',
        NSBACKUP_RESTORE_REPORT: reportPath,
      });
      expect(r.code).toBe(1);
      const report = JSON.parse(readFileSync(reportPath, 'utf8'));
      expect(report.failed.map((e: any) => `${e.kind}/${e.name}`)).toEqual(['Widget.example.com/gear']);
      expect(report.failed[0].error).toMatch(/spec\.size.*2/);
    } finally {
      cluster.kubectl(['apply', '-f', '-'], JSON.stringify(WIDGET_CRD));
    }
  });
});

describe('export --dir, applied with kubectl elsewhere', () => {
  it('binds the exported PV to the re-created claim instead of releasing it (no stale claimRef uid)', async () => {
    cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'retained' },
        provisioner: 'hostpath.csi.nsbackup.test',
        reclaimPolicy: 'Retain',
      }),
    );
    cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault' } },
          claim('vault', 'archive', 'retained'),
        ],
      }),
    );
    const pvName = await until(
      'the claim bound',
      () => kubectlJson(['-n', 'vault', 'get', 'pvc', 'archive']).spec.volumeName,
    );
    writeFileSync(join(cluster.dir, 'node', 'volumes', pvName, 'ledger'), 'year-end\n');
    const dir = join(tmp, 'vault-export');
    const r = await runNsbackup(exportCommand, {
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_NAMESPACE: 'vault',
      NSBACKUP_EXPORT_DIR: dir,
      NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES: 'true',
    });
    expect(r.code, r.text).toBe(0);
    const files = readdirSync(dir, { recursive: true }).map(String);
    expect(files.some((f) => f.includes(pvName))).toBe(true);

    // The namespace is gone (an accident, a move to another cluster); the Retain volume survives it, and the PV
    // object is removed as a new cluster would not have it.
    cluster.kubectl(['delete', 'namespace', 'vault', '--wait=true', '--timeout=60s']);
    await until('the volume released', () => kubectlJson(['get', 'pv', pvName]).status.phase === 'Released');
    cluster.kubectl(['delete', 'pv', pvName, '--wait=true', '--timeout=60s']);

    cluster.kubectl(['apply', '-R', '-f', dir]);
    await until(
      'the PV bound to the re-created claim',
      () => kubectlJson(['get', 'pv', pvName]).status.phase === 'Bound',
      30_000,
    ).catch((e) => {
      throw new Error(
        `${e.message}: ${cluster.kubectl(['get', 'pv', pvName, '-o', 'yaml'])}\n${cluster.kubectl(['-n', 'vault', 'get', 'pvc', '-o', 'yaml'])}\n${readdirSync(dir, { recursive: true }).join(' ')}`,
      );
    });
    const recreated = kubectlJson(['-n', 'vault', 'get', 'pvc', 'archive']);
    expect(recreated.status.phase).toBe('Bound');
    expect(kubectlJson(['get', 'pv', pvName]).spec.claimRef.uid).toBe(recreated.metadata.uid);
    expect(readFileSync(join(cluster.dir, 'node', 'volumes', pvName, 'ledger'), 'utf8')).toBe('year-end\n');
  });
});

describe('MariaDB: mysqldump in the database container, restore-db from S3', () => {
  let maria: LocalMariaDb;

  beforeAll(async () => {
    maria = await startMariaDb();
    await maria.sql('CREATE DATABASE books');
    await maria.sql(
      "CREATE TABLE loans (id INT PRIMARY KEY, title VARCHAR(64)); INSERT INTO loans VALUES (1, 'Dune'), (2, 'Emma'), (3, 'Ulysses')",
      'books',
    );
    const ns = 'library';
    const items = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'maria-root', namespace: ns },
        stringData: { password: maria.password },
      },
      claim(ns, 'data'),
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'maria', namespace: ns },
        spec: {
          serviceName: 'maria',
          selector: { matchLabels: { app: 'maria' } },
          template: {
            metadata: { labels: { app: 'maria' } },
            spec: {
              containers: [
                {
                  name: 'mariadb',
                  image: 'mariadb:11',
                  env: [
                    { name: 'PATH', value: '/usr/bin:/bin' },
                    {
                      name: 'MARIADB_ROOT_PASSWORD',
                      valueFrom: { secretKeyRef: { name: 'maria-root', key: 'password' } },
                    },
                  ],
                  volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }],
                },
              ],
              volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
            },
          },
        },
      },
    ];
    cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    await cluster.kubectlAsync(['-n', ns, 'rollout', 'status', 'statefulset/maria', '--timeout=60s']);
  }, 120_000);

  afterAll(async () => {
    await maria?.stop();
  });

  it('dumps over exec with the password from the container, snapshots, and feeds the dump back', async () => {
    // The server runs beside the node, not in the container: backup and restore-db both say where, alike.
    const dbEnv = {
      ...baseEnv(),
      NSBACKUP_NAMESPACE: 'library',
      NSBACKUP_DB: 'mysql',
      NSBACKUP_DB_TARGET: 'statefulset/maria',
      NSBACKUP_DB_PASSWORD_ENV: 'MARIADB_ROOT_PASSWORD',
      NSBACKUP_DB_HOST: maria.host,
      NSBACKUP_DB_PORT: String(maria.port),
    };
    const backup = await runNsbackup(backupCommand, {
      ...dbEnv,
      NSBACKUP_PVC: 'data',
      NSBACKUP_DB_NAMES: 'books',
      NSBACKUP_DUMP_DIR: '/var/lib/mysql/nsbackup',
      NSBACKUP_S3_DUMP: 'true',
      NSBACKUP_EXPORT: 'true',
      NSBACKUP_LOCK: 'false',
    });
    expect(backup.code, backup.text).toBe(0);
    expect(backup.text).not.toContain(maria.password);
    const snap = kubectlJson(['-n', 'library', 'get', 'volumesnapshots']).items[0];
    expect(snap.status.readyToUse).toBe(true);

    await maria.sql('DROP TABLE loans', 'books');
    const restoreDb = await runNsbackup(restoreDbCommand, {
      ...dbEnv,
      NSBACKUP_RESTORE_FROM: backup.summary!.backupId,
      NSBACKUP_YES: 'true',
    });
    expect(restoreDb.code, restoreDb.text).toBe(0);
    expect(await maria.sql('SELECT title FROM loans ORDER BY id', 'books')).toBe('Dune\nEmma\nUlysses');
  });
});
