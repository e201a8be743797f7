/**
 * The shape of a Kubernetes object as nsbackup handles it: plain JSON (as the API server sends it,
 * or as parsed from YAML). Only the fields the resource code reads are typed; everything else is kept as is.
 */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** A plain JSON map, for code that walks arbitrary fields. */
export type JsonMap = Record<string, unknown>;

export function isJsonMap(value: unknown): value is JsonMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Splits `apps/v1` into group `apps` and version `v1`; the core group (`v1`) is the empty string. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * `Kind.group`, or just `Kind` for the core group: how counts, preferences and reports name a type
 * (`Deployment.apps`, `ConfigMap`, `Certificate.cert-manager.io`).
 */
export function kindKeyOf(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): string {
  const { group } = parseApiVersion(obj.apiVersion);
  return group ? `${obj.kind}.${group}` : obj.kind;
}

/** Throws a clear error unless `value` looks like a Kubernetes object (apiVersion, kind, metadata.name). */
export function assertKubeObject(value: unknown, where = 'object'): asserts value is KubeObject {
  if (!isJsonMap(value)) throw new Error(`${where}: not a Kubernetes object (expected a map)`);
  if (typeof value.apiVersion !== 'string' || !value.apiVersion)
    throw new Error(`${where}: apiVersion missing`);
  if (typeof value.kind !== 'string' || !value.kind) throw new Error(`${where}: kind missing`);
  if (!isJsonMap(value.metadata) || typeof value.metadata.name !== 'string' || !value.metadata.name) {
    throw new Error(`${where}: metadata.name missing (${value.kind})`);
  }
}

/** An object together with its API path (in the backup, i.e. before any namespace mapping). */
export interface PathedObject {
  path: string;
  object: KubeObject;
}
