// What every node lock backend shares: how long to wait, and the held slot a backup checks before each
// irreversible step. Backends: node-lock.ts (files in a hostPath), lease-lock.ts (coordination.k8s.io Leases).

import type { Logger } from '../log.js';

export interface LockWaitOptions {
  slots: number;
  /** Give up (exit 3) when no slot was free for this long. */
  timeoutMs: number;
  /** Pause between rounds over all slots. */
  pollMs?: number;
  /** A slot whose holder has not refreshed it for this long is taken over (min 2 s). */
  staleMs?: number;
  random?: () => number;
  log?: Logger;
  signal?: AbortSignal;
}

export interface NodeLock {
  slot: number;
  /** Where the slot is held: the lock directory proper-lockfile maintains, or the Lease as `namespace/name`. */
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
/** proper-lockfile's floor, kept for both backends so NSBACKUP_LOCK_STALE means the same for each. */
export const MIN_STALE_MS = 2_000;
