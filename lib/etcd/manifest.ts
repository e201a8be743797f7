// What an etcd backup folder holds, and the checks a restore makes before it trusts one. Pure: no I/O.
//
//   <prefix>/<cluster>/_etcd/<backup id>/etcd-snapshot.db.gz   the snapshot, gzip then encrypted
//   <prefix>/<cluster>/_etcd/<backup id>/pki/<path>            each PKI file, encrypted
//   <prefix>/<cluster>/_etcd/<backup id>/manifest.json         written last, in clear (no secret in it)
//
// `_etcd` cannot be a namespace name (no underscore allowed), so etcd backups never mix with a namespace's.

import type { Member } from './tools.js';

export const ETCD_FOLDER = '_etcd';
export const SNAPSHOT_FILE = 'etcd-snapshot.db.gz';
export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_KIND = 'nsbackup-etcd-backup';

export type ClusterKind = 'kubeadm' | 'k3s' | 'rke2';

export interface StoredFile {
  /** Key relative to the backup folder. */
  name: string;
  role: 'snapshot' | 'pki';
  /** For PKI files: the path relative to the PKI folder. */
  path?: string;
  /** Size and SHA-256 of the bytes as stored (encrypted). */
  storedSize: number;
  storedSha256: string;
  /** Size and SHA-256 of the file itself (after decryption and, for the snapshot, gunzip). */
  size: number;
  sha256: string;
}

export interface EtcdManifest {
  kind: typeof MANIFEST_KIND;
  formatVersion: 1;
  cluster: string;
  backupId: string;
  /** When the snapshot was taken (ISO 8601, UTC). */
  createdAt: string;
  nsbackupVersion: string;
  clusterKind: ClusterKind;
  etcd: {
    endpoint: string;
    version: string;
    clusterId: string;
    /** The member the snapshot was taken from. */
    memberId: string;
    memberName: string;
    members: Member[];
    /** Read from the trial restore's data directory. */
    revision: number;
    totalKey: number;
  };
  /** Encryption is mandatory for etcd backups: the PKI owns the cluster. */
  encryption: { algorithm: string; keyId: string };
  files: StoredFile[];
}

/** Problems that make a manifest unusable for a restore; empty when it is sound. */
export function manifestProblems(doc: unknown, expect: { cluster: string; backupId: string }): string[] {
  const m = doc as Partial<EtcdManifest> | null;
  if (!m || typeof m !== 'object') return ['manifest.json is not a JSON object'];
  const problems: string[] = [];
  if (m.kind !== MANIFEST_KIND)
    problems.push(`manifest.json is not an etcd backup manifest (kind ${String(m.kind)})`);
  if (m.formatVersion !== 1)
    problems.push(`manifest.json format ${String(m.formatVersion)} is unknown; upgrade nsbackup`);
  if (m.cluster !== expect.cluster)
    problems.push(`manifest.json names cluster ${String(m.cluster)}, not ${expect.cluster}`);
  if (m.backupId !== expect.backupId)
    problems.push(`manifest.json names backup ${String(m.backupId)}, not ${expect.backupId}`);
  if (!m.encryption?.keyId) problems.push('manifest.json names no encryption key');
  const files = Array.isArray(m.files) ? m.files : [];
  if (files.filter((f) => f?.role === 'snapshot').length !== 1)
    problems.push('manifest.json does not list exactly one snapshot');
  for (const f of files) {
    const hex = /^[0-9a-f]{64}$/;
    if (!f || typeof f.name !== 'string' || !hex.test(f.sha256) || !hex.test(f.storedSha256))
      problems.push(`manifest.json lists a file without name or SHA-256`);
    else if (
      f.name.split('/').includes('..') ||
      f.name.startsWith('/') ||
      (f.path ?? '').split('/').includes('..')
    )
      problems.push(`manifest.json lists a file outside the backup: ${f.name}`);
  }
  return problems;
}

/** The backup ids (folders) under the etcd folder, from the keys of a listing, that hold a manifest. */
export function finishedBackupIds(keys: Iterable<string>, etcdPrefix: string): string[] {
  const ids = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(etcdPrefix)) continue;
    const rest = key.slice(etcdPrefix.length).split('/');
    if (rest.length === 2 && rest[1] === MANIFEST_FILE) ids.add(rest[0]);
  }
  return [...ids].sort();
}
