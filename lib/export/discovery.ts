// Discovery: which resource types the cluster serves, as `kubectl api-resources` sees them (legacy discovery:
// /api, /api/v1, /apis, /apis/<group>/<version> for every served version, merged per group as kubectl's preferred
// resources are). The pure part turns the documents into ResourceInfo; the adapter fetches them.

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

/** Every served group/version of each group, the preferred one first, then the others as `/apis` lists them. */
export function servedGroupVersions(groups: ApiGroupList): { group: string; groupVersions: string[] }[] {
  return (groups.groups ?? []).map((g) => {
    const listed = (g.versions ?? []).map((v) => v.groupVersion);
    const preferred = g.preferredVersion?.groupVersion ?? listed[0];
    return {
      group: g.name,
      groupVersions: preferred ? [preferred, ...listed.filter((gv) => gv !== preferred)] : listed,
    };
  });
}

/**
 * One group's resources, as kubectl's preferred resources: each resource once, from the first of `lists` (the
 * group's versions, preferred first) that serves it, with that version's subresources. A kind that only an older
 * version of the group still serves is kept: reading only the preferred version would silently miss it.
 */
export function mergeGroupVersions(lists: ApiResourceList[]): ResourceInfo[] {
  const chosenVersion = new Map<string, string>();
  for (const list of lists) {
    for (const r of list.resources ?? []) {
      if (!r.name.includes('/') && !chosenVersion.has(r.name)) chosenVersion.set(r.name, list.groupVersion);
    }
  }
  return lists.flatMap((list) =>
    resourcesOf(list).filter((info) => chosenVersion.get(info.resource.split('/')[0]) === list.groupVersion),
  );
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
 * Service, then Secrets, because the token Secrets left out are dropped from ServiceAccounts; the rest keeps
 * discovery order (core group, then groups as /apis lists them).
 */
export function namespacedExportResources(all: ResourceInfo[]): ResourceInfo[] {
  const chosen = all.filter((r) => r.namespaced && isExportable(r) && !isAlwaysRegenerated(r));
  const first = ['services', 'secrets'];
  const rank = (r: ResourceInfo) =>
    r.group === '' && first.includes(r.resource) ? first.indexOf(r.resource) : 2;
  return chosen
    .map((r, index) => ({ r, index }))
    .sort((a, b) => rank(a.r) - rank(b.r) || a.index - b.index)
    .map(({ r }) => r);
}

export interface Discovery {
  /** Every resource of each group, merged over its versions ({@link mergeGroupVersions}), subresources included. */
  resources: ResourceInfo[];
  /** Group/versions that could not be read (an aggregated API that is down); their resources are unknown. */
  unavailable: { groupVersion: string; error: string }[];
}

/**
 * Reads discovery. A group/version that fails (after the client's retries) is reported in `unavailable` and the
 * rest is read: an unavailable aggregated API must not hide every other type. An export records the gaps in its
 * manifest (the backup then fails, since types may be missing); `diff` only logs them.
 */
export async function discover(kube: KubeClient, options: { concurrency?: number } = {}): Promise<Discovery> {
  const core = await kube.get<{ versions?: string[] }>('/api');
  const groups = await kube.get<ApiGroupList>('/apis');
  const byGroup = [
    { group: '', groupVersions: (core.versions ?? ['v1']).slice(0, 1) },
    ...servedGroupVersions(groups),
  ];
  const groupVersions = byGroup.flatMap((g) => g.groupVersions);
  const lists = new Map<string, ApiResourceList>();
  const unavailable: Discovery['unavailable'] = [];
  await forEachLimited(groupVersions, options.concurrency ?? 8, async (groupVersion) => {
    const path = groupVersion.includes('/') ? `/apis/${groupVersion}` : `/api/${groupVersion}`;
    try {
      lists.set(groupVersion, await kube.get<ApiResourceList>(path));
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      unavailable.push({ groupVersion, error: error.message });
    }
  });
  unavailable.sort((a, b) => (a.groupVersion < b.groupVersion ? -1 : 1));
  const resources = byGroup.flatMap((g) =>
    mergeGroupVersions(
      g.groupVersions.map((gv) => lists.get(gv)).filter((list): list is ApiResourceList => !!list),
    ),
  );
  return { resources, unavailable };
}

/**
 * Aggregated APIs that only ever serve read-only views (no create, no delete: nothing an export keeps). The
 * metrics server is the one most often down; its outage must not fail every backup of the cluster.
 */
const READ_ONLY_GROUPS = new Set(['metrics.k8s.io', 'custom.metrics.k8s.io', 'external.metrics.k8s.io']);

/** What an export records for each group/version discovery could not read (read-only metrics groups aside). */
export function discoveryGaps(discovery: Pick<Discovery, 'unavailable'>): { what: string; reason: string }[] {
  return discovery.unavailable
    .filter((gap) => !READ_ONLY_GROUPS.has(gap.groupVersion.split('/')[0]))
    .map((gap) => ({
      what: `API group version ${gap.groupVersion}`,
      reason: `discovery failed, its resource types are unknown: ${gap.error}`,
    }));
}

/** Logs what discovery could not read (for `diff`, which has no manifest to record it in); returns the resources. */
export function reportDiscovery(discovery: Discovery, log: Logger): ResourceInfo[] {
  for (const gap of discovery.unavailable) {
    log.warn('API group not available; its resources are not compared', gap);
  }
  return discovery.resources;
}
