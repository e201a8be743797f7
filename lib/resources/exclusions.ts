import { Labels } from '../labels.js';
import { isJsonMap, parseApiVersion, type KubeObject } from './types.js';

/**
 * Objects the cluster regenerates by itself, which a backup leaves out: restoring them would at best
 * duplicate what a controller creates and at worst fight it (a ReplicaSet's pods, a Service's endpoints).
 */

/** Labels nsbackup puts on the Jobs and Pods it runs, so that a backup never contains its own runs. */
export const NSBACKUP_WORKLOAD_LABELS = {
  'app.kubernetes.io/managed-by': 'nsbackup',
  'app.kubernetes.io/name': 'nsbackup',
} as const;

/** What the exclusion rules need to know about the rest of the namespace. */
export interface ExclusionContext {
  /** `namespace/name` of every Service that has a selector (its endpoints are the controller's). */
  servicesWithSelector: Set<string>;
  /** `namespace/name` of every service-account token Secret (left out, so ServiceAccounts must not name them). */
  tokenSecrets?: Set<string>;
}

const isTokenSecret = (obj: KubeObject) =>
  obj.kind === 'Secret' && obj.apiVersion === 'v1' && obj.type === 'kubernetes.io/service-account-token';

/** Builds the context from the objects listed for the backup (only Services and Secrets matter). */
export function exclusionContextOf(objects: Iterable<KubeObject>): ExclusionContext {
  const servicesWithSelector = new Set<string>();
  const tokenSecrets = new Set<string>();
  for (const obj of objects) {
    if (isTokenSecret(obj)) tokenSecrets.add(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    if (obj.kind !== 'Service' || obj.apiVersion !== 'v1') continue;
    const spec = isJsonMap(obj.spec) ? obj.spec : {};
    if (isJsonMap(spec.selector) && Object.keys(spec.selector).length > 0) {
      servicesWithSelector.add(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    }
  }
  return { servicesWithSelector, tokenSecrets };
}

/**
 * A ServiceAccount without the `secrets` entries that name token Secrets the backup leaves out: restored, they
 * would point at Secrets that do not exist (the token controller of the new cluster makes its own, if any).
 * Other entries (Secrets a user listed) are kept. Returns the input when nothing changes.
 */
export function withoutTokenSecretRefs(obj: KubeObject, context: ExclusionContext): KubeObject {
  if (obj.kind !== 'ServiceAccount' || obj.apiVersion !== 'v1' || !Array.isArray(obj.secrets)) return obj;
  const tokens = context.tokenSecrets ?? new Set<string>();
  const namespace = obj.metadata.namespace ?? '';
  const kept = obj.secrets.filter(
    (ref) => !(isJsonMap(ref) && typeof ref.name === 'string' && tokens.has(`${namespace}/${ref.name}`)),
  );
  if (kept.length === obj.secrets.length) return obj;
  const { secrets: _secrets, ...rest } = obj;
  return kept.length ? { ...rest, secrets: kept } : (rest as KubeObject);
}

const RUNTIME_ONLY_KINDS: Record<string, string> = {
  'Node|': 'nodes belong to the cluster, not to a backup',
  'VolumeAttachment|storage.k8s.io': 'volume attachments are runtime state of the CSI driver',
  'CSINode|storage.k8s.io': 'CSI nodes are registered by the driver',
  'Lease|coordination.k8s.io': 'leases are runtime state (leader election, node heartbeats)',
  'CSIStorageCapacity|storage.k8s.io': "storage capacities are published by the CSI driver's provisioner",
  'PodCertificateRequest|certificates.k8s.io':
    "pod certificate requests are made by the kubelet for a pod's certificate volume",
};

const ENDPOINTSLICE_CONTROLLERS = new Set([
  'endpointslice-controller.k8s.io',
  'endpointslicemirroring-controller.k8s.io',
]);

/**
 * Why the cluster regenerates this object and a backup must leave it out, or `null` to export it.
 * Call it on the object as listed (with `status`): completed pods and jobs are recognised by their status.
 *
 * - events (`v1` and `events.k8s.io`), leases, nodes, volume attachments, CSI nodes, CSI storage capacities,
 *   pod certificate requests;
 * - objects with a controller ownerReference (a ReplicaSet's pods, a Deployment's ReplicaSets,
 *   a CronJob's Jobs, a Service's EndpointSlices);
 * - Endpoints of a Service with a selector (same name); EndpointSlices managed by the endpoint-slice
 *   controllers. Endpoints and slices of a selector-less Service are written by hand and are kept;
 * - service-account token Secrets (the token controller fills them, and a token of the old cluster is
 *   worthless in a new one);
 * - the `kube-root-ca.crt` ConfigMap (published into every namespace);
 * - the `default` ServiceAccount when nobody changed it (created in every namespace); one with
 *   imagePullSecrets, labels, annotations or automount settings is kept, as those are a user's;
 * - nsbackup's own Jobs and Pods ({@link NSBACKUP_WORKLOAD_LABELS}), and its volume movers' claims;
 * - pods that finished (`Succeeded`, `Failed`) and Jobs that completed or failed: restoring a Job
 *   runs it again;
 * - anything being deleted (`metadata.deletionTimestamp` set): it is going away, and restored it would come
 *   back to life.
 */
export function regeneratedReason(obj: KubeObject, context: ExclusionContext): string | null {
  const { group } = parseApiVersion(obj.apiVersion);
  const meta = obj.metadata;
  const name = meta.name ?? '';

  if (meta.deletionTimestamp) return 'being deleted (deletionTimestamp set)';
  if (obj.kind === 'Event' && (group === '' || group === 'events.k8s.io')) return 'events are not restored';
  const runtimeOnly = RUNTIME_ONLY_KINDS[`${obj.kind}|${group}`];
  if (runtimeOnly) return runtimeOnly;

  const controller = (meta.ownerReferences ?? []).find((ref) => ref.controller === true);
  if (controller) return `created by its controller ${controller.kind}/${controller.name}`;

  if (group === '') {
    if (obj.kind === 'Endpoints' && context.servicesWithSelector.has(`${meta.namespace ?? ''}/${name}`)) {
      return `endpoints of Service ${name}, maintained by the endpoints controller`;
    }
    if (isTokenSecret(obj)) {
      return 'service-account token, filled in by the token controller';
    }
    if (obj.kind === 'ConfigMap' && name === 'kube-root-ca.crt') {
      return 'the cluster CA bundle, published into every namespace';
    }
    if (obj.kind === 'ServiceAccount' && name === 'default' && isUntouchedDefaultServiceAccount(obj)) {
      return 'the default ServiceAccount, created in every namespace';
    }
    if (obj.kind === 'Pod' && isNsbackupRun(obj)) return "nsbackup's own pod";
    // A mover's claim (a clone of a snapshot, or a restore's) that a killed run left: the backup's, not the app's.
    if (obj.kind === 'PersistentVolumeClaim' && isNsbackupRun(obj) && meta.labels?.['nsbackup.io/mover'])
      return "nsbackup's own volume mover claim";
    if (obj.kind === 'Pod' && isJsonMap(obj.status)) {
      const phase = obj.status.phase;
      if (phase === 'Succeeded' || phase === 'Failed') return `completed pod (${phase})`;
    }
  }
  if (group === 'discovery.k8s.io' && obj.kind === 'EndpointSlice') {
    const managedBy = meta.labels?.['endpointslice.kubernetes.io/managed-by'];
    if (managedBy && ENDPOINTSLICE_CONTROLLERS.has(managedBy))
      return `endpoint slice maintained by ${managedBy}`;
  }
  if (group === 'snapshot.storage.k8s.io' && obj.kind === 'VolumeSnapshot' && meta.labels?.[Labels.backup]) {
    // Retention relabels and deletes these every day; they are the backup, not part of what it backs up.
    return "nsbackup's own snapshot (restore its data with restore-pvc or NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS)";
  }
  if (group === 'batch' && obj.kind === 'Job') {
    if (isNsbackupRun(obj)) return "nsbackup's own job";
    const finished = finishedJobCondition(obj);
    if (finished) return `completed job (${finished}); restoring it would run it again`;
  }
  return null;
}

function isNsbackupRun(obj: KubeObject): boolean {
  const labels = obj.metadata.labels ?? {};
  return Object.entries(NSBACKUP_WORKLOAD_LABELS).some(([key, value]) => labels[key] === value);
}

function finishedJobCondition(obj: KubeObject): string | null {
  const conditions =
    isJsonMap(obj.status) && Array.isArray(obj.status.conditions) ? obj.status.conditions : [];
  for (const condition of conditions) {
    if (!isJsonMap(condition) || condition.status !== 'True') continue;
    if (condition.type === 'Complete' || condition.type === 'Failed') return condition.type;
  }
  return null;
}

const SERVICE_ACCOUNT_USER_FIELDS = ['imagePullSecrets', 'automountServiceAccountToken'];

function isUntouchedDefaultServiceAccount(obj: KubeObject): boolean {
  if (SERVICE_ACCOUNT_USER_FIELDS.some((field) => obj[field] !== undefined)) return false;
  if (Object.keys(obj.metadata.labels ?? {}).length > 0) return false;
  return Object.keys(obj.metadata.annotations ?? {}).length === 0;
}
