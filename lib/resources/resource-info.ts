import { parseApiVersion, type KubeObject } from './types.js';

/**
 * An API resource as discovery (`/api/v1`, `/apis/<group>/<version>`) describes it.
 * `group` is `''` for the core group; `resource` is the plural (`deployments`), or
 * `pods/log`-style for a subresource.
 */
export interface ResourceInfo {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
}

/** The verbs a resource needs for nsbackup to back it up and restore it. */
export const EXPORT_VERBS = ['list', 'get', 'create', 'delete'] as const;

/** `v1` for the core group, `apps/v1` otherwise. */
export function groupVersionOf(info: Pick<ResourceInfo, 'group' | 'version'>): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/**
 * The REST path of an object (or, without a name, of the collection):
 * `/api/v1/namespaces/shop/configmaps/x`, `/apis/apps/v1/namespaces/shop/deployments/web`,
 * `/apis/storage.k8s.io/v1/storageclasses/fast`. The namespace is ignored for cluster-scoped resources.
 */
export function apiPathOf(info: ResourceInfo, namespace: string | undefined, name?: string): string {
  const root = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  let path = root;
  if (info.namespaced) {
    if (!namespace) throw new Error(`${info.kind} is namespaced: a namespace is needed for its API path`);
    path += `/namespaces/${encodeURIComponent(namespace)}`;
  }
  path += `/${info.resource}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  return path;
}

/** True when a resource can be listed, read, created and deleted, and is not a subresource. */
export function isExportable(info: ResourceInfo): boolean {
  if (info.resource.includes('/')) return false;
  return EXPORT_VERBS.every((verb) => info.verbs.includes(verb));
}

/** The parts of an object's API path. `namespace` is undefined for cluster-scoped objects. */
export interface ApiPathParts {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name: string;
}

/** Parses an object path made by {@link apiPathOf}; throws on anything else. */
export function parseApiPath(path: string): ApiPathParts {
  const parts = path.split('/').slice(1);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    rest = parts.slice(1);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1];
    rest = parts.slice(2);
  } else {
    throw new Error(`not an API object path: ${path}`);
  }
  const version = rest[0];
  if (rest.length === 5 && rest[1] === 'namespaces') {
    return {
      group,
      version,
      namespace: decodeURIComponent(rest[2]),
      resource: rest[3],
      name: decodeURIComponent(rest[4]),
    };
  }
  if (rest.length === 3) return { group, version, resource: rest[1], name: decodeURIComponent(rest[2]) };
  throw new Error(`not an API object path: ${path}`);
}

/** Kinds whose plural the usual English rule gets wrong. */
const IRREGULAR_PLURALS: Record<string, string> = { Endpoints: 'endpoints' };

/**
 * The resource plural for a kind when discovery is not at hand, by the rule Kubernetes' own REST mapper
 * guesses with (lowercase; `s` → `ses`, consonant + `y` → `ies`, else `+s`). Correct for the built-in
 * kinds; a CRD may declare any plural, so prefer a {@link ResourceIndex} built from discovery.
 */
export function guessPlural(kind: string): string {
  if (IRREGULAR_PLURALS[kind]) return IRREGULAR_PLURALS[kind];
  const lower = kind.toLowerCase();
  if (lower.endsWith('s')) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/** Finds the resource of an object's `apiVersion` + `kind`, as discovery listed it. */
export class ResourceIndex {
  private readonly byGvk = new Map<string, ResourceInfo>();

  constructor(infos: Iterable<ResourceInfo>) {
    for (const info of infos) {
      if (info.resource.includes('/')) continue;
      this.byGvk.set(`${groupVersionOf(info)}|${info.kind}`, info);
    }
  }

  lookup(apiVersion: string, kind: string): ResourceInfo | undefined {
    return this.byGvk.get(`${apiVersion}|${kind}`);
  }

  /** The object's API path; throws when discovery does not know its type. */
  pathOf(obj: KubeObject): string {
    const info = this.lookup(obj.apiVersion, obj.kind);
    if (!info) throw new Error(`unknown resource type ${obj.kind} (${obj.apiVersion})`);
    return apiPathOf(info, obj.metadata.namespace, obj.metadata.name);
  }
}

/**
 * The API path of an object without discovery: the plural is guessed ({@link guessPlural}) and the
 * object counts as cluster-scoped when it has no `metadata.namespace`.
 */
export function guessApiPathOf(obj: KubeObject): string {
  const { group, version } = parseApiVersion(obj.apiVersion);
  const info: ResourceInfo = {
    group,
    version,
    resource: guessPlural(obj.kind),
    kind: obj.kind,
    namespaced: Boolean(obj.metadata.namespace),
    verbs: [],
  };
  return apiPathOf(info, obj.metadata.namespace, obj.metadata.name ?? '');
}

/** A function giving an object's API path: `ResourceIndex.pathOf` or {@link guessApiPathOf}. */
export type PathOf = (obj: KubeObject) => string;
