import { Labels } from '../labels.js';
import { PVC_BIND_STATE_ANNOTATIONS } from './canonical.js';
import { storageClassOf } from './preferences.js';
import { parseQuantity } from './quantity.js';
import { isJsonMap, type JsonMap, type KubeObject } from './types.js';

/**
 * What a restore changes in an object on its way into the cluster. Every function is pure: it returns a
 * new object and leaves its input alone. {@link prepareForRestore} applies them all.
 */
export interface RestoreTransformOptions {
  /** Written to the `nsbackup.io/restored-from` label of every restored object. */
  backupId: string;
  /** Source namespace → target namespace; namespaces not listed stay as they are. */
  namespaceMapping?: Record<string, string>;
  /** Storage classes whose PVs are restored and whose claims keep their volume (`""` = no class). */
  rebindStorageClasses?: string[];
}

const mapped = (namespace: string, mapping: Record<string, string>): string =>
  Object.prototype.hasOwnProperty.call(mapping, namespace) ? mapping[namespace] : namespace;

function clone<T>(value: T): T {
  return structuredClone(value);
}

/**
 * Rewrites every namespace reference nsbackup knows of: `metadata.namespace`; a Namespace's own name;
 * subjects of RoleBindings and ClusterRoleBindings; a PV's `claimRef`; a VolumeSnapshotContent's
 * `volumeSnapshotRef`; the Service references of admission webhooks, APIServices and CRD conversion
 * webhooks. A ClusterRoleBinding subject in a namespace that is not mapped is left alone.
 */
export function mapNamespaces(obj: KubeObject, mapping: Record<string, string>): KubeObject {
  if (Object.keys(mapping).length === 0) return obj;
  const out = clone(obj);
  const map = (ns: unknown) => (typeof ns === 'string' ? mapped(ns, mapping) : ns);
  if (out.metadata.namespace) out.metadata.namespace = mapped(out.metadata.namespace, mapping);
  const spec = isJsonMap(out.spec) ? out.spec : undefined;
  switch (out.kind) {
    case 'Namespace':
      if (out.apiVersion === 'v1' && out.metadata.name)
        out.metadata.name = mapped(out.metadata.name, mapping);
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      for (const subject of Array.isArray(out.subjects) ? out.subjects : []) {
        if (isJsonMap(subject) && subject.namespace !== undefined) subject.namespace = map(subject.namespace);
      }
      break;
    case 'PersistentVolume':
      if (spec && isJsonMap(spec.claimRef)) spec.claimRef.namespace = map(spec.claimRef.namespace);
      break;
    case 'VolumeSnapshotContent':
      if (spec && isJsonMap(spec.volumeSnapshotRef)) {
        spec.volumeSnapshotRef.namespace = map(spec.volumeSnapshotRef.namespace);
      }
      break;
    case 'MutatingWebhookConfiguration':
    case 'ValidatingWebhookConfiguration':
      for (const webhook of Array.isArray(out.webhooks) ? out.webhooks : []) {
        const service =
          isJsonMap(webhook) && isJsonMap(webhook.clientConfig) ? webhook.clientConfig.service : undefined;
        if (isJsonMap(service)) service.namespace = map(service.namespace);
      }
      break;
    case 'APIService':
      if (spec && isJsonMap(spec.service)) spec.service.namespace = map(spec.service.namespace);
      break;
    case 'CustomResourceDefinition': {
      const conversion = spec && isJsonMap(spec.conversion) ? spec.conversion : undefined;
      const webhook = conversion && isJsonMap(conversion.webhook) ? conversion.webhook : undefined;
      const service = webhook && isJsonMap(webhook.clientConfig) ? webhook.clientConfig.service : undefined;
      if (isJsonMap(service)) service.namespace = map(service.namespace);
      break;
    }
  }
  return out;
}

/**
 * Service: `clusterIP` and `clusterIPs` are cleared so the target cluster assigns new ones, unless the
 * Service is headless (`None`), which is a choice, not an assignment. Node ports are not touched here:
 * the canonical form already holds only the ones a user chose.
 */
export function prepareService(obj: KubeObject): KubeObject {
  if (obj.kind !== 'Service' || obj.apiVersion !== 'v1' || !isJsonMap(obj.spec)) return obj;
  if (obj.spec.clusterIP === 'None') return obj;
  const out = clone(obj);
  const spec = out.spec as JsonMap;
  delete spec.clusterIP;
  delete spec.clusterIPs;
  return out;
}

export const PVC_BIND_ANNOTATIONS = [
  ...PVC_BIND_STATE_ANNOTATIONS,
  'volume.beta.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/storage-provisioner',
];
export const SELECTED_NODE_ANNOTATION = 'volume.kubernetes.io/selected-node';

function withoutAnnotations(obj: KubeObject, keys: string[]): void {
  const annotations = obj.metadata.annotations;
  if (!annotations) return;
  for (const key of keys) delete annotations[key];
  if (Object.keys(annotations).length === 0) delete obj.metadata.annotations;
}

/**
 * PersistentVolumeClaim: `volume.kubernetes.io/selected-node` is always removed (the node is of the old
 * cluster), and so are the PV controller's bind-completed and bound-by-controller. Unless the claim's storage
 * class is rebound, `spec.volumeName` and the provisioner annotations are removed too, so the claim gets a fresh
 * volume from its StorageClass.
 */
export function preparePvc(obj: KubeObject, rebindStorageClasses: string[] = []): KubeObject {
  if (obj.kind !== 'PersistentVolumeClaim' || obj.apiVersion !== 'v1') return obj;
  const out = clone(obj);
  // Even a claim that keeps its volume loses these: created with bind-completed, a claim is taken for one whose
  // binding broke and marked Lost (exports made before the canonical form dropped them still carry them).
  withoutAnnotations(out, [SELECTED_NODE_ANNOTATION, ...PVC_BIND_STATE_ANNOTATIONS]);
  if (!rebindStorageClasses.includes(storageClassOf(out))) {
    withoutAnnotations(out, PVC_BIND_ANNOTATIONS);
    if (isJsonMap(out.spec)) delete out.spec.volumeName;
  }
  return out;
}

/**
 * PersistentVolume (restored only for rebound storage classes): the `claimRef` keeps the claim's name and
 * (mapped) namespace but loses `uid` and `resourceVersion`, which name the old claim; the PV controller
 * binds the restored claim and fills them in.
 */
export function preparePv(obj: KubeObject): KubeObject {
  if (obj.kind !== 'PersistentVolume' || obj.apiVersion !== 'v1' || !isJsonMap(obj.spec)) return obj;
  if (!isJsonMap(obj.spec.claimRef)) return obj;
  const out = clone(obj);
  const claimRef = (out.spec as JsonMap).claimRef as JsonMap;
  delete claimRef.uid;
  delete claimRef.resourceVersion;
  return out;
}

/**
 * Pod: `spec.nodeName` is removed (the node is of the old cluster; the scheduler picks one).
 */
export function preparePod(obj: KubeObject): KubeObject {
  if (
    obj.kind !== 'Pod' ||
    obj.apiVersion !== 'v1' ||
    !isJsonMap(obj.spec) ||
    obj.spec.nodeName === undefined
  ) {
    return obj;
  }
  const out = clone(obj);
  delete (out.spec as JsonMap).nodeName;
  return out;
}

/** Labels the API server puts on a Job's pod template when it generates the Job's selector. */
export const JOB_GENERATED_LABELS = [
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'job-name',
  'batch.kubernetes.io/job-name',
];

/** True for a Job whose selector the API server generates (no `spec.manualSelector: true`). */
export function hasGeneratedSelector(obj: KubeObject): boolean {
  if (obj.kind !== 'Job' || !obj.apiVersion.startsWith('batch/') || !isJsonMap(obj.spec)) return false;
  return obj.spec.manualSelector !== true;
}

/**
 * Job: unless `spec.manualSelector` is true, the API server generates `spec.selector` and the template's
 * controller-uid and job-name labels from the new Job's uid, and refuses a Job that brings a selector of its own
 * (422 "`selector` not auto-generated"). The backup's name the old Job's uid: they are removed so the new Job gets
 * its own. A manual selector is the user's and is kept.
 */
export function prepareJob(obj: KubeObject): KubeObject {
  if (!hasGeneratedSelector(obj)) return obj;
  const out = clone(obj);
  const spec = out.spec as JsonMap;
  delete spec.selector;
  const template = isJsonMap(spec.template) ? spec.template : undefined;
  const metadata = template && isJsonMap(template.metadata) ? template.metadata : undefined;
  if (metadata && isJsonMap(metadata.labels)) {
    for (const key of JOB_GENERATED_LABELS) delete metadata.labels[key];
    if (Object.keys(metadata.labels).length === 0) delete metadata.labels;
  }
  return out;
}

/** The name of the VolumeSnapshot a claim is to be filled from (`dataSourceRef`, else `dataSource`), if any. */
export function snapshotSourceOf(pvc: KubeObject): string | undefined {
  if (pvc.kind !== 'PersistentVolumeClaim' || pvc.apiVersion !== 'v1' || !isJsonMap(pvc.spec))
    return undefined;
  for (const field of ['dataSourceRef', 'dataSource']) {
    const ref = pvc.spec[field];
    // A cross-namespace reference (dataSourceRef.namespace) is the user's business: not checked here.
    if (!isJsonMap(ref) || ref.namespace !== undefined) continue;
    if (
      ref.kind === 'VolumeSnapshot' &&
      ref.apiGroup === 'snapshot.storage.k8s.io' &&
      typeof ref.name === 'string'
    )
      return ref.name;
  }
  return undefined;
}

/** A claim without `dataSource` and `dataSourceRef`: it gets an empty volume. */
export function withoutDataSource(pvc: KubeObject): KubeObject {
  if (!isJsonMap(pvc.spec)) return pvc;
  const out = clone(pvc);
  delete (out.spec as JsonMap).dataSource;
  delete (out.spec as JsonMap).dataSourceRef;
  return out;
}

/**
 * ownerReferences are removed: they name objects by uid, and in the target cluster those uids either do
 * not exist (the garbage collector would delete the restored object) or belong to something else.
 */
export function withoutOwnerReferences(obj: KubeObject): KubeObject {
  if (!obj.metadata.ownerReferences) return obj;
  const out = clone(obj);
  delete out.metadata.ownerReferences;
  return out;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Sets `nsbackup.io/restored-from=<backup id>`; throws when the id cannot be a label value. */
export function labelRestoredFrom(obj: KubeObject, backupId: string): KubeObject {
  if (!backupId || backupId.length > 63 || !LABEL_VALUE.test(backupId)) {
    throw new Error(
      `backup id "${backupId}" cannot be a label value (63 characters: letters, digits, - _ .)`,
    );
  }
  const out = clone(obj);
  out.metadata.labels = { ...(out.metadata.labels ?? {}), [Labels.restoredFrom]: backupId };
  return out;
}

/** All changes on the way in, in order: mapping, ownerReferences, per-kind fixes, the restored-from label. */
export function prepareForRestore(obj: KubeObject, options: RestoreTransformOptions): KubeObject {
  let out = mapNamespaces(obj, options.namespaceMapping ?? {});
  out = withoutOwnerReferences(out);
  out = prepareService(out);
  out = preparePvc(out, options.rebindStorageClasses ?? []);
  out = preparePv(out);
  out = preparePod(out);
  out = prepareJob(out);
  return labelRestoredFrom(out, options.backupId);
}

/**
 * A claim that restores a VolumeSnapshot: `dataSource` (and `dataSourceRef`) point at the snapshot,
 * the volume binding is cleared, and the requested size is raised to the snapshot's `restoreSize`
 * when that is larger (a claim smaller than its source is refused by the CSI driver).
 */
export function withSnapshotSource(
  pvc: KubeObject,
  snapshotName: string,
  options: { restoreSize?: string } = {},
): KubeObject {
  if (pvc.kind !== 'PersistentVolumeClaim')
    throw new Error(`withSnapshotSource needs a PersistentVolumeClaim, got ${pvc.kind}`);
  let out = preparePvc(pvc, []);
  if (out === pvc) out = clone(pvc);
  const spec: JsonMap = isJsonMap(out.spec) ? out.spec : (out.spec = {});
  const source = { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshotName };
  spec.dataSource = { ...source };
  spec.dataSourceRef = { ...source };
  if (options.restoreSize) {
    const resources: JsonMap = isJsonMap(spec.resources) ? spec.resources : (spec.resources = {});
    const requests: JsonMap = isJsonMap(resources.requests) ? resources.requests : (resources.requests = {});
    const current = typeof requests.storage === 'string' ? requests.storage : undefined;
    if (!current || parseQuantity(current) < parseQuantity(options.restoreSize))
      requests.storage = options.restoreSize;
  }
  return out;
}
