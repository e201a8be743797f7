// etcd-backup, in order: the member's status and members, `snapshot save` to a file of this run's own, a trial
// restore of that file into a data directory of its own (the check that catches a corrupted file), then the
// snapshot and the PKI files encrypted to S3, the manifest last, and retention of the cluster's etcd backups.
// A run that fails removes what it uploaded: a folder without a manifest is never restored, and none is left.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupIdFor } from '../naming.js';
import { JobError } from '../exit.js';
import type { Logger } from '../log.js';
import { ENCRYPTION_ALGORITHM, type EncryptionKey } from '../crypto/index.js';
import type { S3Store } from '../s3/index.js';
import { VERSION } from '../version.js';
import { uploadFile } from './files.js';
import {
  ETCD_FOLDER,
  finishedBackupIds,
  MANIFEST_FILE,
  MANIFEST_KIND,
  SNAPSHOT_FILE,
  type ClusterKind,
  type EtcdManifest,
  type StoredFile,
} from './manifest.js';
import { planEtcdRetention, type EtcdRetentionOptions, type EtcdRetentionPlan } from './retention.js';
import {
  endpointStatus,
  memberList,
  snapshotRestore,
  snapshotSave,
  snapshotStatus,
  type EtcdTls,
  type EtcdTools,
  type SnapshotStatus,
} from './tools.js';
import { verificationProblems } from './verify.js';

export interface EtcdBackupInput {
  tls: EtcdTls;
  tools: EtcdTools;
  pkiDir: string;
  pkiFiles: readonly string[];
  workDir?: string;
  store: S3Store;
  encryptionKey: EncryptionKey;
  cluster: string;
  clusterKind: ClusterKind;
  retention: Omit<EtcdRetentionOptions, 'now'>;
  log: Logger;
  now?: () => Date;
}

export interface EtcdBackupResult {
  backupId: string;
  location: string;
  manifest: EtcdManifest;
  retention: EtcdRetentionPlan;
  /** Folders retention deleted. */
  deleted: string[];
}

/** `<prefix>/<cluster>/_etcd/`: the folder of a cluster's etcd backups. */
export function etcdPrefix(store: S3Store, cluster: string): string {
  return store.key(cluster, ETCD_FOLDER) + '/';
}

export async function runEtcdBackup(input: EtcdBackupInput): Promise<EtcdBackupResult> {
  const { tls, tools, store, log } = input;
  const now = input.now ?? (() => new Date());
  const work = await mkdtemp(join(input.workDir || tmpdir(), 'nsbackup-etcd-'));
  const createdAt = now();
  const backupId = backupIdFor(createdAt);
  const folder = etcdPrefix(store, input.cluster) + backupId + '/';
  let uploading = false;
  try {
    const status = await endpointStatus(tls, tools);
    const members = await memberList(tls, tools);
    // The member answering on the endpoint (127.0.0.1 is not among the URLs it advertises): by its id.
    const self = members.find((m) => m.id === status.memberId);
    log.info('etcd member', {
      endpoint: tls.endpoint,
      version: status.version,
      revision: status.revision,
      dbSize: status.dbSize,
      members: members.map((m) => m.name),
    });

    const snapshot = join(work, 'snapshot.db');
    const savingStarted = Date.now();
    await snapshotSave(tls, snapshot, tools);
    log.info('snapshot saved', { seconds: (Date.now() - savingStarted) / 1000 });

    // The trial restore first: etcdutl checks the file's own SHA-256 before it reads anything else, so a changed
    // byte is always reported as such (a status read of a damaged file may fail in other ways, or not at all).
    // Then the database it built is read back and compared with what the file claims.
    const trial = join(work, 'trial-restore');
    const verifyStarted = Date.now();
    let saved: SnapshotStatus;
    let restored: SnapshotStatus;
    try {
      await snapshotRestore(
        snapshot,
        trial,
        {
          name: 'nsbackup-trial',
          initialCluster: 'nsbackup-trial=http://127.0.0.1:2380',
          initialAdvertisePeerUrls: 'http://127.0.0.1:2380',
        },
        tools,
      );
      saved = await snapshotStatus(snapshot, tools);
      restored = await snapshotStatus(join(trial, 'member', 'snap', 'db'), tools);
    } catch (e) {
      throw new JobError(
        `the snapshot failed its trial restore, nothing was uploaded: ${(e as Error).message}`,
      );
    } finally {
      await rm(trial, { recursive: true, force: true });
    }
    const problems = verificationProblems({ revisionBefore: status.revision, snapshot: saved, restored });
    if (problems.length) {
      throw new JobError(`the snapshot failed verification, nothing was uploaded: ${problems.join('; ')}`);
    }
    log.info('snapshot verified by a trial restore', {
      bytes: saved.totalSize,
      revision: restored.revision,
      keys: restored.totalKey,
      seconds: (Date.now() - verifyStarted) / 1000,
    });

    uploading = true;
    const files: StoredFile[] = [];
    const uploadStarted = Date.now();
    const digests = await uploadFile(store, folder + SNAPSHOT_FILE, snapshot, input.encryptionKey, {
      gzip: true,
    });
    files.push({ name: SNAPSHOT_FILE, role: 'snapshot', ...digests });
    log.info('snapshot uploaded', {
      bytes: digests.size,
      storedBytes: digests.storedSize,
      seconds: (Date.now() - uploadStarted) / 1000,
    });
    await rm(snapshot, { force: true });
    for (const path of input.pkiFiles) {
      const name = `pki/${path}`;
      const d = await uploadFile(store, folder + name, join(input.pkiDir, path), input.encryptionKey, {
        gzip: false,
      });
      files.push({ name, role: 'pki', path, ...d });
    }
    const manifest: EtcdManifest = {
      kind: MANIFEST_KIND,
      formatVersion: 1,
      cluster: input.cluster,
      backupId,
      createdAt: createdAt.toISOString(),
      nsbackupVersion: VERSION,
      clusterKind: input.clusterKind,
      etcd: {
        endpoint: tls.endpoint,
        version: status.version,
        clusterId: status.clusterId,
        memberId: status.memberId,
        memberName: self?.name ?? '',
        members,
        revision: restored.revision,
        totalKey: restored.totalKey,
      },
      encryption: { algorithm: ENCRYPTION_ALGORITHM, keyId: input.encryptionKey.id },
      files,
    };
    await store.upload(folder + MANIFEST_FILE, JSON.stringify(manifest, null, 2) + '\n', 'application/json');
    uploading = false;
    log.info('etcd backup stored', { location: store.url(folder), files: files.length });

    const { retention, deleted } = await applyRetention(store, input, now(), log);
    return { backupId, location: store.url(folder), manifest, retention, deleted };
  } catch (e) {
    if (uploading) {
      // Best effort: a failed run must not leave a folder behind (it has no manifest, so it is never restored).
      await store.deletePrefix(folder).catch((err) =>
        log.warn('could not remove the failed backup’s files', {
          location: store.url(folder),
          error: String(err),
        }),
      );
    }
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function applyRetention(
  store: S3Store,
  input: EtcdBackupInput,
  now: Date,
  log: Logger,
): Promise<{ retention: EtcdRetentionPlan; deleted: string[] }> {
  const prefix = etcdPrefix(store, input.cluster);
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  const ids = finishedBackupIds(keys, prefix);
  const retention = planEtcdRetention(ids, { ...input.retention, now });
  if (retention.refused) {
    log.error('retention refused by the safety valve: nothing deleted', { refusals: retention.refusals });
    return { retention, deleted: [] };
  }
  const deleted: string[] = [];
  for (const id of retention.deletions) {
    await store.deletePrefix(prefix + id + '/');
    deleted.push(id);
    log.info('etcd backup deleted by retention', { backupId: id });
  }
  return { retention, deleted };
}
