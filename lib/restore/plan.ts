// What a restore will do, decided without touching a cluster. D's planRestore (lib/resources/plan.ts) makes the
// decisions (exclusions, mapping, transforms, order, skip/update); this adds what the restore command needs
// around them: the collection each object is POSTed to, PVCs pointed at their snapshots (and claims whose snapshot
// source will not exist left empty instead of Pending forever), objects the restore adds itself (a target namespace
// that is missing, a snapshot recreated in another namespace), and report entries that name the excluded objects.

import {
  apiPathOf,
  kindKeyOf,
  parseApiPath,
  parseApiVersion,
  planRestore as planDecisions,
  prepareForRestore,
  restoreSteps,
  snapshotSourceOf,
  withSnapshotSource,
  withoutDataSource,
  type KubeObject,
  type PathedObject,
  type PlannedObject as DecidedObject,
  type RestorePreferences,
  type RestoreStep,
} from '../resources/index.js';
import type { ReportEntry } from './report.js';

/** One object the restore writes. `path` is its API path in the backup, which preferences match. */
export interface PlannedObject extends DecidedObject {
  /** The collection it is POSTed to. */
  collectionPath: string;
  /** Added by the restore (a missing namespace, a snapshot recreated from its content), not in the backup. */
  added?: string;
}

export interface RestorePlan {
  steps: RestoreStep<PlannedObject>[];
  excluded: ReportEntry[];
  /** Objects in the plan. */
  count: number;
  /** What a user should know about the plan (a claim that comes up empty). */
  warnings: string[];
}

/** A VolumeSnapshot a restored PVC starts from (see snapshots.ts). */
export interface PvcSnapshotSource {
  /** The VolumeSnapshot's name in the PVC's target namespace. */
  snapshotName: string;
  restoreSize?: string;
}

export interface PlanOptions {
  backupId: string;
  preferences: RestorePreferences;
  /** Source namespace → target namespace. */
  namespaceMapping: Record<string, string>;
  /** By the PVC's source path: restore it from this snapshot instead of an empty volume. */
  pvcSources?: Map<string, PvcSnapshotSource>;
  /** More objects to create (already in target form), e.g. snapshots recreated in another namespace. */
  extraObjects?: { object: KubeObject; path: string; reason: string }[];
  /** `namespace/name` of the VolumeSnapshots restored claims name that exist in the target already. */
  existingSnapshots?: Set<string>;
}

/** Parses `old=new` pairs; a namespace mapped twice, or two namespaces mapped to one, is an error. */
export function parseNamespaceMapping(pairs: string[]): Record<string, string> {
  const mapping: Record<string, string> = {};
  const targets = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new Error(`namespace mapping "${pair}" is not old=new`);
    const from = pair.slice(0, eq);
    const to = pair.slice(eq + 1);
    if (Object.prototype.hasOwnProperty.call(mapping, from) && mapping[from] !== to) {
      throw new Error(`namespace ${from} is mapped twice (to ${mapping[from]} and ${to})`);
    }
    const other = targets.get(to);
    if (other !== undefined && other !== from) {
      throw new Error(`namespaces ${other} and ${from} are both mapped to ${to}`);
    }
    mapping[from] = to;
    targets.set(to, from);
  }
  return mapping;
}

/** The collection an object at `targetPath` is created in. */
export function collectionPathOf(targetPath: string): string {
  return targetPath.slice(0, targetPath.lastIndexOf('/'));
}

/** The API path of an object the restore adds (already in target form), from a path of the same resource. */
function pathOfAdded(samplePath: string, obj: KubeObject): string {
  const parts = parseApiPath(samplePath);
  const { group, version } = parseApiVersion(obj.apiVersion);
  const info = {
    group,
    version,
    resource: parts.resource,
    kind: obj.kind,
    namespaced: parts.namespace !== undefined,
    verbs: [],
  };
  return apiPathOf(info, info.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name);
}

/**
 * Objects a restore must not create as they are: a VolumeSnapshot whose source is a PVC would take a NEW snapshot
 * of whatever claim has that name in the target (an empty one, after a restore), not bring the old data back.
 */
export function notRestorableReason(obj: KubeObject): string | null {
  if (obj.kind !== 'VolumeSnapshot' || !obj.apiVersion.startsWith('snapshot.storage.k8s.io/')) return null;
  const spec = obj.spec as { source?: { persistentVolumeClaimName?: string } } | undefined;
  if (!spec?.source?.persistentVolumeClaimName) return null;
  return (
    'a VolumeSnapshot of a PVC would snapshot the restored claim anew; restore its data with ' +
    'NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS or nsbackup restore-pvc'
  );
}

/** How the report names an object: its target path, and its path in the backup when that differs. */
export function describeEntry(targetPath: string, obj: KubeObject, sourcePath?: string): ReportEntry {
  return {
    path: targetPath,
    ...(sourcePath && sourcePath !== targetPath ? { sourcePath } : {}),
    kind: kindKeyOf(obj),
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name ?? '',
  };
}

/**
 * Builds the plan. Objects the cluster regenerates and objects the preferences leave out are reported as excluded
 * with the reason (`rule` says which); every target namespace the backup does not carry as a Namespace object is
 * added, so that it is created when missing.
 */
export function planRestore(allItems: PathedObject[], options: PlanOptions): RestorePlan {
  const excluded: ReportEntry[] = [];
  const items: PathedObject[] = [];
  for (const item of allItems) {
    const reason = notRestorableReason(item.object);
    if (reason) excluded.push({ ...describeEntry(item.path, item.object), reason, rule: 'regenerated' });
    else items.push(item);
  }
  const decided = planDecisions(items, options.preferences, {
    backupId: options.backupId,
    namespaceMapping: options.namespaceMapping,
  });
  const byPath = new Map(items.map((item) => [item.path, item.object]));
  for (const { path, reason } of decided.excluded) {
    // The preferences' reasons all name a preference; the rest are D's regeneration rules.
    const rule = /include|exclude|labels do not match|rebindStorageClasses/.test(reason)
      ? 'preferences'
      : 'regenerated';
    excluded.push({ ...describeEntry(path, byPath.get(path)!), reason, rule });
  }

  const planned: PlannedObject[] = [];
  const fromBackupSnapshots = new Set<string>();
  for (const step of decided.steps) {
    for (const item of step.items) {
      let object = item.object;
      const source = options.pvcSources?.get(item.path);
      if (source && object.kind === 'PersistentVolumeClaim') {
        object = withSnapshotSource(object, source.snapshotName, { restoreSize: source.restoreSize });
        fromBackupSnapshots.add(item.path);
      }
      planned.push({ ...item, object, collectionPath: collectionPathOf(item.targetPath) });
    }
  }
  const add = (object: KubeObject, targetPath: string, reason: string) => {
    const prepared = prepareForRestore(object, { backupId: options.backupId });
    planned.push({
      path: targetPath,
      targetPath,
      collectionPath: collectionPathOf(targetPath),
      object: prepared,
      ifExists: 'skip',
      added: reason,
    });
  };
  for (const extra of options.extraObjects ?? [])
    add(extra.object, pathOfAdded(extra.path, extra.object), extra.reason);
  const namespaces = new Set(
    planned.filter((p) => p.object.kind === 'Namespace').map((p) => p.object.metadata.name),
  );
  const needed = new Set(planned.map((p) => p.object.metadata.namespace).filter((ns): ns is string => !!ns));
  for (const name of [...needed].sort()) {
    if (namespaces.has(name)) continue;
    add(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
      `/api/v1/namespaces/${encodeURIComponent(name)}`,
      'target namespace',
    );
  }
  const warnings = dropMissingSnapshotSources(
    planned.filter((p) => !fromBackupSnapshots.has(p.path)),
    planned,
    options.existingSnapshots ?? new Set(),
  );
  const steps = restoreSteps(planned, { workloadsLast: options.preferences.workloadsLast });
  return { steps, excluded, count: planned.length, warnings };
}

/**
 * A claim whose dataSource names a VolumeSnapshot that will not exist in its namespace (nsbackup's own snapshots
 * are not in a backup, and retention deletes them) would stay Pending forever: it loses the dataSource and comes up
 * empty, with a warning. A snapshot counts when the plan creates it or it exists already (`existing`). Claims the
 * plan points at the backup's snapshots (`NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS`) are not among `claims`.
 */
function dropMissingSnapshotSources(
  claims: PlannedObject[],
  planned: PlannedObject[],
  existing: Set<string>,
): string[] {
  const created = new Set(
    planned
      .filter(
        (p) =>
          p.object.kind === 'VolumeSnapshot' && p.object.apiVersion.startsWith('snapshot.storage.k8s.io/'),
      )
      .map((p) => `${p.object.metadata.namespace}/${p.object.metadata.name}`),
  );
  const warnings: string[] = [];
  for (const item of claims) {
    const snapshot = snapshotSourceOf(item.object);
    const namespace = item.object.metadata.namespace;
    if (!snapshot || created.has(`${namespace}/${snapshot}`) || existing.has(`${namespace}/${snapshot}`))
      continue;
    item.object = withoutDataSource(item.object);
    warnings.push(
      `PVC ${namespace}/${item.object.metadata.name}: its data source, VolumeSnapshot ${snapshot}, is neither in the ` +
        `backup nor in namespace ${namespace}; restored without it, with an EMPTY volume (restore its data from ` +
        'another snapshot or dump)',
    );
  }
  return warnings;
}
