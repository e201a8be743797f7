// `existing: update`: an object that already exists is replaced by the backup's version with a PUT carrying the
// live resourceVersion. PUT, not a merge patch, because "update" means "make it match the backup": a merge
// patch only adds and changes, so a label, an env entry's sibling key or an annotation added since the backup
// would survive it. The PUT is optimistic: a concurrent writer makes it fail with 409 and it is retried on a
// fresh read. What the restore deliberately left for the cluster to fill in (a Service's cluster IP and
// allocated node ports, a claim's volume, binding annotations and default storage class, a Job's generated
// selector and pod labels, a ServiceAccount's token Secret references) is taken from the live object, since those
// fields are immutable, would be reallocated or belong to objects the backup leaves out.

import { Labels } from '../labels.js';
import {
  JOB_GENERATED_LABELS,
  PVC_BIND_ANNOTATIONS,
  SELECTED_NODE_ANNOTATION,
  canonicalize,
  hasGeneratedSelector,
  isJsonMap,
  orderKeys,
  type JsonMap,
  type KubeObject,
} from '../resources/index.js';

const SERVICE_ALLOCATED = ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'healthCheckNodePort'];
const PVC_FILLED = ['volumeName', 'storageClassName', 'volumeMode'];

function portKey(port: JsonMap): string {
  return `${String(port.name ?? '')}|${String(port.port)}|${String(port.protocol ?? 'TCP')}`;
}

/** The body of the PUT: the desired object with the live resourceVersion and the server-filled fields kept. */
export function bodyForUpdate(desired: KubeObject, live: KubeObject): KubeObject {
  const out = structuredClone(desired);
  out.metadata.resourceVersion = live.metadata.resourceVersion;
  // Finalizers belong to controllers of the live object; dropping them would skip their cleanup.
  if (Array.isArray(live.metadata.finalizers) && out.metadata.finalizers === undefined) {
    out.metadata.finalizers = live.metadata.finalizers;
  }
  // The export drops a ServiceAccount's references to the token Secrets it leaves out, so references only the live
  // object has stay (a reference is only a name; removing one could break a legacy token's user).
  if (out.kind === 'ServiceAccount' && Array.isArray(live.secrets)) {
    // In the live order, so an object that differs only by those references compares equal.
    const wanted = Array.isArray(out.secrets) ? out.secrets : [];
    const liveNames = new Set(live.secrets.filter(isJsonMap).map((ref) => ref.name));
    out.secrets = [...live.secrets, ...wanted.filter((ref) => !isJsonMap(ref) || !liveNames.has(ref.name))];
  }
  const spec = isJsonMap(out.spec) ? out.spec : undefined;
  const liveSpec = isJsonMap(live.spec) ? live.spec : undefined;
  if (!spec || !liveSpec) return out;
  if (out.kind === 'Service' && out.apiVersion === 'v1') {
    for (const field of SERVICE_ALLOCATED) {
      if (spec[field] === undefined && liveSpec[field] !== undefined) spec[field] = liveSpec[field];
    }
    const livePorts = new Map(
      (Array.isArray(liveSpec.ports) ? liveSpec.ports : []).filter(isJsonMap).map((p) => [portKey(p), p]),
    );
    for (const port of Array.isArray(spec.ports) ? spec.ports : []) {
      if (!isJsonMap(port) || port.nodePort !== undefined) continue;
      const livePort = livePorts.get(portKey(port));
      if (livePort?.nodePort !== undefined) port.nodePort = livePort.nodePort;
    }
  }
  if (out.kind === 'PersistentVolumeClaim' && out.apiVersion === 'v1') {
    for (const field of PVC_FILLED) {
      if (spec[field] === undefined && liveSpec[field] !== undefined) spec[field] = liveSpec[field];
    }
    // Where an existing claim's data came from cannot change after creation: the live claim's source stands (the
    // restore points new claims at the backup's snapshot; an existing one keeps the volume it has).
    for (const field of ['dataSource', 'dataSourceRef']) {
      if (liveSpec[field] === undefined) delete spec[field];
      else spec[field] = liveSpec[field];
    }
    // The binding the restore cleared is the live claim's: keep it, or the PUT would unbind a bound claim.
    for (const key of [...PVC_BIND_ANNOTATIONS, SELECTED_NODE_ANNOTATION]) {
      const value = live.metadata.annotations?.[key];
      if (value !== undefined && out.metadata.annotations?.[key] === undefined) {
        out.metadata.annotations = { ...(out.metadata.annotations ?? {}), [key]: value };
      }
    }
  }
  if (hasGeneratedSelector(out)) {
    if (spec.selector === undefined && liveSpec.selector !== undefined) spec.selector = liveSpec.selector;
    const liveLabels = templateLabelsOf(liveSpec);
    const generated = JOB_GENERATED_LABELS.filter((key) => liveLabels?.[key] !== undefined);
    if (generated.length) {
      const template: JsonMap = isJsonMap(spec.template) ? spec.template : (spec.template = {});
      const metadata: JsonMap = isJsonMap(template.metadata) ? template.metadata : (template.metadata = {});
      const labels: JsonMap = isJsonMap(metadata.labels) ? metadata.labels : (metadata.labels = {});
      for (const key of generated) if (labels[key] === undefined) labels[key] = liveLabels![key];
    }
  }
  return out;
}

function templateLabelsOf(spec: JsonMap): JsonMap | undefined {
  const template = isJsonMap(spec.template) ? spec.template : undefined;
  const metadata = template && isJsonMap(template.metadata) ? template.metadata : undefined;
  return metadata && isJsonMap(metadata.labels) ? metadata.labels : undefined;
}

/** Every field `want` sets has that value in `have`; lists must have the same length. */
function within(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    return (
      Array.isArray(have) && want.length === have.length && want.every((item, i) => within(item, have[i]))
    );
  }
  if (isJsonMap(want)) {
    return isJsonMap(have) && Object.entries(want).every(([key, value]) => within(value, have[key]));
  }
  return want === have;
}

const sameMap = (a: unknown, b: unknown) =>
  JSON.stringify(orderKeys(a ?? {})) === JSON.stringify(orderKeys(b ?? {}));

/** Labels without `nsbackup.io/restored-from`: which backup an object came from is not a difference. */
function withoutRestoredFrom(labels: Record<string, string> | undefined): Record<string, string> {
  const { [Labels.restoredFrom]: _from, ...rest } = labels ?? {};
  return rest;
}

/**
 * True when the live object already is what the PUT would make it, so nothing is written: every field of the
 * backup's version has its value in the live object (fields the API server defaults, absent from the backup, do
 * not count), and labels and annotations are exactly the backup's (a label added since must go). The
 * restored-from label is left out of the comparison: an object that already equals the backup (one that was never
 * restored, or restored from another backup) is not rewritten just to carry it; labels the API server sets
 * (a Namespace's name) are left out by the canonical form.
 */
export function matchesLive(body: KubeObject, live: KubeObject): boolean {
  const want = comparable(body);
  // Without managedFields, canonicalize keeps every node port: what is live is compared, not what was chosen.
  const have = comparable({ ...live, metadata: { ...live.metadata, managedFields: undefined } });
  return (
    within(want, have) &&
    sameMap(want.metadata.labels, have.metadata.labels) &&
    sameMap(want.metadata.annotations, have.metadata.annotations)
  );
}

function comparable(obj: KubeObject): KubeObject {
  const canonical = canonicalize(obj);
  return {
    ...canonical,
    metadata: { ...canonical.metadata, labels: withoutRestoredFrom(canonical.metadata.labels) },
  };
}
