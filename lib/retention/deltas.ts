// The `deltas` policy: ISO 8601 generations as in k8s-snapshots/tarsnapper ("PT1H P1D P7D": keep
// hourly backups for a day, daily ones for a week, nothing older). The first delta is the backup
// interval, each later one ends a generation; the newest backup is always kept.
import { Duration } from '../luxon.js';
import { Labels } from '../labels.js';

/** Label that records a snapshot's deltas. */
export const DELTAS_LABEL = Labels.deltas;

/** Label values allow [A-Za-z0-9._-], at most 63 characters; ISO durations use only [PTWDHMS0-9.]. */
const SEPARATOR = '_';
const MAX_LABEL_VALUE = 63;

export interface Delta {
  /** As written, e.g. `P7D`. */
  iso: string;
  ms: number;
}

/**
 * Parses one ISO 8601 duration of fixed length. Months and years are refused: their length
 * depends on the calendar, so "closest to the step" would not be well defined (write P30D, P365D).
 */
export function parseDelta(iso: string): Delta {
  const duration = Duration.fromISO(iso);
  if (!duration.isValid) throw new RangeError(`not an ISO 8601 duration: "${iso}"`);
  if (duration.years || duration.quarters || duration.months) {
    throw new RangeError(`"${iso}": months and years have no fixed length; use days (P30D, P365D)`);
  }
  const ms = duration.toMillis();
  if (!(ms > 0) || !Number.isInteger(ms))
    throw new RangeError(`"${iso}": must be a positive whole number of ms`);
  return { iso, ms };
}

/** `"PT1H P1D P7D"` (spaces or commas) → deltas; at least two, as tarsnapper requires. */
export function parseDeltas(text: string): Delta[] {
  const deltas = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(parseDelta);
  if (deltas.length < 2) throw new RangeError(`deltas need at least two durations, got "${text}"`);
  return deltas;
}

/** The label value backup records: `PT1H_P1D_P7D_P30D_P360D`. */
export function encodeDeltas(deltas: readonly Delta[]): string {
  const value = deltas.map((d) => d.iso).join(SEPARATOR);
  if (value.length > MAX_LABEL_VALUE) {
    throw new RangeError(`deltas "${value}" exceed the ${MAX_LABEL_VALUE} characters of a label value`);
  }
  return value;
}

export function decodeDeltas(value: string): Delta[] {
  return parseDeltas(value.split(SEPARATOR).join(' '));
}

/**
 * The indices (into `times`, sorted newest first, ties already broken) that tarsnapper's expire
 * keeps. Same walk as the published algorithm: per generation, from the largest down, a pointer
 * starts at newest - (end of generation); the backup closest to it is kept (ties: the earlier in
 * `times`) and the pointer moves to that backup + the generation's delta; if the closest is the one
 * just kept, the pointer moves by one delta. Found by binary search instead of sorting every backup
 * per step, and a run of "same backup again" steps is jumped in one go: O(g · n log n).
 */
export function deltasKeep(times: readonly number[], deltas: readonly Delta[]): Set<number> {
  if (times.length === 0) return new Set();
  const steps = deltas.map((d) => d.ms).sort((a, b) => a - b);
  const groupStart = firstIndexOfEqualTimes(times);
  const newest = times[0];
  const keep = new Set<number>([0]);
  for (let g = steps.length - 1; g > 0; g--) {
    const span = steps[g];
    const delta = steps[g - 1];
    let pointer = newest - span;
    let lastKept = -1;
    while (pointer < newest) {
      const closest = closestIndex(times, groupStart, pointer);
      if (closest !== lastKept) {
        keep.add(closest);
        lastKept = closest;
        pointer = times[closest] + delta;
      } else {
        pointer = jumpPastSame(times, groupStart, closest, pointer, delta);
      }
    }
  }
  return keep;
}

/** For each index, the first index with the same time (times are sorted newest first). */
function firstIndexOfEqualTimes(times: readonly number[]): number[] {
  const start = new Array<number>(times.length);
  for (let i = 0; i < times.length; i++) start[i] = i > 0 && times[i] === times[i - 1] ? start[i - 1] : i;
  return start;
}

/** The index closest to `pointer`; on a tie the smaller index (the newer backup, or the first name). */
function closestIndex(times: readonly number[], groupStart: readonly number[], pointer: number): number {
  // First index whose time is <= pointer (times descend).
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= pointer) hi = mid;
    else lo = mid + 1;
  }
  if (lo === 0) return 0;
  const newer = groupStart[lo - 1];
  if (lo === times.length) return newer;
  return times[newer] - pointer <= pointer - times[lo] ? newer : lo;
}

/**
 * The published loop adds `delta` until another backup becomes the closest, which with a long gap
 * and a short delta is many steps (PT1M within P3650D: millions). The closest stays `kept` while
 * the pointer is short of the midpoint to the next newer backup, so jump straight past it.
 */
function jumpPastSame(
  times: readonly number[],
  groupStart: readonly number[],
  kept: number,
  pointer: number,
  delta: number,
): number {
  if (kept === 0) return pointer + delta; // cannot happen: the newest ends the walk when kept
  const doubledMidpoint = times[groupStart[kept - 1]] + times[kept];
  let steps = Math.max(1, Math.ceil((doubledMidpoint - 2 * pointer) / (2 * delta)));
  // Guard the float division: exactly the first step count at which the newer one is closest.
  while (2 * (pointer + steps * delta) < doubledMidpoint) steps++;
  while (steps > 1 && 2 * (pointer + (steps - 1) * delta) >= doubledMidpoint) steps--;
  return pointer + steps * delta;
}
