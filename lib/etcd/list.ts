// The etcd backups of a cluster as `nsbackup list --etcd` shows them: one row per finished backup (a folder with a
// manifest), oldest first. Reading is an adapter; the rows and the table are pure.
import { localTime } from '../table.js';
import { columns } from '../table.js';
import type { S3Store } from '../s3/index.js';
import { etcdPrefix } from './backup.js';
import { finishedBackupIds, MANIFEST_FILE, type EtcdManifest } from './manifest.js';

export interface EtcdBackupRow {
  backupId: string;
  createdAt: string;
  location: string;
  etcdVersion: string;
  revision: number;
  keys: number;
  /** The snapshot's own size and the bytes stored for the whole backup. */
  snapshotBytes: number;
  storedBytes: number;
  pkiFiles: number;
  keyId: string;
}

export function etcdBackupRow(manifest: EtcdManifest, location: string): EtcdBackupRow {
  const snapshot = manifest.files.find((f) => f.role === 'snapshot');
  return {
    backupId: manifest.backupId,
    createdAt: manifest.createdAt,
    location,
    etcdVersion: manifest.etcd.version,
    revision: manifest.etcd.revision,
    keys: manifest.etcd.totalKey,
    snapshotBytes: snapshot?.size ?? 0,
    storedBytes: manifest.files.reduce((sum, f) => sum + f.storedSize, 0),
    pkiFiles: manifest.files.filter((f) => f.role === 'pki').length,
    keyId: manifest.encryption.keyId,
  };
}

export async function listEtcdBackups(store: S3Store, cluster: string): Promise<EtcdBackupRow[]> {
  const prefix = etcdPrefix(store, cluster);
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  const rows: EtcdBackupRow[] = [];
  for (const id of finishedBackupIds(keys, prefix)) {
    const manifest = JSON.parse(await store.downloadText(prefix + id + '/' + MANIFEST_FILE)) as EtcdManifest;
    rows.push(etcdBackupRow(manifest, store.url(prefix + id + '/')));
  }
  return rows;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatEtcdTable(cluster: string, rows: readonly EtcdBackupRow[], timeZone: string): string {
  if (rows.length === 0) return `No etcd backups of cluster ${cluster} found.\n`;
  const header = ['BACKUP', 'CREATED', 'ETCD', 'REVISION', 'KEYS', 'SNAPSHOT', 'STORED', 'PKI FILES'];
  const lines = rows.map((r) => [
    r.backupId,
    localTime(r.createdAt, timeZone),
    r.etcdVersion || '-',
    String(r.revision),
    String(r.keys),
    mib(r.snapshotBytes),
    mib(r.storedBytes),
    String(r.pkiFiles),
  ]);
  return `ETCD BACKUPS of cluster ${cluster}\n${columns([header, ...lines])}\n`;
}
