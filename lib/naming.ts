// Names of a backup run and of its VolumeSnapshots. Times are UTC in names (they sort and never repeat
// across a DST change); labels carry local dates in TZ.

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** VolumeSnapshot names are also used in label values and events; keep them label-sized. */
export const MAX_SNAPSHOT_NAME = 63;

export function randomSuffix(random: () => number = Math.random, length = 6): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length) % ALPHABET.length];
  return s;
}

/** `yyyyMMdd-HHmmss` in UTC. */
export function stamp(at: Date): string {
  const iso = at.toISOString(); // 2026-11-21T13:49:20.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** The run's id: label `nsbackup.io/backup` on every snapshot and the S3 folder of the run. */
export function backupIdFor(at: Date, random: () => number = Math.random): string {
  return `${stamp(at)}-${randomSuffix(random)}`;
}

/**
 * `<pvc>-<yyyyMMdd-HHmmss>-<6 random [a-z0-9]>`, at most 63 characters: a long PVC name is cut (and a
 * cut that ends in `-` or `.` is trimmed) so the time and the random part always survive.
 */
export function snapshotNameFor(pvc: string, at: Date, random: () => number = Math.random): string {
  const tail = `-${stamp(at)}-${randomSuffix(random)}`;
  const room = MAX_SNAPSHOT_NAME - tail.length;
  const head = pvc.length > room ? pvc.slice(0, room).replace(/[-.]+$/, '') : pvc;
  return `${head}${tail}`;
}

/** A backup id's time (`yyyyMMdd-HHmmss-xxxxxx`, UTC) as ISO 8601, or undefined for an id nsbackup did not make. */
export function createdAtOfId(id: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-[a-z0-9]+$/.exec(id);
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  // Date.parse accepts Feb 30 (it rolls over): a date that does not round-trip is not one backupIdFor wrote.
  const ms = Date.parse(iso);
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) + 'Z' !== iso ? undefined : iso;
}
