// Applies plans to an in-memory list of records, the way the adapters apply them to the cluster.
import { Labels } from '../../lib/labels.js';
import type { MarkPlan, RetainPlan, SnapshotRecord, SweepPlan } from '../../lib/retention/index.js';

const id = (r: { namespace: string; name: string }) => `${r.namespace}/${r.name}`;

export function applyRetain(records: readonly SnapshotRecord[], plan: RetainPlan): SnapshotRecord[] {
  const removals = new Map(plan.removals.map((r) => [id(r), r.remove]));
  return records.map((record) => {
    const remove = removals.get(id(record));
    if (!remove) return record;
    const labels = { ...record.labels };
    for (const key of remove) delete labels[key];
    return { ...record, labels };
  });
}

export function applyMark(records: readonly SnapshotRecord[], plan: MarkPlan): SnapshotRecord[] {
  const marks = new Map(plan.marks.map((m) => [id(m), m.deleteAfter]));
  return records.map((record) => {
    const deleteAfter = marks.get(id(record));
    return deleteAfter === undefined
      ? record
      : { ...record, labels: { ...record.labels, [Labels.deleteAfter]: deleteAfter } };
  });
}

export function applySweep(records: readonly SnapshotRecord[], plan: SweepPlan): SnapshotRecord[] {
  const gone = new Set(plan.deletions.map(id));
  return records.filter((record) => !gone.has(id(record)));
}
