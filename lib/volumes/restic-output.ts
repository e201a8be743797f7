// What restic prints, read back. Pure.

import { refOfTags } from './repository.js';
import type { SnapshotRef } from './repository.js';

/** The result of one volume's upload, as the manifest and outcome record it. */
export interface BackupSummary {
  snapshotId: string;
  files: number;
  filesNew: number;
  filesChanged: number;
  bytesAdded: number;
  bytesProcessed: number;
  durationSeconds: number;
}

/** The `summary` line of `restic backup --json` (the last JSON object with message_type summary). */
export function parseBackupSummary(stdout: string): BackupSummary | undefined {
  let found: BackupSummary | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let msg: any;
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (msg?.message_type !== 'summary' || typeof msg.snapshot_id !== 'string') continue;
    found = {
      snapshotId: msg.snapshot_id,
      files: Number(msg.total_files_processed ?? 0),
      filesNew: Number(msg.files_new ?? 0),
      filesChanged: Number(msg.files_changed ?? 0),
      bytesAdded: Number(msg.data_added ?? 0),
      bytesProcessed: Number(msg.total_bytes_processed ?? 0),
      durationSeconds: Math.round(Number(msg.total_duration ?? 0) * 10) / 10,
    };
  }
  return found;
}

export interface ResticSnapshot extends SnapshotRef {
  id: string;
  shortId: string;
  time: string;
  host: string;
}

/** `restic snapshots --json`: only snapshots carrying all three of our tags. */
export function parseSnapshots(stdout: string): ResticSnapshot[] {
  const parsed = JSON.parse(stdout.trim() || '[]');
  if (!Array.isArray(parsed)) throw new Error('restic snapshots: not a JSON list');
  const out: ResticSnapshot[] = [];
  for (const s of parsed) {
    const ref = refOfTags(s?.tags);
    if (!ref || typeof s.id !== 'string') continue;
    out.push({
      ...ref,
      id: s.id,
      shortId: s.short_id ?? s.id.slice(0, 8),
      time: s.time,
      host: s.hostname,
    });
  }
  return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** `restic stats --json --mode restore-size`. */
export function parseStats(stdout: string): { bytes: number; files: number } {
  const s = JSON.parse(stdout.trim());
  return { bytes: Number(s.total_size ?? 0), files: Number(s.total_file_count ?? 0) };
}

/** restic's "Is there a repository at the following location?": the repository does not exist (yet). */
export function isMissingRepository(stderr: string): boolean {
  return /unable to open config file/.test(stderr) && /Is there a repository/.test(stderr);
}

/** The last meaningful line of restic's stderr, for an error message (never holds the password: restic never prints it). */
export function resticErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const fatal = lines.filter((l) => l.startsWith('Fatal:'));
  return (fatal.at(-1) ?? lines.at(-1) ?? '').slice(0, 500);
}
