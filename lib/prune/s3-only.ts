// Retention of S3-only backups: runs that made no VolumeSnapshot (NSBACKUP_PVC empty: a stateless app, a dump
// straight to S3, volumes copied with NSBACKUP_PVC_DATA_DIRECT), so no snapshot's deletion ever takes their folder.
// Only the backup's own record decides that a folder is S3-only: an outcome.json that lists `snapshots: []`. A
// folder whose outcome lists snapshots goes with its last one (sweep.ts); one without an outcome (a run in progress
// or killed), with an outcome this version cannot read, of a version before the field, or not named like nsbackup
// names backups, is left alone and counted. The decisions are lib/retention's planFolderRetention, from the backups'
// times, their recorded policy and the pruner's keep counts.
import type { Logger } from '../log.js';
import { createdAtOfId } from '../naming.js';
import { backupFolderKey } from '../resources/index.js';
import type { BackupOutcome } from '../resources/outcome.js';
import { listBackupCandidates, type BackupCandidate } from '../export/latest.js';
import {
  isLocalDate,
  parseDeltas,
  planFolderRetention,
  type FolderBackup,
  type FolderDeletion,
  type GfsKeep,
  type Problem,
  type Refusal,
} from '../retention/index.js';
import type { S3Store } from '../s3/index.js';

/** Stands in for the PVC in refusals and problems: a namespace's S3-only backups are one history. */
export const S3_ONLY_GROUP = 's3-only backups';

/** How one folder's record is read. */
export type FolderVerdict =
  | { kind: 's3-only'; backup: FolderBackup; outcome: BackupOutcome }
  /** Its outcome lists VolumeSnapshots: the snapshot path decides (its folder goes with the last one). */
  | { kind: 'with-snapshots' }
  /** No usable record: never deleted here. */
  | { kind: 'left-alone'; reason: string };

/** Pure: what a folder's listing and outcome say about it. */
export function folderVerdict(candidate: BackupCandidate): FolderVerdict {
  const { backupId, outcome } = candidate;
  const leave = (reason: string): FolderVerdict => ({ kind: 'left-alone', reason });
  const createdAt = createdAtOfId(backupId);
  if (createdAt === undefined) return leave('not a backup id nsbackup makes');
  if (!outcome)
    return leave(
      candidate.outcomeProblem
        ? `outcome unreadable (${candidate.outcomeProblem})`
        : 'no outcome.json (a run in progress or killed)',
    );
  if (outcome.backupId !== backupId) return leave(`its outcome is of backup ${String(outcome.backupId)}`);
  const snapshots: unknown = outcome.snapshots;
  if (snapshots === undefined)
    return leave('outcome of an nsbackup version that did not record its snapshots');
  if (!Array.isArray(snapshots) || snapshots.some((s) => typeof s !== 'string'))
    return leave('outcome.snapshots is not a list of names');
  if (snapshots.length > 0) return { kind: 'with-snapshots' };
  const retain = retainOf(outcome.retain);
  if (!retain)
    return leave(`outcome.retain ${JSON.stringify(outcome.retain)} is not a policy this version knows`);
  if (outcome.keepUntil !== undefined && !isLocalDate(outcome.keepUntil))
    return leave(`outcome.keepUntil "${String(outcome.keepUntil)}" is not a YYYY-MM-DD date`);
  return {
    kind: 's3-only',
    outcome,
    backup: {
      id: backupId,
      createdAt,
      failed: outcome.outcome !== 'succeeded',
      retain,
      ...(outcome.keepUntil !== undefined ? { keepUntil: outcome.keepUntil } : {}),
    },
  };
}

/** The recorded policy, checked as backup's settings check it; undefined when unusable (never guessed). */
function retainOf(value: unknown): FolderBackup['retain'] | undefined {
  const r = value as { policy?: unknown; days?: unknown; deltas?: unknown } | undefined;
  if (r?.policy === 'gfs') return { policy: 'gfs' };
  if (r?.policy === 'days' && Number.isInteger(r.days) && (r.days as number) >= 1)
    return { policy: 'days', days: r.days as number };
  if (r?.policy === 'deltas' && typeof r.deltas === 'string') {
    try {
      parseDeltas(r.deltas);
      return { policy: 'deltas', deltas: r.deltas };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export interface S3OnlyPlanOptions {
  keep: GfsKeep;
  now: Date;
  timeZone: string;
  graceDays: number;
  maxDeleteShare: number;
  maxDeleteCount: number;
  force: boolean;
}

export interface S3OnlyDeletion extends FolderDeletion {
  namespace: string;
  /** The folder's key, ending in `/`. */
  key: string;
  /** Its restic copies, by PVC (forgotten before the folder goes). */
  volumePvcs: string[];
}

export interface S3OnlyPlan {
  deletions: S3OnlyDeletion[];
  /** S3-only backups the policy keeps. */
  kept: number;
  /** S3-only backups the policy drops that a refusal of the safety valve holds back. */
  heldBack: number;
  leftAlone: { namespace: string; backupId: string; reason: string }[];
  withSnapshots: number;
  refusals: Refusal[];
  refused: boolean;
  problems: Problem[];
}

/** Pure: one plan per namespace, joined; the valve of any namespace refuses the whole set (as for snapshots). */
export function planS3Only(
  folders: ReadonlyMap<string, readonly BackupCandidate[]>,
  keyOf: (namespace: string, backupId: string) => string,
  options: S3OnlyPlanOptions,
): S3OnlyPlan {
  const plan: S3OnlyPlan = {
    deletions: [],
    kept: 0,
    heldBack: 0,
    leftAlone: [],
    withSnapshots: 0,
    refusals: [],
    refused: false,
    problems: [],
  };
  for (const [namespace, candidates] of [...folders].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const s3Only = new Map<string, BackupOutcome>();
    const backups: FolderBackup[] = [];
    for (const candidate of candidates) {
      const verdict = folderVerdict(candidate);
      if (verdict.kind === 'with-snapshots') plan.withSnapshots++;
      else if (verdict.kind === 'left-alone')
        plan.leftAlone.push({ namespace, backupId: candidate.backupId, reason: verdict.reason });
      else {
        backups.push(verdict.backup);
        s3Only.set(verdict.backup.id, verdict.outcome);
      }
    }
    if (!backups.length) continue;
    const one = planFolderRetention(backups, {
      ...options,
      failedGraceDays: options.graceDays,
      force: options.force,
      namespace,
      group: S3_ONLY_GROUP,
    });
    plan.refusals.push(...one.refusals);
    plan.problems.push(...one.problems);
    plan.refused ||= one.refused;
    // A refused plan has no deletions: what it would delete is in its refusals.
    const heldBack = one.refused ? one.refusals.reduce((n, r) => n + r.wouldDelete, 0) : 0;
    plan.heldBack += heldBack;
    plan.kept += backups.length - one.deletions.length - heldBack;
    for (const d of one.deletions)
      plan.deletions.push({
        ...d,
        namespace,
        key: keyOf(namespace, d.id),
        volumePvcs: [...new Set((s3Only.get(d.id)!.volumes ?? []).map((v) => v.pvc))].sort(),
      });
  }
  if (plan.refused) {
    plan.heldBack += plan.deletions.length;
    plan.deletions = [];
  }
  return plan;
}

/**
 * The namespaces with backup folders under `<prefix>/<cluster>/`. The store's listings take no delimiter (see
 * lib/s3/store.ts), so the top level is walked one key at a time: the first key of each name, then past all of that
 * name's keys (`<name>0` sorts right after every `<name>/...`), so a restic repository's thousands of packs cost one
 * request. Restic repositories (`<namespace>.restic/`), etcd's `_etcd/` and keys of their own are no namespace.
 */
export async function namespacesInStore(store: S3Store, cluster: string): Promise<string[]> {
  const parent = backupFolderKey(store.location.prefix, cluster, '_', '_').slice(0, -4);
  const found = new Set<string>();
  let after: string | undefined;
  for (let key = await store.firstKeyAfter(parent); key; key = await store.firstKeyAfter(parent, after)) {
    const [name, ...rest] = key.slice(parent.length).split('/');
    if (rest.length >= 2 && isNamespaceName(name)) found.add(name);
    // A key of its own (no folder), or one directly in the folder (`<name>/.nsbackup-write-check`): the folder may
    // still hold backups further on, so step to the next key instead of leaving the folder.
    after = rest.length >= 2 || !isNamespaceName(name) ? parent + name + '0' : key;
  }
  return [...found].sort();
}

/** A Kubernetes namespace name (RFC 1123 label): `_etcd` and hand-made folders are no namespace's. */
function isNamespaceName(name: string): boolean {
  return name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name);
}

/** Lists and reads the folders of each namespace (outcomes a few at a time), then plans. */
export async function readAndPlanS3Only(
  store: S3Store,
  cluster: string,
  namespace: string | undefined,
  options: S3OnlyPlanOptions,
  log: Logger,
): Promise<S3OnlyPlan> {
  const namespaces = namespace ? [namespace] : await namespacesInStore(store, cluster);
  const folders = new Map<string, BackupCandidate[]>();
  for (const ns of namespaces)
    folders.set(ns, await listBackupCandidates(store, cluster, ns, { everyFolder: true }));
  const plan = planS3Only(
    folders,
    (ns, id) => backupFolderKey(store.location.prefix, cluster, ns, id),
    options,
  );
  // One line per reason: folders of an older version stay for good, a line each every night would drown the log.
  const byReason = new Map<string, string[]>();
  for (const left of plan.leftAlone) {
    const key = `${left.namespace}\0${left.reason}`;
    byReason.set(key, [...(byReason.get(key) ?? []), left.backupId]);
  }
  for (const [key, ids] of byReason) {
    const [ns, reason] = key.split('\0');
    log.info('S3 folders left alone by S3-only retention', {
      namespace: ns,
      reason,
      folders: ids.length,
      backupIds: ids.slice(0, 5),
    });
  }
  return plan;
}
