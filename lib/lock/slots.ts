// Which lock slot files a backup tries, in which order. Pure: the random source is a parameter.

import { availableParallelism } from 'node:os';

/** Default number of backups that may run at once on one node: half its CPUs, at least one. */
export function defaultSlotCount(cpus: number = availableParallelism()): number {
  return Math.max(1, Math.floor(cpus / 2));
}

/**
 * Slots 1..n in a random order (Fisher-Yates), so backups that start together spread over the slots
 * instead of all queueing on slot 1 first.
 */
export function shuffledSlots(n: number, random: () => number = Math.random): number[] {
  const slots = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [slots[i], slots[j]] = [slots[j], slots[i]];
  }
  return slots;
}
