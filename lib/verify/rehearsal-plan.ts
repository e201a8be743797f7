// `nsbackup verify --level rehearsal`, the decisions (pure): the scratch namespace's name, whether a namespace of that
// name may be used, what the rehearsal changes in the backup's objects so that nothing it restores can act on the
// world, and what counts as a difference afterwards.
import { createHash } from 'node:crypto';
import type { KubeObject, PathedObject } from '../resources/index.js';
import { parseApiPath, parseApiVersion } from '../resources/index.js';
import { LABEL_PREFIX } from '../labels.js';
import type { DiffResult } from '../resources/index.js';

/** On the scratch namespace: the namespace it rehearses. Only a namespace with this label is ever deleted. */
export const REHEARSAL_LABEL = `${LABEL_PREFIX}rehearsal-of`;
/** On the scratch namespace: the backup it rehearses (an annotation: backup ids are not label values). */
export const REHEARSAL_BACKUP_ANNOTATION = `${LABEL_PREFIX}rehearsal-backup`;
/** A node label no node has: DaemonSets and bare Pods of a rehearsal are never scheduled. */
export const NO_NODE_SELECTOR = { [`${LABEL_PREFIX}rehearsal`]: 'never-scheduled' };
/** An IngressClass nobody implements: no controller serves the rehearsal's Ingresses. */
export const NO_INGRESS_CLASS = 'nsbackup-rehearsal-none';

const MAX_NAMESPACE = 63;

/**
 * `<namespace>-rehearsal-<short id>`: the backup id's random tail (`20261121-100000-aaaaaa` → `aaaaaa`), or 6 hex of
 * its hash for ids of another form; the namespace part is shortened so the whole stays a valid name.
 */
export function rehearsalNamespaceName(namespace: string, backupId: string, configured = ''): string {
  if (configured) return configured;
  const tail = backupId.split('-').pop()!.toLowerCase();
  const short = /^[a-z0-9]{1,12}$/.test(tail)
    ? tail
    : createHash('sha256').update(backupId).digest('hex').slice(0, 6);
  const suffix = `-rehearsal-${short}`;
  const head = namespace.slice(0, MAX_NAMESPACE - suffix.length).replace(/-+$/, '');
  return head + suffix;
}

export type NamespaceVerdict =
  | { use: 'create' }
  /** Ours, of the same namespace, left by a rehearsal that was killed: deleted (and awaited) first. */
  | { use: 'replace'; reason: string }
  | { use: 'refuse'; reason: string };

/**
 * Whether the rehearsal may use `name`. Only a namespace that does not exist, or one a rehearsal of the same namespace
 * made (its label says so), is ever used: anything else may hold someone's work, and the rehearsal ends by deleting
 * its namespace. The backed-up namespace itself is refused whatever its labels.
 */
export function namespaceVerdict(
  name: string,
  existing: KubeObject | undefined,
  sourceNamespace: string,
): NamespaceVerdict {
  if (name === sourceNamespace)
    return {
      use: 'refuse',
      reason: `the rehearsal namespace ${name} is the backed-up namespace itself: a rehearsal never restores over it`,
    };
  if (!existing) return { use: 'create' };
  const of = existing.metadata.labels?.[REHEARSAL_LABEL];
  if (of === undefined)
    return {
      use: 'refuse',
      reason:
        `namespace ${name} exists and nsbackup did not create it (no ${REHEARSAL_LABEL} label): it is left ` +
        'untouched; choose another with NSBACKUP_VERIFY_REHEARSAL_NAMESPACE',
    };
  if (of !== sourceNamespace)
    return {
      use: 'refuse',
      reason: `namespace ${name} is the rehearsal of namespace ${of}, not of ${sourceNamespace}: left untouched`,
    };
  return {
    use: 'replace',
    reason: `namespace ${name} was left by an earlier rehearsal of ${sourceNamespace} that did not finish: deleted first`,
  };
}

/** The scratch Namespace: the backup's labels and annotations (Pod Security levels, for one), and ours. */
export function rehearsalNamespaceObject(
  name: string,
  sourceNamespace: string,
  backupId: string,
  fromBackup?: KubeObject,
): KubeObject {
  const labels = { ...(fromBackup?.metadata.labels ?? {}) };
  delete labels['kubernetes.io/metadata.name'];
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: { ...labels, [REHEARSAL_LABEL]: sourceNamespace },
      annotations: { ...(fromBackup?.metadata.annotations ?? {}), [REHEARSAL_BACKUP_ANNOTATION]: backupId },
    },
  };
}

const isRoute = (group: string, kind: string) => group === 'gateway.networking.k8s.io' && /Route$/.test(kind);

/**
 * An object as the rehearsal restores it: nothing restored may run, be reachable or receive traffic, because a
 * restored application would talk to the same databases, queues and APIs as production (a second consumer, a cron
 * that sends the mails again). Workloads are restored at zero replicas, CronJobs and Jobs suspended, DaemonSets
 * and bare Pods pinned to a node label no node has; LoadBalancer Services become ClusterIP (no cloud load balancer,
 * no claim on production's reserved address); Ingresses get an IngressClass nobody implements, Gateway API routes
 * attach to no Gateway (same host names as production, and no backends). The same change is made to the backup's
 * side before the comparison, so it is never a difference. Everything else is restored as it is.
 */
export function rehearsalForm(obj: KubeObject): KubeObject {
  const { group } = parseApiVersion(obj.apiVersion);
  const kind = obj.kind;
  const out = structuredClone(obj) as KubeObject & { spec?: any };
  const spec = out.spec;
  if (!spec || typeof spec !== 'object') return out;
  if (group === 'apps' && ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(kind)) spec.replicas = 0;
  else if (group === '' && kind === 'ReplicationController') spec.replicas = 0;
  else if (group === 'batch' && (kind === 'CronJob' || kind === 'Job')) spec.suspend = true;
  else if (group === 'apps' && kind === 'DaemonSet' && spec.template?.spec)
    spec.template.spec.nodeSelector = { ...(spec.template.spec.nodeSelector ?? {}), ...NO_NODE_SELECTOR };
  else if (group === '' && kind === 'Pod') {
    spec.nodeSelector = { ...(spec.nodeSelector ?? {}), ...NO_NODE_SELECTOR };
    delete spec.nodeName;
  } else if (group === '' && kind === 'Service' && spec.type === 'LoadBalancer') {
    spec.type = 'ClusterIP';
    for (const field of [
      'loadBalancerIP',
      'loadBalancerClass',
      'loadBalancerSourceRanges',
      'allocateLoadBalancerNodePorts',
      'externalTrafficPolicy',
      'healthCheckNodePort',
    ])
      delete spec[field];
    for (const port of spec.ports ?? []) delete port.nodePort;
  } else if (group === 'networking.k8s.io' && kind === 'Ingress') {
    spec.ingressClassName = NO_INGRESS_CLASS;
    delete out.metadata.annotations?.['kubernetes.io/ingress.class'];
  } else if (isRoute(group, kind)) spec.parentRefs = [];
  return out;
}

/**
 * The backup's objects the rehearsal restores: the namespace's own, in their rehearsal form. Cluster-scoped objects
 * (the Namespace itself, CRDs, StorageClasses, PersistentVolumes) are not restored: they would outlive the scratch
 * namespace and change the cluster production runs in; the scratch Namespace is made by the rehearsal.
 */
export function rehearsalItems(items: PathedObject[]): PathedObject[] {
  return items
    .filter((item) => parseApiPath(item.path).namespace !== undefined)
    .map((item) => ({ ...item, object: rehearsalForm(item.object) }));
}

/** The labels the API server puts on a Job's selector and pods from the Job's uid: new with every restored Job. */
const JOB_UID_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid'];

/**
 * An object as the comparison sees it, both sides: what a restore cannot carry over by design is left out (on top of
 * diff's own rules, lib/resources/diff.ts): a Job's generated selector and its uid labels.
 */
export function comparableForm(obj: KubeObject): KubeObject {
  const { group } = parseApiVersion(obj.apiVersion);
  if (group !== 'batch' || obj.kind !== 'Job') return obj;
  const out = structuredClone(obj) as KubeObject & { spec?: any };
  const spec = out.spec;
  if (!spec || spec.manualSelector === true) return out;
  delete spec.selector;
  const labels = spec.template?.metadata?.labels;
  if (labels) for (const key of JOB_UID_LABELS) delete labels[key];
  return out;
}

export interface RehearsalDifference {
  path: string;
  status: 'added' | 'removed' | 'changed';
  /** The changed fields (at most 20), `field: backup -> live`. */
  fields?: string[];
}

/**
 * The differences a user acts on, with their fields cut short for the record. An object the restore could not create
 * is reported once, as a failure with the server's message, not again as missing (`failedPaths`: its target path).
 */
export function differencesOf(
  result: DiffResult,
  failedPaths: ReadonlySet<string> = new Set(),
): RehearsalDifference[] {
  const relevant = result.differences.filter((d) => !(d.status === 'removed' && failedPaths.has(d.path)));
  return relevant.map((d) => ({
    path: d.path,
    status: d.status,
    ...(d.status === 'changed'
      ? {
          fields: d.changes
            .slice(0, 20)
            .map((c) =>
              `${c.field}: ${JSON.stringify(c.backup) ?? '(absent)'} -> ${JSON.stringify(c.live) ?? '(absent)'}`.slice(
                0,
                300,
              ),
            ),
        }
      : {}),
  }));
}
