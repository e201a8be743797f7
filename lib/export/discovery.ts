// Discovery: which resource types the cluster serves, as `kubectl api-resources` sees them (legacy discovery:
// /api, /api/v1, /apis, /apis/<group>/<preferred version>). The pure part turns the documents into ResourceInfo;
// the adapter fetches them.

import { forEachLimited } from '../concurrency.js';
import type { KubeClient } from '../kube/index.js';
import { KubeApiError } from '../kube/index.js';
import type { Logger } from '../log.js';
import { isExportable, regeneratedReason, type ResourceInfo } from '../resources/index.js';

/** `APIResourceList` as served by `/api/v1` and `/apis/<group>/<version>`. */
export interface ApiResourceList {
  groupVersion: string;
  resources: {
    name: string;
    namespaced: boolean;
    kind: string;
    verbs?: string[];
    shortNames?: string[];
  }[];
}

/** `APIGroupList` as served by `/apis`. */
export interface ApiGroupList {
  groups: {
    name: string;
    versions: { groupVersion: string; version: string }[];
    preferredVersion?: { groupVersion: string; version: string };
  }[];
}

/** The ResourceInfo of every resource (and subresource) in one APIResourceList. */
export function resourcesOf(list: ApiResourceList): ResourceInfo[] {
  const slash = list.groupVersion.indexOf('/');
  const group = slash < 0 ? '' : list.groupVersion.slice(0, slash);
  const version = slash < 0 ? list.groupVersion : list.groupVersion.slice(slash + 1);
  return (list.resources ?? []).map((r) => ({
    group,
    version,
    resource: r.name,
    kind: r.kind,
    namespaced: r.namespaced,
    verbs: r.verbs ?? [],
    ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
  }));
}

/** One group/version per group: the preferred one, else the first listed (as kubectl picks). */
export function preferredGroupVersions(groups: ApiGroupList): string[] {
  return (groups.groups ?? [])
    .map((g) => g.preferredVersion?.groupVersion ?? g.versions?.[0]?.groupVersion)
    .filter((gv): gv is string => Boolean(gv));
}

/**
 * Kinds whose every object the backup leaves out (events, leases, ...): listing them would only cost time
 * (a namespace may hold thousands of events). Asked of D's rule with a bare object, so the two never drift:
 * a kind is skipped only when the rule excludes it whatever its fields.
 */
export function isAlwaysRegenerated(info: Pick<ResourceInfo, 'group' | 'version' | 'kind'>): boolean {
  const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
  const bare = { apiVersion, kind: info.kind, metadata: { name: 'probe', namespace: 'probe' } };
  return regeneratedReason(bare, { servicesWithSelector: new Set() }) !== null;
}

/**
 * The resources a namespace export lists: namespaced, exportable (list, get, create, delete; no subresource),
 * not always regenerated. Services come first, because whether an Endpoints object is kept depends on its
 * Service; the rest keeps discovery order (core group, then groups as /apis lists them).
 */
export function namespacedExportResources(all: ResourceInfo[]): ResourceInfo[] {
  const chosen = all.filter((r) => r.namespaced && isExportable(r) && !isAlwaysRegenerated(r));
  const isService = (r: ResourceInfo) => r.group === '' && r.resource === 'services';
  return [...chosen.filter(isService), ...chosen.filter((r) => !isService(r))];
}

export interface Discovery {
  /** Every resource of the preferred version of each group, subresources included. */
  resources: ResourceInfo[];
  /** Group/versions that could not be read (an aggregated API that is down); their resources are unknown. */
  unavailable: { groupVersion: string; error: string }[];
}

/**
 * Reads discovery. A group/version that fails (after the client's retries) is reported and skipped, as
 * kubectl does: an unavailable metrics API must not stop a backup. Callers log `unavailable`.
 */
export async function discover(kube: KubeClient, options: { concurrency?: number } = {}): Promise<Discovery> {
  const core = await kube.get<{ versions?: string[] }>('/api');
  const groups = await kube.get<ApiGroupList>('/apis');
  const paths = [
    ...(core.versions ?? ['v1']).slice(0, 1).map((v) => `/api/${v}`),
    ...preferredGroupVersions(groups).map((gv) => `/apis/${gv}`),
  ];
  const lists: (ApiResourceList | undefined)[] = new Array(paths.length);
  const unavailable: Discovery['unavailable'] = [];
  await forEachLimited(paths, options.concurrency ?? 8, async (path, index) => {
    try {
      lists[index] = await kube.get<ApiResourceList>(path);
    } catch (error) {
      const groupVersion = path.replace(/^\/apis?\//, '');
      unavailable.push({ groupVersion, error: (error as Error).message });
      if (!(error instanceof KubeApiError)) throw error;
    }
  });
  return { resources: lists.flatMap((list) => (list ? resourcesOf(list) : [])), unavailable };
}

/** Logs what discovery could not read; returns the resources. */
export function reportDiscovery(discovery: Discovery, log: Logger): ResourceInfo[] {
  for (const gap of discovery.unavailable) {
    log.warn('API group not available; its resources are not exported', gap);
  }
  return discovery.resources;
}
