// The one line a mover prints for the run that started it: its command's summary line (JSON, on stderr, in the
// pod's log) carrying a `volume` field. Pure.

import type { BackupSummary } from './restic-output.js';

export const MOVER_RESULT_FIELD = 'volume';

export interface MoverResult {
  ok: boolean;
  operation: 'backup' | 'restore';
  /** backup: what restic reported. */
  backup?: BackupSummary;
  /** restore: the snapshot restored. */
  snapshotId?: string;
  error?: string;
}

/** The last summary line with a `volume` field; undefined when the log has none. */
export function parseMoverResult(log: string): MoverResult | undefined {
  let found: MoverResult | undefined;
  for (const line of log.split('\n')) {
    const start = line.indexOf('{');
    if (start < 0) continue;
    let parsed: any;
    try {
      parsed = JSON.parse(line.slice(start));
    } catch {
      continue;
    }
    const v = parsed?.[MOVER_RESULT_FIELD];
    if (parsed?.summary === true && v && typeof v === 'object' && typeof v.operation === 'string') {
      found = { ...v, ok: parsed.outcome === 'success' && v.ok !== false };
      if (!found!.ok && !found!.error && typeof parsed.error === 'string') found!.error = parsed.error;
    }
  }
  return found;
}
