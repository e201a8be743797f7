// The local files an etcd backup reads, checked before anything runs: a missing certificate or CA key is a
// configuration error naming the setting and the path (exit 2), not a half-done backup.

import { closeSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/index.js';
import { keyFrom, type EncryptionKey } from '../crypto/index.js';
import type { Logger } from '../log.js';
import { storeFrom, type S3Store } from '../s3/index.js';

export interface NamedPath {
  /** The setting the path comes from, for the message. */
  setting: string;
  path: string;
}

/** One line per path that is not a readable file. */
export function unreadableFiles(paths: readonly NamedPath[]): string[] {
  const problems: string[] = [];
  for (const { setting, path } of paths) {
    try {
      if (!statSync(path).isFile()) {
        problems.push(`${setting}: ${path} is not a file`);
        continue;
      }
      closeSync(openSync(path, 'r'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'does not exist'
          : code === 'EACCES'
            ? 'is not readable'
            : `cannot be read (${code})`;
      problems.push(`${setting}: ${path} ${why}`);
    }
  }
  return problems;
}

export function pkiPaths(pkiDir: string, files: readonly string[]): NamedPath[] {
  return files.map((file) => ({ setting: 'NSBACKUP_PKI_DIR/NSBACKUP_PKI_FILES', path: join(pkiDir, file) }));
}

/** The namespace whose key a key file's map gives the etcd backups: where the chart runs them. */
export const ETCD_KEY_NAMESPACE = 'kube-system';

/**
 * The store and the key every command that reads etcd backups needs (etcd-restore, etcd-verify): both mandatory,
 * a configuration error naming what is missing.
 */
export function etcdStoreAndKey(
  config: Parameters<typeof storeFrom>[0] & Parameters<typeof keyFrom>[0],
  env: NodeJS.ProcessEnv,
  log: Logger,
): { store: S3Store; encryptionKey: EncryptionKey } {
  const store = storeFrom(config, env, log);
  const encryptionKey = keyFrom(config, ETCD_KEY_NAMESPACE, log);
  const problems: string[] = [];
  if (!store) problems.push('NSBACKUP_S3_BUCKET is required: etcd backups are read from S3');
  if (!encryptionKey)
    problems.push(
      'NSBACKUP_ENCRYPTION_KEY or NSBACKUP_ENCRYPTION_KEY_FILE is required: etcd backups are encrypted',
    );
  if (problems.length) throw new ConfigError(problems);
  return { store: store!, encryptionKey: encryptionKey! };
}
