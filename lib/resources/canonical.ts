import { stringify as yamlStringify, parseAllDocuments } from 'yaml';
import { LAST_APPLIED_ANNOTATION, withoutAllocatedNodePorts } from './service-ports.js';
import { isJsonMap, assertKubeObject, type JsonMap, type KubeObject } from './types.js';

/**
 * Canonical form: what nsbackup stores for an object, and what `export` and `diff` show.
 *
 * - Removed: `status`; `metadata.uid`, `resourceVersion`, `generation`, `creationTimestamp`,
 *   `managedFields`, `selfLink`, `deletionTimestamp`, `deletionGracePeriodSeconds`; the `uid` of each
 *   ownerReference (it names an object of the old cluster); the `deployment.kubernetes.io/revision`
 *   annotation (the controller's counter); `creationTimestamp: null` in embedded templates.
 * - Service node ports the API server allocated are removed, ports a user chose are kept
 *   (see `withoutAllocatedNodePorts`).
 * - A PersistentVolume's `claimRef` keeps the claim's kind, name and namespace but loses `uid` and
 *   `resourceVersion`, and the PV its `pv.kubernetes.io/bound-by-controller` annotation: applied to any cluster
 *   (`export --dir` then `kubectl apply`), a claimRef naming the old claim's uid makes the PV controller see the
 *   claim as gone, release the volume and, with reclaim policy Delete, delete the disk. A PersistentVolumeClaim
 *   keeps `volumeName` but loses `pv.kubernetes.io/bind-completed` and `bound-by-controller`: a claim created with
 *   bind-completed is taken for one whose binding broke, and the PV controller marks it Lost.
 * - A Namespace's `kubernetes.io/metadata.name` label: the API server sets it to the name, and a restore under
 *   another name must not carry the old one.
 * - Kept: the `kubectl.kubernetes.io/last-applied-configuration` annotation, because after a restore
 *   `kubectl apply` needs it to prune fields, and it is the only record of which node ports were chosen.
 *   `{ keepLastApplied: false }` drops it (e.g. for a tidy Git export).
 * - Key order: `apiVersion`, `kind`, `metadata` (`name`, `namespace`, then sorted), then the rest;
 *   every nested map sorted by key; list order kept. `Date` values become RFC 3339 strings
 *   (client-node returns timestamps as `Date`), `undefined` values are dropped.
 *
 * Idempotent: `canonicalize(canonicalize(x))` deep-equals `canonicalize(x)`.
 */
export interface CanonicalOptions {
  keepLastApplied?: boolean;
}

const DROPPED_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];

const DROPPED_ANNOTATIONS = ['deployment.kubernetes.io/revision'];

/** The PV controller's record that it bound a claim: state, never something to create a claim with. */
export const PVC_BIND_STATE_ANNOTATIONS = [
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
];

/** Annotations the API server's controllers set by kind, by `apiVersion|kind`. */
const DROPPED_ANNOTATIONS_BY_KIND: Record<string, string[]> = {
  'v1|PersistentVolume': ['pv.kubernetes.io/bound-by-controller'],
  'v1|PersistentVolumeClaim': PVC_BIND_STATE_ANNOTATIONS,
};

/** Labels the API server sets by itself, by `apiVersion|kind`. */
export const SERVER_SET_LABELS: Record<string, string[]> = {
  'v1|Namespace': ['kubernetes.io/metadata.name'],
};

/** The labels of `obj` without those the API server sets by itself ({@link SERVER_SET_LABELS}). */
export function withoutServerSetLabels(
  obj: Pick<KubeObject, 'apiVersion' | 'kind'>,
  labels: Record<string, string> | undefined,
): Record<string, string> {
  const out = { ...(labels ?? {}) };
  for (const key of SERVER_SET_LABELS[`${obj.apiVersion}|${obj.kind}`] ?? []) delete out[key];
  return out;
}

export function canonicalize(input: KubeObject, options: CanonicalOptions = {}): KubeObject {
  assertKubeObject(input);
  const plain = toPlainJson(input) as KubeObject;
  const withPorts = withoutAllocatedNodePorts(plain);
  const { status: _status, ...rest } = withPorts;
  const metadata: JsonMap = { ...withPorts.metadata };
  for (const field of DROPPED_METADATA) delete metadata[field];

  const annotations: Record<string, string> = { ...(withPorts.metadata.annotations ?? {}) };
  for (const key of DROPPED_ANNOTATIONS) delete annotations[key];
  for (const key of DROPPED_ANNOTATIONS_BY_KIND[`${withPorts.apiVersion}|${withPorts.kind}`] ?? []) {
    delete annotations[key];
  }
  if (options.keepLastApplied === false) delete annotations[LAST_APPLIED_ANNOTATION];
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  else delete metadata.annotations;
  if (isJsonMap(metadata.labels)) {
    const labels = withoutServerSetLabels(withPorts, metadata.labels as Record<string, string>);
    if (Object.keys(labels).length) metadata.labels = labels;
    else delete metadata.labels;
  }

  if (Array.isArray(metadata.ownerReferences)) {
    metadata.ownerReferences = metadata.ownerReferences.map((ref) => {
      if (!isJsonMap(ref)) return ref;
      const { uid: _uid, ...withoutUid } = ref;
      return withoutUid;
    });
  }

  const body = dropNullCreationTimestamps({ ...withoutClaimRefIdentity(rest), metadata }) as KubeObject;
  return orderKeys(body) as KubeObject;
}

/** A PersistentVolume's claimRef without the fields that pin it to one claim object of one cluster. */
function withoutClaimRefIdentity<T extends JsonMap>(obj: T): T {
  if (obj.kind !== 'PersistentVolume' || obj.apiVersion !== 'v1') return obj;
  if (!isJsonMap(obj.spec) || !isJsonMap(obj.spec.claimRef)) return obj;
  const { uid: _uid, resourceVersion: _rv, ...claimRef } = obj.spec.claimRef;
  return { ...obj, spec: { ...obj.spec, claimRef } };
}

/** Converts `Date` to RFC 3339 (seconds, as the API server writes them) and drops `undefined`. */
function toPlainJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (isJsonMap(value)) {
    const out: JsonMap = {};
    for (const [key, child] of Object.entries(value)) {
      if (child !== undefined) out[key] = toPlainJson(child);
    }
    return out;
  }
  return value;
}

/** Pod templates come back from the API with `metadata.creationTimestamp: null`: noise. */
function dropNullCreationTimestamps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNullCreationTimestamps);
  if (!isJsonMap(value)) return value;
  const out: JsonMap = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'creationTimestamp' && child === null) continue;
    out[key] = dropNullCreationTimestamps(child);
  }
  return out;
}

const TOP_ORDER = ['apiVersion', 'kind', 'metadata'];
const METADATA_ORDER = ['name', 'namespace'];

function compareWithPriority(priority: string[]) {
  return (a: string, b: string): number => {
    const pa = priority.indexOf(a);
    const pb = priority.indexOf(b);
    if (pa >= 0 || pb >= 0) return (pa < 0 ? Infinity : pa) - (pb < 0 ? Infinity : pb);
    return a < b ? -1 : a > b ? 1 : 0;
  };
}

const byTopOrder = compareWithPriority(TOP_ORDER);
const byMetadataOrder = compareWithPriority(METADATA_ORDER);
const byName = compareWithPriority([]);

/** Deterministic key order (see {@link canonicalize}); arrays keep their order. */
export function orderKeys(value: unknown, depth = 0, parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => orderKeys(item, depth + 1, ''));
  if (!isJsonMap(value)) return value;
  const compare =
    depth === 0 ? byTopOrder : depth === 1 && parentKey === 'metadata' ? byMetadataOrder : byName;
  const out: JsonMap = {};
  for (const key of Object.keys(value).sort(compare)) out[key] = orderKeys(value[key], depth + 1, key);
  return out;
}

/**
 * One YAML document, deterministic and safe for kubectl: strings that YAML 1.1 would read as something
 * else (`yes`, `on`, `0123`, `2024-01-01`) are quoted, long lines are never folded.
 */
export function toYaml(obj: unknown): string {
  return yamlStringify(obj, { version: '1.1', lineWidth: 0, minContentWidth: 0 });
}

/**
 * YAML 1.1 as kubectl reads it, but without the tags that would turn text into something other than
 * JSON (timestamps become `Date`, `<<` merges): a timestamp stays the string it was.
 */
const PARSE_TAGS_LEFT_OUT = new Set(
  ['timestamp', 'binary', 'set', 'omap', 'pairs', 'merge'].map((name) => `tag:yaml.org,2002:${name}`),
);

export const yamlParseOptions = {
  version: '1.1' as const,
  customTags: (tags: any[]) => tags.filter((tag) => !PARSE_TAGS_LEFT_OUT.has(tag.tag)),
};

/** Parses one or more YAML documents (e.g. a file); empty documents are skipped. Throws on YAML errors. */
export function parseYamlDocuments(text: string, source = 'YAML'): unknown[] {
  const out: unknown[] = [];
  for (const doc of parseAllDocuments(text, yamlParseOptions)) {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}
