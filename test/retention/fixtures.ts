// Hand-written records for the example tests.
import { Labels } from '../../lib/labels.js';
import type { SnapshotRecord } from '../../lib/retention/index.js';

export function snapshot(
  name: string,
  createdAt: string,
  labels: Record<string, string> = {},
  more: Partial<SnapshotRecord> = {},
): SnapshotRecord {
  const pvc = more.pvc ?? 'data';
  return {
    namespace: 'shop',
    name,
    pvc,
    createdAt,
    ready: true,
    failed: false,
    labels: { [Labels.pvc]: pvc, [Labels.retain]: 'gfs', ...labels },
    ...more,
  };
}

export const names = (items: readonly { name: string }[]) => items.map((i) => i.name);
