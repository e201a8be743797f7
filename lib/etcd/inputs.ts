// The local files an etcd backup reads, checked before anything runs: a missing certificate or CA key is a
// configuration error naming the setting and the path (exit 2), not a half-done backup.

import { closeSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
