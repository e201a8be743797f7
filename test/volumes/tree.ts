// A tree with every kind of file a volume holds, and a description of a tree to compare a restore against.
import { createHash } from 'node:crypto';
import {
  chownSync,
  closeSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
  chmodSync,
  lchownSync,
  lutimesSync,
} from 'node:fs';
import { join } from 'node:path';

/** Modes, owners (when root), a symlink (and a dangling one), hard links, empty directories, a sparse file,
 *  timestamps, unicode and awkward names. */
export function makeKindTree(root: string): void {
  mkdirSync(join(root, 'dir/sub'), { recursive: true });
  mkdirSync(join(root, 'empty/nested-empty'), { recursive: true });
  writeFileSync(join(root, 'dir/plain.txt'), 'plain\n');
  writeFileSync(join(root, 'dir/secret.key'), 'only the owner\n');
  chmodSync(join(root, 'dir/secret.key'), 0o600);
  writeFileSync(join(root, 'dir/run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'dir/run.sh'), 0o755);
  writeFileSync(join(root, 'dir/sub/setgid-dir-file'), 'x');
  chmodSync(join(root, 'dir/sub'), 0o2775);
  writeFileSync(join(root, 'grüße — 日本語 ✓.txt'), 'unicode name\n');
  writeFileSync(join(root, 'name with spaces and $dollar'), 'spaces\n');
  writeFileSync(join(root, 'hardlink-a'), 'two names, one inode\n');
  linkSync(join(root, 'hardlink-a'), join(root, 'dir/hardlink-b'));
  symlinkSync('dir/plain.txt', join(root, 'link-to-plain'));
  symlinkSync('/nowhere/at/all', join(root, 'dangling-link'));
  // Sparse: 64 MiB apparent, 2 small written islands.
  const fd = openSync(join(root, 'sparse.img'), 'w');
  writeSync(fd, Buffer.from('start'), 0, 5, 0);
  writeSync(fd, Buffer.from('end'), 0, 3, 64 * 1024 * 1024 - 3);
  closeSync(fd);
  if (process.getuid?.() === 0) {
    chownSync(join(root, 'dir/secret.key'), 999, 999);
    chownSync(join(root, 'dir/sub'), 1234, 5678);
    lchownSync(join(root, 'link-to-plain'), 4321, 8765);
  }
  const old = new Date('2020-02-29T12:34:56Z');
  utimesSync(join(root, 'dir/plain.txt'), old, old);
  utimesSync(join(root, 'empty/nested-empty'), old, old);
  lutimesSync(join(root, 'link-to-plain'), old, old);
  utimesSync(join(root, 'empty'), old, old);
}

export interface EntryFacts {
  type: 'file' | 'dir' | 'symlink';
  mode: string;
  uid: number;
  gid: number;
  mtimeMs: number;
  size?: number;
  sha256?: string;
  target?: string;
  /** Other paths sharing this file's inode (hard links), sorted. */
  links?: string[];
}

/** Everything a restore must keep, per relative path (directories' mtimes included). */
export function describeTree(root: string): Record<string, EntryFacts> {
  const out: Record<string, EntryFacts> = {};
  const inodes = new Map<number, string[]>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      const base = {
        mode: (st.mode & 0o7777).toString(8),
        uid: st.uid,
        gid: st.gid,
        mtimeMs: Math.floor(st.mtimeMs),
      };
      if (st.isSymbolicLink()) {
        // A symlink's own mode is always 777 on Linux.
        out[path] = { type: 'symlink', ...base, target: readlinkSync(join(root, path)) };
      } else if (st.isDirectory()) {
        out[path] = { type: 'dir', ...base };
        walk(path);
      } else {
        const sha256 = createHash('sha256')
          .update(readFileSync(join(root, path)))
          .digest('hex');
        out[path] = { type: 'file', ...base, size: st.size, sha256 };
        if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), path]);
      }
    }
  };
  walk('');
  for (const paths of inodes.values()) for (const p of paths) out[p].links = [...paths].sort();
  return out;
}
