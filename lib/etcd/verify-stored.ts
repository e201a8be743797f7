// etcd-verify: proves a stored etcd backup still restores, long after etcd-backup's own trial restore: every file
// read back from S3 against its manifest (SHA-256 as stored and after decryption), the snapshot restored with
// etcdutl into a folder of this run, and the restored database checked against the manifest's revision and key
// count. The result goes into verification.json beside the backup; the folder is removed whatever happened.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EncryptionKey } from '../crypto/index.js';
import { JobError } from '../exit.js';
import type { Logger } from '../log.js';
import type { S3Store } from '../s3/index.js';
import { etcdPrefix } from './backup.js';
import { resolveEtcdBackupId, runEtcdRestore } from './restore.js';
import { snapshotStatus, type EtcdTools } from './tools.js';
import { verificationProblems } from './verify.js';

export const ETCD_VERIFICATION_FILE = 'verification.json';

export interface EtcdVerification {
  backupId: string;
  verifiedAt: string;
  ok: boolean;
  problems: string[];
  revision: number;
  keys: number;
  seconds: number;
}

export async function verifyStoredEtcdBackup(input: {
  store: S3Store;
  cluster: string;
  backup: string;
  encryptionKey: EncryptionKey;
  tools: EtcdTools;
  workDir?: string;
  log: Logger;
  now?: () => Date;
}): Promise<EtcdVerification> {
  const started = Date.now();
  const work = await mkdtemp(join(input.workDir || tmpdir(), 'nsbackup-etcd-verify-'));
  let result: EtcdVerification;
  try {
    const restoreDir = join(work, 'restore');
    // A backup that is not there is no verdict on a backup: that run fails as it is, recording nothing.
    const backupId = await resolveEtcdBackupId(input.store, input.cluster, input.backup);
    let restored;
    try {
      restored = await runEtcdRestore({
        store: input.store,
        cluster: input.cluster,
        backup: backupId,
        dir: restoreDir,
        encryptionKey: input.encryptionKey,
        tools: input.tools,
        member: {},
        log: input.log,
      });
    } catch (e) {
      // A wrong key is no verdict on the backup either (ConfigError: exit 2); a damaged file or manifest is.
      if (!(e instanceof JobError)) throw e;
      result = failed(backupId, [e.message], started, input.now);
      await record(input, result);
      return result;
    }
    const { manifest } = restored;
    const snapshot = await snapshotStatus(join(restoreDir, 'snapshot.db'), input.tools);
    const data = await snapshotStatus(join(restoreDir, 'data', 'member', 'snap', 'db'), input.tools);
    const problems = verificationProblems({
      revisionBefore: manifest.etcd.revision,
      snapshot,
      restored: data,
    });
    if (data.totalKey !== manifest.etcd.totalKey)
      problems.push(
        `the restored database holds ${data.totalKey} keys, the manifest says ${manifest.etcd.totalKey}`,
      );
    result = {
      backupId: restored.backupId,
      verifiedAt: (input.now?.() ?? new Date()).toISOString(),
      ok: problems.length === 0,
      problems,
      revision: data.revision,
      keys: data.totalKey,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await record(input, result);
  return result;
}

function failed(backupId: string, problems: string[], started: number, now?: () => Date): EtcdVerification {
  return {
    backupId,
    verifiedAt: (now?.() ?? new Date()).toISOString(),
    ok: false,
    problems,
    revision: 0,
    keys: 0,
    seconds: (Date.now() - started) / 1000,
  };
}

async function record(input: { store: S3Store; cluster: string }, result: EtcdVerification): Promise<void> {
  const key = `${etcdPrefix(input.store, input.cluster)}${result.backupId}/${ETCD_VERIFICATION_FILE}`;
  await input.store.upload(key, `${JSON.stringify(result, null, 2)}\n`);
}
