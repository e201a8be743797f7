// etcd-restore: from an etcd backup in S3 to a local folder holding a data directory made by `etcdutl snapshot
// restore`, the PKI files and the verified snapshot, plus the runbook for putting them into service. Everything is
// checked before it is used: the manifest, the key (before a byte is downloaded), each file's SHA-256 as stored and
// after decryption. It never talks to a running etcd; a failed run leaves the folder as it found it.

import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError } from '../config/index.js';
import { JobError } from '../exit.js';
import type { Logger } from '../log.js';
import type { EncryptionKey } from '../crypto/index.js';
import type { S3Store } from '../s3/index.js';
import { etcdPrefix } from './backup.js';
import { downloadFile } from './files.js';
import { finishedBackupIds, MANIFEST_FILE, manifestProblems, type EtcdManifest } from './manifest.js';
import { runbook } from './runbook.js';
import { snapshotRestore, type EtcdTools, type RestoreMember } from './tools.js';

export interface EtcdRestoreInput {
  store: S3Store;
  cluster: string;
  /** A backup id or `latest`. */
  backup: string;
  dir: string;
  encryptionKey: EncryptionKey;
  tools: EtcdTools;
  member: { name?: string; initialCluster?: string; initialAdvertisePeerUrls?: string };
  log: Logger;
}

export interface EtcdRestoreResult {
  backupId: string;
  manifest: EtcdManifest;
  runbook: string;
}

/** The output folder must be new or empty: a restore never mixes with, or overwrites, anything. */
function assertUsableDir(dir: string): boolean {
  if (!existsSync(dir)) return true;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw new ConfigError([
      `NSBACKUP_ETCD_RESTORE_DIR: ${dir} is not a readable folder (${(e as NodeJS.ErrnoException).code})`,
    ]);
  }
  if (entries.length)
    throw new ConfigError([`NSBACKUP_ETCD_RESTORE_DIR: ${dir} is not empty; give a new or empty folder`]);
  return false;
}

/** Which member the data directory is for: the one the snapshot came from, unless the settings say otherwise. */
export function restoreMemberOf(manifest: EtcdManifest, given: EtcdRestoreInput['member']): RestoreMember {
  const name = given.name || manifest.etcd.memberName || 'default';
  const known = manifest.etcd.members.find((m) => m.name === name);
  const peer = known?.peerURLs[0] ?? 'http://127.0.0.1:2380';
  const initialCluster = given.initialCluster || `${name}=${peer}`;
  const own = initialCluster
    .split(',')
    .filter((entry) => entry.startsWith(`${name}=`))
    .map((entry) => entry.slice(name.length + 1));
  const initialAdvertisePeerUrls = given.initialAdvertisePeerUrls || own.join(',') || peer;
  return { name, initialCluster, initialAdvertisePeerUrls };
}

/** The id of `backup` (an id or `latest`) among the finished etcd backups of the cluster; throws when none. */
export async function resolveEtcdBackupId(store: S3Store, cluster: string, backup: string): Promise<string> {
  const prefix = etcdPrefix(store, cluster);
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  const ids = finishedBackupIds(keys, prefix);
  const backupId = backup === 'latest' ? ids[ids.length - 1] : backup;
  if (!backupId || !ids.includes(backupId)) {
    throw new JobError(
      backup === 'latest'
        ? `no etcd backup with a manifest in ${store.url(prefix)}`
        : `no etcd backup ${backup} with a manifest in ${store.url(prefix)}`,
    );
  }
  return backupId;
}

export async function runEtcdRestore(input: EtcdRestoreInput): Promise<EtcdRestoreResult> {
  const { store, log } = input;
  const prefix = etcdPrefix(store, input.cluster);
  const backupId = await resolveEtcdBackupId(store, input.cluster, input.backup);
  const folder = prefix + backupId + '/';
  let manifest: EtcdManifest;
  try {
    manifest = JSON.parse(await store.downloadText(folder + MANIFEST_FILE));
  } catch (e) {
    throw new JobError(`etcd backup ${backupId}: manifest.json unreadable: ${(e as Error).message}`);
  }
  const problems = manifestProblems(manifest, { cluster: input.cluster, backupId });
  if (problems.length) throw new JobError(`etcd backup ${backupId}: ${problems.join('; ')}`);
  if (manifest.encryption.keyId !== input.encryptionKey.id) {
    throw new ConfigError([
      `NSBACKUP_ENCRYPTION_KEY: etcd backup ${backupId} is encrypted with key ${manifest.encryption.keyId}, ` +
        `the key given is ${input.encryptionKey.id}; nothing was written`,
    ]);
  }
  const created = assertUsableDir(input.dir);
  const member = restoreMemberOf(manifest, input.member);
  try {
    await mkdir(input.dir, { recursive: true, mode: 0o700 });
    for (const file of manifest.files) {
      const local =
        file.role === 'snapshot'
          ? join(input.dir, 'snapshot.db')
          : join(input.dir, 'pki', file.path ?? file.name);
      await mkdir(dirname(local), { recursive: true, mode: 0o700 });
      await downloadFile(store, folder + file.name, file, local, input.encryptionKey, {
        gunzip: file.role === 'snapshot',
        mode: file.role === 'pki' && !/\.(crt|pub)$/.test(local) ? 0o600 : 0o644,
      });
      log.info('downloaded and verified', { file: file.name, bytes: file.size });
    }
    await snapshotRestore(join(input.dir, 'snapshot.db'), join(input.dir, 'data'), member, input.tools);
    const text = runbook({
      clusterKind: manifest.clusterKind,
      backupId,
      createdAt: manifest.createdAt,
      revision: manifest.etcd.revision,
      dir: input.dir,
      memberName: member.name,
      initialCluster: member.initialCluster,
      members: manifest.etcd.members,
    });
    await writeFile(join(input.dir, 'RUNBOOK.txt'), text, { mode: 0o644 });
    return { backupId, manifest, runbook: text };
  } catch (e) {
    // Leave the folder as it was: removed if this run made it, emptied if it was empty.
    if (created) await rm(input.dir, { recursive: true, force: true });
    else
      for (const entry of readdirSync(input.dir))
        await rm(join(input.dir, entry), { recursive: true, force: true });
    if (e instanceof JobError || e instanceof ConfigError) throw e;
    throw new JobError(`etcd backup ${backupId}: ${(e as Error).message}; nothing was restored`);
  }
}
