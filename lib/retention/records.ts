// Which snapshots the core may decide on, and the per-PVC view every planner starts from.
import { Labels } from '../labels.js';
import { epochMs } from './calendar.js';
import type { Problem, SnapshotRecord, SnapshotRef } from './types.js';

/** A record with its creation time parsed once. */
export interface Snap {
  record: SnapshotRecord;
  ms: number;
}

/** Ours = carries a retention policy. Snapshots someone else made are never touched. */
export function isOurs(record: SnapshotRecord): boolean {
  return Labels.retain in record.labels;
}

export function isPinned(record: SnapshotRecord): boolean {
  return record.labels[Labels.pin] === 'true';
}

/**
 * A good backup of ours: the only kind retention decides on. A snapshot still being created may
 * yet fail, and a failed one is not a backup, so neither is counted nor changed.
 */
export function isGood(snap: Snap): boolean {
  const { record } = snap;
  return isOurs(record) && record.ready && !record.failed && !Number.isNaN(snap.ms);
}

/** Newest first; equal times by name, so every decision is independent of the input order. */
export function newestFirst(a: Snap, b: Snap): number {
  return b.ms - a.ms || compareText(a.record.name, b.record.name);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The good snapshots of each PVC (namespace + PVC), newest first. */
export function goodSnapsByPvc(records: readonly SnapshotRecord[]): Map<string, Snap[]> {
  const groups = new Map<string, Snap[]>();
  for (const record of records) {
    const snap = { record, ms: epochMs(record.createdAt) };
    if (!isGood(snap)) continue;
    const key = pvcKey(record);
    const group = groups.get(key);
    if (group) group.push(snap);
    else groups.set(key, [snap]);
  }
  for (const group of groups.values()) group.sort(newestFirst);
  return groups;
}

export function pvcKey(record: { namespace: string; pvc: string }): string {
  return `${record.namespace}\u0000${record.pvc}`;
}

export function refOf(record: SnapshotRecord): SnapshotRef {
  return { namespace: record.namespace, name: record.name, pvc: record.pvc, createdAt: record.createdAt };
}

/** Our records that are not good only because their timestamp is unreadable: worth a warning. */
export function timestampProblems(records: readonly SnapshotRecord[]): Problem[] {
  return records
    .filter((r) => isOurs(r) && Number.isNaN(epochMs(r.createdAt)))
    .map((r) => ({
      namespace: r.namespace,
      name: r.name,
      reason: `unreadable creation time "${r.createdAt}"`,
    }));
}

/** Canonical output order: namespace, PVC, creation time, name. */
export function byPlanOrder<T extends SnapshotRef>(items: T[]): T[] {
  const decorated = items.map((item) => ({ item, ms: epochMs(item.createdAt) }));
  decorated.sort(
    (a, b) =>
      compareText(a.item.namespace, b.item.namespace) ||
      compareText(a.item.pvc, b.item.pvc) ||
      a.ms - b.ms ||
      compareText(a.item.name, b.item.name),
  );
  return decorated.map((d) => d.item);
}

export function byProblemOrder(problems: Problem[]): Problem[] {
  return problems.sort(
    (a, b) =>
      compareText(a.namespace, b.namespace) || compareText(a.name, b.name) || compareText(a.reason, b.reason),
  );
}
