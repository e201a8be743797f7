// The wait for a free slot, the same for every backend: rounds over all slots in a random order, a pause between
// rounds, exit 3 at the timeout, stop on the abort signal. The backend only says how to try one slot.

import { sleep } from '../concurrency.js';
import { formatMs } from '../config/index.js';
import { ExitCode, JobError } from '../exit.js';
import { shuffledSlots } from './slots.js';
import { DEFAULT_POLL_MS, type LockWaitOptions, type NodeLock } from './types.js';

export interface SlotBackend {
  /** The slot, held; undefined when another holder has it. Throws when the backend cannot be used at all. */
  trySlot(slot: number): Promise<NodeLock | undefined>;
  /** Where the slots are, for the timeout message ("in /var/lock/nsbackup", "on node n1 (Leases in ns)"). */
  where: string;
  /** Fields of the "waiting" log line. */
  logFields: Record<string, unknown>;
}

export async function waitForSlot(opts: LockWaitOptions, backend: SlotBackend): Promise<NodeLock> {
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const deadline = Date.now() + opts.timeoutMs;
  let announced = false;
  for (;;) {
    for (const slot of shuffledSlots(opts.slots, opts.random)) {
      if (opts.signal?.aborted)
        throw opts.signal.reason ?? new JobError('stopped while waiting for the node lock');
      const lock = await backend.trySlot(slot);
      if (lock) {
        opts.log?.info('node lock acquired', { slot, lockPath: lock.path });
        return lock;
      }
    }
    if (Date.now() >= deadline) {
      throw new JobError(
        `node lock not acquired within ${formatMs(opts.timeoutMs)}: all ${opts.slots} slot(s) ${backend.where} ` +
          'are held by other backups (raise NSBACKUP_LOCK_SLOTS or NSBACKUP_LOCK_TIMEOUT)',
        ExitCode.lockTimeout,
      );
    }
    if (!announced) {
      opts.log?.info('waiting for a free node lock slot', { ...backend.logFields, slots: opts.slots });
      announced = true;
    }
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), opts.signal);
  }
}
