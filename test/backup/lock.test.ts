import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, JobError } from '../../lib/exit.js';
import { acquireNodeLock, defaultSlotCount, shuffledSlots } from '../../lib/lock/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nsbackup-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fresh = async (name: string) => join(dir, name);

describe('slots', () => {
  it('tries every slot once, in an order that depends on the random source', () => {
    expect(shuffledSlots(5, () => 0.999).sort()).toEqual([1, 2, 3, 4, 5]);
    const orders = new Set([0.1, 0.5, 0.9].map((r) => shuffledSlots(4, () => r).join()));
    expect(orders.size).toBeGreaterThan(1);
  });

  it('defaults to half the CPUs, at least one', () => {
    expect(defaultSlotCount(1)).toBe(1);
    expect(defaultSlotCount(2)).toBe(1);
    expect(defaultSlotCount(9)).toBe(4);
  });
});

describe('node lock', () => {
  it('lets two holders of one slot run one after the other', async () => {
    const lockDir = await fresh('race');
    const events: string[] = [];
    const holder = async (name: string) => {
      const lock = await acquireNodeLock({ dir: lockDir, slots: 1, timeoutMs: 10_000, pollMs: 50 });
      events.push(`${name} start`);
      await new Promise((r) => setTimeout(r, 300));
      events.push(`${name} end`);
      await lock.release();
    };
    await Promise.all([holder('a'), holder('b')]);
    expect(events).toHaveLength(4);
    // Never interleaved: each start is followed by its own end.
    expect(events[1]).toBe(events[0].replace('start', 'end'));
    expect(events[3]).toBe(events[2].replace('start', 'end'));
  });

  it('uses a second slot when the first is taken', async () => {
    const lockDir = await fresh('two-slots');
    const a = await acquireNodeLock({ dir: lockDir, slots: 2, timeoutMs: 1_000 });
    const b = await acquireNodeLock({ dir: lockDir, slots: 2, timeoutMs: 1_000 });
    expect(new Set([a.slot, b.slot])).toEqual(new Set([1, 2]));
    await a.release();
    await b.release();
  });

  it('gives up with exit code 3 when no slot frees up before the timeout', async () => {
    const lockDir = await fresh('timeout');
    const held = await acquireNodeLock({ dir: lockDir, slots: 1, timeoutMs: 1_000 });
    const started = Date.now();
    const error = await acquireNodeLock({ dir: lockDir, slots: 1, timeoutMs: 400, pollMs: 100 }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(JobError);
    expect(error.exitCode).toBe(ExitCode.lockTimeout);
    expect(error.message).toMatch(/node lock not acquired within/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    await held.release();
  });

  it('reclaims the slot of a holder that was killed, after the stale time', async () => {
    const lockDir = await fresh('stale');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/backup/fixtures/hold-lock.ts', lockDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
      child.once('exit', (code) => reject(new Error(`holder exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The dead holder's lock directory is still there: nobody cleaned up.
    await expect(stat(join(lockDir, '1.lock'))).resolves.toBeTruthy();

    const started = Date.now();
    const lock = await acquireNodeLock({
      dir: lockDir,
      slots: 1,
      timeoutMs: 10_000,
      pollMs: 200,
      staleMs: 2_000,
    });
    expect(lock.slot).toBe(1);
    expect(Date.now() - started).toBeLessThan(8_000); // stale time 2 s, plus polling and a loaded machine
    await lock.release();
  }, 20_000);

  it('reports a lock that was taken away, so the backup stops before writing', async () => {
    const lockDir = await fresh('compromised');
    const lock = await acquireNodeLock({ dir: lockDir, slots: 1, timeoutMs: 1_000, staleMs: 2_000 });
    expect(() => lock.assertHeld('creating snapshots')).not.toThrow();
    await rm(join(lockDir, '1.lock'), { recursive: true });
    // The holder notices at its next refresh (every second here); give a loaded machine some room.
    for (let i = 0; i < 50 && !lock.compromised; i++) await new Promise((r) => setTimeout(r, 100));
    expect(lock.compromised).toBeInstanceOf(Error);
    expect(() => lock.assertHeld('creating snapshots')).toThrow(
      /compromised.*stopped before creating snapshots/,
    );
    await lock.release();
  });
});
