// `nsbackup backup` with a bucket: the export step writes the namespace's archive into the backup's folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { readBackupObjects, readManifest } from '../../lib/export/index.js';
import { generateEncryptionKey, parseEncryptionKey } from '../../lib/crypto/index.js';
import { createBackupCommand } from '../../scripts/backup.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { startS3, type LocalS3 } from '../kit/index.js';
import { SHOP_EXPORT_PATHS, shopObjects } from './shop.js';

let cluster: Cluster;
let s3: LocalS3;
let dir: string;

beforeAll(async () => {
  [cluster, s3] = await Promise.all([startCluster(), startS3()]);
  cluster.seed(...shopObjects());
  dir = await mkdtemp(join(tmpdir(), 'nsbackup-backup-export-'));
});
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close(), dir && rm(dir, { recursive: true, force: true })]);
});

/** Ids of the backups of shop whose manifest was written. */
async function finishedBackups(): Promise<string[]> {
  const ids: string[] = [];
  for await (const object of s3.store().list('nsbackup/prod/shop/')) {
    const match = /^nsbackup\/prod\/shop\/([^/]+)\/manifest\.json$/.exec(object.key);
    if (match) ids.push(match[1]);
  }
  return ids.sort();
}

/** Writes to the cluster in the request log (anything but get/list/watch). */
const clusterWrites = () => cluster.requests.filter((q) => !['get', 'list', 'watch'].includes(q.verb));

async function backup(env: Record<string, string>) {
  const logs: any[] = [];
  const code = await runCommand(createBackupCommand({ pollMs: 20, notifier: undefined }), {
    env: {
      ...s3.env,
      NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_LOCK_DIR: join(dir, 'locks'),
      NSBACKUP_CLUSTER_NAME: 'prod',
      NSBACKUP_NAMESPACE: 'shop',
      NSBACKUP_DB: 'none',
      NSBACKUP_TYPE: 'scheduled',
      ...env,
    },
    write: (line) => logs.push(JSON.parse(line)),
    out: () => undefined,
  });
  return { code, logs, summary: logs.find((l) => l.summary) };
}

describe('the backup with NSBACKUP_S3_BUCKET', () => {
  it("exports the namespace, encrypted, into the backup's folder", async () => {
    const key = generateEncryptionKey();
    const r = await backup({ NSBACKUP_ENCRYPTION_KEY: key, NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES: 'true' });
    expect(r.code, JSON.stringify(r.logs)).toBe(0);
    // Encrypted, so the default (auto) takes the Secrets, and no warning.
    expect(r.summary.warnings).toBeUndefined();
    const id = r.summary.backupId;
    expect(r.summary.s3).toEqual([`s3://${s3.bucket}/nsbackup/prod/shop/${id}/`]);
    expect(await finishedBackups()).toEqual([id]);

    const folder = `nsbackup/prod/shop/${id}/`;
    const manifest = await readManifest(s3.store(), folder);
    expect(manifest.paths.slice().sort()).toEqual(SHOP_EXPORT_PATHS);
    expect(manifest.encryption?.keyId).toBe(parseEncryptionKey(key).id);
    let count = 0;
    for await (const _ of readBackupObjects(s3.store(), folder, manifest, parseEncryptionKey(key))) count++;
    expect(count).toBe(SHOP_EXPORT_PATHS.length);
    expect(JSON.stringify(r.logs)).not.toContain(key);
  });

  it('exports nothing with NSBACKUP_EXPORT=false, and stops before anything with a bad key', async () => {
    const before = await finishedBackups();
    const off = await backup({ NSBACKUP_EXPORT: 'false' });
    expect(off.code).toBe(0);
    expect(off.summary.s3).toBeUndefined();

    const bad = await backup({ NSBACKUP_ENCRYPTION_KEY: 'not-a-key' });
    expect(bad.code).toBe(2);
    expect(await finishedBackups()).toEqual(before);
  });
});

describe('the S3 store is checked before anything is written', () => {
  it('a missing bucket, a wrong endpoint: exit 2 naming the settings, no dump, no snapshot, nothing in S3', async () => {
    const before = await finishedBackups();
    for (const [what, env, message] of [
      ['missing bucket', { NSBACKUP_S3_BUCKET: 'no-such-bucket' }, /no such bucket.*HTTP 404/],
      ['wrong endpoint', { NSBACKUP_S3_ENDPOINT: 'http://127.0.0.1:9' }, /ECONNREFUSED/],
    ] as const) {
      for (const dryRun of ['false', 'true']) {
        cluster.clearRequests();
        const r = await backup({ ...env, NSBACKUP_PVC: 'data-db-0', NSBACKUP_DRY_RUN: dryRun });
        expect(r.code, `${what}, dry run ${dryRun}: ${r.summary?.error}`).toBe(2);
        expect(r.summary.error).toMatch(/the S3 store is not usable/);
        expect(r.summary.error).toMatch(message);
        expect(r.summary.error).toMatch(/check NSBACKUP_S3_BUCKET, NSBACKUP_S3_REGION, NSBACKUP_S3_ENDPOINT/);
        expect(clusterWrites()).toEqual([]);
        expect(cluster.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'shop')).toEqual([]);
      }
    }
    expect(await finishedBackups()).toEqual(before);
  });

  it("a working store: the probe object is the namespace folder's own, overwritten by each run", async () => {
    const r = await backup({ NSBACKUP_EXPORT: 'false' });
    expect(r.code, r.summary?.error).toBe(0);
    expect(await s3.store().exists('nsbackup/prod/shop/.nsbackup-write-check')).toBe(true);
    const dry = await backup({ NSBACKUP_DRY_RUN: 'true' });
    expect(dry.code, dry.summary?.error).toBe(0);
  });
});
