// The `days` policy: a snapshot carries its own delete-after date from the moment it is created.
import { addDays, localDate } from './calendar.js';

/** `nsbackup.io/delete-after` for a snapshot created at `createdAt` that is kept `days` days. */
export function deleteAfterFor(createdAt: string, timeZone: string, days: number): string {
  if (!Number.isInteger(days) || days < 0)
    throw new RangeError(`days must be a whole number >= 0, got ${days}`);
  return addDays(localDate(createdAt, timeZone), days);
}

/**
 * The ad-hoc floor of a backup made at `createdAt` (the `nsbackup.io/keep-until` label of its snapshots, `keepUntil`
 * in the outcome of one without snapshots): `adhocKeepDays` after it for an ad-hoc backup, none for a scheduled one
 * or with 0 days.
 */
export function adhocKeepUntil(
  type: string | undefined,
  createdAt: string,
  timeZone: string,
  adhocKeepDays: number | undefined,
): string | undefined {
  return type === 'adhoc' && adhocKeepDays ? deleteAfterFor(createdAt, timeZone, adhocKeepDays) : undefined;
}
