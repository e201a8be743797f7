// The node lock: at most N backups run at once on one node (the lock directory is a hostPath), so dumps and
// snapshots of many namespaces do not all hit the same disks together. Built on proper-lockfile: a slot is
// held by a `<dir>/<n>.lock` directory whose mtime the holder refreshes; a holder that died stops refreshing
// and its slot is reclaimed once the mtime is older than `staleMs`.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { JobError } from '../exit.js';
import type { Logger } from '../log.js';
import { waitForSlot } from './wait.js';
import { DEFAULT_STALE_MS, MIN_STALE_MS, type LockWaitOptions, type NodeLock } from './types.js';

export interface NodeLockOptions extends LockWaitOptions {
  dir: string;
}

export async function acquireNodeLock(opts: NodeLockOptions): Promise<NodeLock> {
  const staleMs = Math.max(opts.staleMs ?? DEFAULT_STALE_MS, MIN_STALE_MS);
  await mkdir(opts.dir, { recursive: true });
  return waitForSlot(opts, {
    trySlot: (slot) => trySlot(opts.dir, slot, staleMs, opts.log),
    where: `in ${opts.dir}`,
    logFields: { dir: opts.dir },
  });
}

async function trySlot(
  dir: string,
  slot: number,
  staleMs: number,
  log: Logger | undefined,
): Promise<NodeLock | undefined> {
  const target = join(dir, String(slot));
  let compromised: Error | undefined;
  let unlock: (() => Promise<void>) | undefined;
  try {
    unlock = await lockfile.lock(target, {
      realpath: false, // the target file itself never exists; only `<n>.lock` does
      stale: staleMs,
      update: Math.max(1_000, Math.floor(staleMs / 4)),
      retries: 0,
      onCompromised: (err) => {
        // proper-lockfile's default throws from a timer, which would crash the process mid-backup.
        compromised = err;
        log?.error('node lock compromised: the backup stops before its next write', {
          slot,
          error: err.message,
        });
      },
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw new JobError(`cannot use node lock directory ${dir}: ${(e as Error).message}`);
  }
  let released = false;
  return {
    slot,
    path: `${target}.lock`,
    get compromised() {
      return compromised;
    },
    assertHeld(step: string) {
      if (compromised) {
        throw new JobError(
          `node lock slot ${slot} was compromised (${compromised.message}); stopped before ${step}`,
        );
      }
    },
    async release() {
      if (released) return;
      released = true;
      if (compromised) return; // proper-lockfile already dropped it
      try {
        await unlock!();
        log?.debug('node lock released', { slot });
      } catch (e) {
        log?.warn('node lock release failed; the slot frees itself once stale', {
          slot,
          error: (e as Error).message,
        });
      }
    },
  };
}
