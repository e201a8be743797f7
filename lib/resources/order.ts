import {
  DEFAULT_WORKLOADS_LAST,
  isWorkload,
  parseResourcePattern,
  type WorkloadMatcher,
} from './preferences.js';
import { kindKeyOf, type PathedObject } from './types.js';

/**
 * The order a restore creates objects in, as a list of steps. Objects within one step do not depend
 * on each other and can be created in parallel; a step starts when the one before it is done.
 *
 * 1. CustomResourceDefinitions (the restore waits until they are established)
 * 2. Namespaces, StorageClasses, VolumeSnapshotClasses, VolumeSnapshotContents, VolumeSnapshots,
 *    PersistentVolumes, PersistentVolumeClaims
 * 3. ServiceAccounts, ClusterRoles, Roles, ClusterRoleBindings, RoleBindings (RBAC before anything runs)
 * 4. Secrets, ConfigMaps, LimitRanges, ResourceQuotas, PriorityClasses, Services
 * 5. everything else, one step, sorted by group, kind, namespace and name
 * 6. workloads (`workloadsLast`: Deployments, StatefulSets, DaemonSets, ReplicaSets, CronJobs, Jobs, Pods)
 * 7. admission webhook configurations and APIServices, after everything: a webhook whose backend is not
 *    running yet would reject the rest of the restore.
 *
 * Empty steps are left out.
 */
export interface RestoreStep<T extends PathedObject = PathedObject> {
  /** `CustomResourceDefinition.apiextensions.k8s.io`, `other`, `workloads`, ... */
  name: string;
  items: T[];
}

/** Types with a step of their own, in order (`Kind` for the core group, `Kind.group` otherwise). */
export const ORDERED_KINDS = [
  'CustomResourceDefinition.apiextensions.k8s.io',
  'Namespace',
  'StorageClass.storage.k8s.io',
  'VolumeSnapshotClass.snapshot.storage.k8s.io',
  'VolumeSnapshotContent.snapshot.storage.k8s.io',
  'VolumeSnapshot.snapshot.storage.k8s.io',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ServiceAccount',
  'ClusterRole.rbac.authorization.k8s.io',
  'Role.rbac.authorization.k8s.io',
  'ClusterRoleBinding.rbac.authorization.k8s.io',
  'RoleBinding.rbac.authorization.k8s.io',
  'Secret',
  'ConfigMap',
  'LimitRange',
  'ResourceQuota',
  'PriorityClass.scheduling.k8s.io',
  'Service',
];

/** Restored after the workloads. */
export const FINAL_KINDS = [
  'MutatingWebhookConfiguration.admissionregistration.k8s.io',
  'ValidatingWebhookConfiguration.admissionregistration.k8s.io',
  'ValidatingAdmissionPolicy.admissionregistration.k8s.io',
  'ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io',
  'APIService.apiregistration.k8s.io',
];

const DEFAULT_WORKLOADS: WorkloadMatcher = {
  resources: DEFAULT_WORKLOADS_LAST.map((text) => parseResourcePattern(text, 'workloadsLast')),
  apiPaths: [],
};

function groupOf(key: string): string {
  const dot = key.indexOf('.');
  return dot < 0 ? '' : key.slice(dot + 1);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sort key within a step: group, kind, namespace, name (all deterministic). */
function sortKey(item: PathedObject): string {
  const key = kindKeyOf(item.object);
  const meta = item.object.metadata;
  return `${groupOf(key)}\u0000${item.object.kind}\u0000${meta.namespace ?? ''}\u0000${meta.name ?? ''}`;
}

export function restoreSteps<T extends PathedObject>(
  items: Iterable<T>,
  options: { workloadsLast?: WorkloadMatcher } = {},
): RestoreStep<T>[] {
  const workloads = options.workloadsLast ?? DEFAULT_WORKLOADS;
  const ordered = new Map<string, T[]>(ORDERED_KINDS.map((kind) => [kind, []]));
  const final = new Map<string, T[]>(FINAL_KINDS.map((kind) => [kind, []]));
  const other: T[] = [];
  const workloadItems: T[] = [];
  for (const item of items) {
    const key = kindKeyOf(item.object);
    // What the user lists in workloadsLast goes last even if it has a step of its own.
    if (final.has(key)) final.get(key)!.push(item);
    else if (isWorkload(item.object, item.path, workloads)) workloadItems.push(item);
    else if (ordered.has(key)) ordered.get(key)!.push(item);
    else other.push(item);
  }
  const sorted = (list: T[]) =>
    list
      .map((item) => ({ item, key: sortKey(item) }))
      .sort((a, b) => compareText(a.key, b.key))
      .map(({ item }) => item);
  const steps: RestoreStep<T>[] = [];
  for (const [name, list] of ordered) if (list.length) steps.push({ name, items: sorted(list) });
  if (other.length) steps.push({ name: 'other', items: sorted(other) });
  if (workloadItems.length) steps.push({ name: 'workloads', items: sorted(workloadItems) });
  const finalItems = [...final.values()].flat();
  if (finalItems.length) steps.push({ name: 'admission', items: sorted(finalItems) });
  return steps;
}
