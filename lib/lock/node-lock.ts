// The node lock: at most N backups run at once on one node (the lock directory is a hostPath), so dumps and
// snapshots of many namespaces do not all hit the same disks together. Built on proper-lockfile: a slot is
// held by a `<dir>/<n>.lock` directory whose mtime the holder refreshes; a holder that died stops refreshing
// and its slot is reclaimed once the mtime is older than `staleMs`.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { sleep } from '../concurrency.js';
import { ExitCode, JobError } from '../exit.js';
import { formatMs } from '../config/index.js';
import type { Logger } from '../log.js';
import { shuffledSlots } from './slots.js';

export interface NodeLockOptions {
  dir: string;
  slots: number;
  /** Give up (exit 3) when no slot was free for this long. */
  timeoutMs: number;
  /** Pause between rounds over all slots. */
  pollMs?: number;
  /** A slot whose holder has not refreshed it for this long is taken over (min 2 s, proper-lockfile's floor). */
  staleMs?: number;
  random?: () => number;
  log?: Logger;
  signal?: AbortSignal;
}

export interface NodeLock {
  slot: number;
  /** The lock directory proper-lockfile maintains. */
  path: string;
  /** Set when the lock could not be refreshed (or was taken over): the holder must stop before writing. */
  readonly compromised: Error | undefined;
  /** Throws a JobError when the lock is compromised; call it right before each irreversible step. */
  assertHeld(step: string): void;
  /** Idempotent; never throws (a failed release is logged: the lock then goes stale and is reclaimed). */
  release(): Promise<void>;
}

export const DEFAULT_STALE_MS = 60_000;
export const DEFAULT_POLL_MS = 1_000;

export async function acquireNodeLock(opts: NodeLockOptions): Promise<NodeLock> {
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const staleMs = Math.max(opts.staleMs ?? DEFAULT_STALE_MS, 2_000);
  const deadline = Date.now() + opts.timeoutMs;
  await mkdir(opts.dir, { recursive: true });
  let announced = false;
  for (;;) {
    for (const slot of shuffledSlots(opts.slots, opts.random)) {
      if (opts.signal?.aborted)
        throw opts.signal.reason ?? new JobError('stopped while waiting for the node lock');
      const lock = await trySlot(opts.dir, slot, staleMs, opts.log);
      if (lock) {
        opts.log?.info('node lock acquired', { slot, lockPath: lock.path });
        return lock;
      }
    }
    if (Date.now() >= deadline) {
      throw new JobError(
        `node lock not acquired within ${formatMs(opts.timeoutMs)}: all ${opts.slots} slot(s) in ${opts.dir} ` +
          'are held by other backups (raise NSBACKUP_LOCK_SLOTS or NSBACKUP_LOCK_TIMEOUT)',
        ExitCode.lockTimeout,
      );
    }
    if (!announced) {
      opts.log?.info('waiting for a free node lock slot', { dir: opts.dir, slots: opts.slots });
      announced = true;
    }
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), opts.signal);
  }
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
