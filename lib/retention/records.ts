// Which snapshots the core may decide on, and the per-PVC view every planner starts from.
import { Labels } from '../labels.js';
import { epochMs } from './calendar.js';
import { runCompleted } from './outcome.js';
import type { Problem, Snap, SnapshotRecord, SnapshotRef } from './types.js';

/** A record with its creation time parsed once. */
export type { Snap } from './types.js';

/** Ours = carries a retention policy. Snapshots someone else made are never touched. */
export function isOurs(record: SnapshotRecord): boolean {
  return Labels.retain in record.labels;
}

export function isPinned(record: SnapshotRecord): boolean {
  return record.labels[Labels.pin] === 'true';
}

/**
 * A good backup of ours: the only kind retention counts and keeps by its labels. A snapshot still being
 * created may yet fail, and one whose run has not succeeded (still running, interrupted, failed) is not a
 * backup, so none of them is counted, holds a period or is the newest one kept.
 */
export function isGood(snap: Snap): boolean {
  const { record } = snap;
  return isOurs(record) && record.ready && !record.failed && runCompleted(record) && !Number.isNaN(snap.ms);
}

/** Newest first; equal times by name, so every decision is independent of the input order. */
export function newestFirst(a: Snap, b: Snap): number {
  return b.ms - a.ms || compareText(a.record.name, b.record.name);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The good snapshots of each PVC (namespace + PVC), newest first, and a problem for each record of
 * ours whose creation time cannot be read (it is then left alone, but the user should know).
 */
export function goodSnapsByPvc(records: readonly SnapshotRecord[]): {
  groups: Map<string, Snap[]>;
  problems: Problem[];
} {
  const groups = new Map<string, Snap[]>();
  const problems: Problem[] = [];
  for (const record of records) {
    const snap = { record, ms: epochMs(record.createdAt) };
    if (isOurs(record) && Number.isNaN(snap.ms)) {
      const reason = `unreadable creation time "${record.createdAt}"`;
      problems.push({ namespace: record.namespace, name: record.name, reason });
    }
    if (!isGood(snap)) continue;
    const key = pvcKey(record);
    const group = groups.get(key);
    if (group) group.push(snap);
    else groups.set(key, [snap]);
  }
  for (const group of groups.values()) group.sort(newestFirst);
  return { groups, problems };
}

export function pvcKey(record: { namespace: string; pvc: string }): string {
  return `${record.namespace}\u0000${record.pvc}`;
}

export function refOf(record: SnapshotRecord): SnapshotRef {
  return { namespace: record.namespace, name: record.name, pvc: record.pvc, createdAt: record.createdAt };
}

/** A planned item with the snapshot it is about, so the plan can be ordered without re-parsing. */
export interface Planned<T> {
  snap: Snap;
  item: T;
}

/** Canonical output order: namespace, PVC, creation time, name. */
export function inPlanOrder<T>(planned: Planned<T>[]): T[] {
  planned.sort(
    (a, b) =>
      compareText(a.snap.record.namespace, b.snap.record.namespace) ||
      compareText(a.snap.record.pvc, b.snap.record.pvc) ||
      a.snap.ms - b.snap.ms ||
      compareText(a.snap.record.name, b.snap.record.name),
  );
  return planned.map((p) => p.item);
}

export function byProblemOrder(problems: Problem[]): Problem[] {
  return problems.sort(
    (a, b) =>
      compareText(a.namespace, b.namespace) || compareText(a.name, b.name) || compareText(a.reason, b.reason),
  );
}
