// Lists a namespace for an export: every exportable resource, page by page (limit/continue), several types at
// a time, yielded in a fixed order (the order of the resource list, then page order) so that the same
// namespace always gives the same archive. Objects the cluster regenerates are dropped (D's rule), the rest
// is canonicalised and addressed by its API path. Then the Namespace object itself (its labels and annotations:
// pod security levels, team labels) and the cluster-scoped objects the namespace depends on. Memory stays bounded: at most `concurrency` types are in
// flight, each holding at most `pagesAhead` pages.

import type { KubeClient, KubeList } from '../kube/index.js';
import { KubeApiError } from '../kube/index.js';
import {
  apiPathOf,
  canonicalize,
  exclusionContextOf,
  groupVersionOf,
  kindKeyOf,
  regeneratedReason,
  withoutTokenSecretRefs,
  type ExclusionContext,
  type KubeObject,
  type PathedObject,
  type ResourceInfo,
} from '../resources/index.js';
import type { Logger } from '../log.js';
import { discoveryGaps, namespacedExportResources, type Discovery } from './discovery.js';
import { prefetch } from './prefetch.js';

export interface CollectOptions {
  kube: KubeClient;
  namespace: string;
  /** Every resource discovery lists; the namespaced exportable ones are listed ({@link namespacedExportResources}). */
  resources: ResourceInfo[];
  /** Resource types listed at once. Default 4. */
  concurrency?: number;
  pageSize?: number;
  /** Pages buffered per resource type beyond the one being written. */
  pagesAhead?: number;
  /** Also yield the cluster-scoped objects the namespace depends on (PVs, StorageClasses, CRDs). Default true. */
  clusterDependencies?: boolean;
  /** Resource types left out on purpose, as `plural` (core) or `plural.group`: not listed at all. */
  exclude?: string[];
  /** Group/versions discovery could not read: recorded as skipped (their types may hold objects). */
  discoveryGaps?: Discovery['unavailable'];
  signal?: AbortSignal;
}

export interface CollectStats {
  /** resourceVersion of each list, by `Kind.group`. */
  listResourceVersions: Record<string, string>;
  /** Objects listed (before exclusions). */
  listed: number;
  /** Objects left out, by reason. */
  excluded: Record<string, number>;
  /**
   * What could not be read, with the reason: resource types (forbidden, gone), API groups discovery could not read,
   * the Namespace object, dependencies. The backup holds everything else; a run with any of these failed.
   */
  skipped: { what: string; reason: string }[];
  /**
   * Cluster-scoped dependencies the namespace names but the cluster does not have (a PVC's StorageClass that was
   * deleted): there is nothing to store, so they are recorded, not failures.
   */
  absent: { what: string; reason: string }[];
  /** Resource types left out by configuration (NSBACKUP_EXPORT_EXCLUDE). */
  excludedTypes: string[];
}

/** Groups served by Kubernetes itself: their types have no CRD to export. */
const BUILT_IN_GROUPS = new Set([
  '',
  'apps',
  'batch',
  'autoscaling',
  'policy',
  'networking.k8s.io',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'discovery.k8s.io',
  'coordination.k8s.io',
  'events.k8s.io',
  'scheduling.k8s.io',
  'node.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'certificates.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'resource.k8s.io',
  'internal.apiserver.k8s.io',
  'storagemigration.k8s.io',
  'metrics.k8s.io',
]);

/** Excluded-object counts are grouped by the reason's wording without the object's own name. */
function reasonKey(reason: string): string {
  return reason.replace(/ [A-Za-z]+\/[^ ]+$/, '').replace(/ of Service \S+,/, ' of a Service,');
}

/**
 * The Namespace object, or `forbidden` when we may not read it (a Role without namespaces get: the lists below
 * still tell what is there). A namespace that does not exist is an error.
 */
async function readNamespace(
  kube: Pick<KubeClient, 'getIfExists'>,
  namespace: string,
): Promise<{ object: KubeObject } | { forbidden: string }> {
  let found: KubeObject | undefined;
  try {
    found = await kube.getIfExists<KubeObject>(`/api/v1/namespaces/${encodeURIComponent(namespace)}`);
  } catch (error) {
    if (error instanceof KubeApiError && error.code === 403)
      return { forbidden: `forbidden: ${error.message}` };
    throw error;
  }
  if (!found) throw new Error(`namespace "${namespace}" not found`);
  return { object: found };
}

/** Why a list (or get) is skipped rather than failing the export, or null to fail. */
function skippable(error: unknown): string | null {
  if (!(error instanceof KubeApiError)) return null;
  if (error.code === 403) return `forbidden: ${error.message}`;
  if (error.code === 404) return 'not served any more';
  if (error.code === 405) return 'list not allowed';
  return null;
}

export interface ListedPage {
  info: ResourceInfo;
  items: KubeObject[];
  resourceVersion?: string;
  skipped?: string;
}

/** How often a list whose continue token expired (410) is started again before the export fails. */
const MAX_LIST_RESTARTS = 3;

/**
 * The pages of one resource type. A continue token can expire (410 Gone, after etcd compaction, e.g. when a
 * long list waits behind a slow upload): the list then starts again and skips the objects already handed out,
 * so nothing is yielded twice. Objects changed in between are read as they are now.
 */
export async function* pagesOf(
  kube: Pick<KubeClient, 'listPages'>,
  info: ResourceInfo,
  namespace: string,
  pageSize: number,
  signal?: AbortSignal,
): AsyncGenerator<ListedPage> {
  const apiVersion = groupVersionOf(info);
  const yielded = new Set<string>();
  for (let restarts = 0; ; restarts++) {
    try {
      for await (const page of kube.listPages<KubeObject>(apiPathOf(info, namespace), {}, pageSize)) {
        signal?.throwIfAborted();
        // Typed lists leave apiVersion and kind out of their items.
        const items: KubeObject[] = [];
        for (const item of page.items) {
          if (restarts > 0 && yielded.has(item.metadata.name ?? '')) continue;
          yielded.add(item.metadata.name ?? '');
          items.push({ ...item, apiVersion, kind: info.kind });
        }
        yield { info, items, resourceVersion: (page as KubeList).metadata?.resourceVersion };
      }
      return;
    } catch (error) {
      if (error instanceof KubeApiError && error.code === 410 && restarts < MAX_LIST_RESTARTS) continue;
      const reason = skippable(error);
      if (!reason) throw error;
      yield { info, items: [], skipped: reason };
      return;
    }
  }
}

/**
 * Yields the canonical objects of the namespace with their API paths; `stats` fills in as it goes and is
 * complete when the generator ends.
 */
export function collectNamespace(options: CollectOptions): {
  objects: AsyncGenerator<PathedObject>;
  stats: CollectStats;
} {
  const stats: CollectStats = {
    listResourceVersions: {},
    listed: 0,
    excluded: {},
    skipped: [],
    absent: [],
    excludedTypes: [],
  };
  return { objects: generate(options, stats), stats };
}

async function* generate(options: CollectOptions, stats: CollectStats): AsyncGenerator<PathedObject> {
  const { kube, namespace, signal } = options;
  const excluded = new Set(options.exclude ?? []);
  const typeName = (r: ResourceInfo) => (r.group ? `${r.resource}.${r.group}` : r.resource);
  const resources = namespacedExportResources(options.resources).filter((r) => {
    if (!excluded.has(typeName(r))) return true;
    stats.excludedTypes.push(typeName(r));
    return false;
  });
  stats.skipped.push(...discoveryGaps({ unavailable: options.discoveryGaps ?? [] }));
  // Lists in a namespace that does not exist answer empty: without this, a typo would be an empty backup.
  const namespaceObject = await readNamespace(kube, namespace);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const pageSize = options.pageSize ?? 500;
  const context: ExclusionContext = { servicesWithSelector: new Set(), tokenSecrets: new Set() };
  const volumes = new Set<string>();
  const storageClasses = new Set<string>();
  const customResources = new Set<string>();

  const window: AsyncIterable<ListedPage>[] = [];
  let next = 0;
  const startNext = () => {
    if (next >= resources.length) return;
    const info = resources[next++];
    window.push(prefetch(pagesOf(kube, info, namespace, pageSize, signal), options.pagesAhead ?? 2));
  };
  for (let i = 0; i < concurrency; i++) startNext();

  // The head is being written while the others list ahead: `concurrency` lists in flight, the head included.
  while (window.length) {
    const head = window[0];
    for await (const page of head) {
      signal?.throwIfAborted();
      const { info } = page;
      const kindKey = kindKeyOf({ apiVersion: groupVersionOf(info), kind: info.kind });
      if (page.skipped) {
        stats.skipped.push({
          what: `${info.resource}${info.group ? `.${info.group}` : ''}`,
          reason: page.skipped,
        });
        continue;
      }
      if (page.resourceVersion && !(kindKey in stats.listResourceVersions)) {
        stats.listResourceVersions[kindKey] = page.resourceVersion;
      }
      for (const item of page.items) {
        stats.listed++;
        // Services and Secrets come first in the resource order: Services' selectors decide which Endpoints are
        // kept, the token Secrets left out which entries of ServiceAccounts' `secrets` are dropped.
        if (info.group === '' && (info.resource === 'services' || info.resource === 'secrets')) {
          const found = exclusionContextOf([item]);
          for (const service of found.servicesWithSelector) context.servicesWithSelector.add(service);
          for (const secret of found.tokenSecrets ?? []) context.tokenSecrets!.add(secret);
        }
        const reason = regeneratedReason(item, context);
        if (reason) {
          const key = reasonKey(reason);
          stats.excluded[key] = (stats.excluded[key] ?? 0) + 1;
          continue;
        }
        const object = canonicalize(withoutTokenSecretRefs(item, context));
        if (info.group === '' && info.resource === 'persistentvolumeclaims') {
          const spec = (object.spec ?? {}) as { volumeName?: string; storageClassName?: string };
          if (spec.volumeName) volumes.add(spec.volumeName);
          if (spec.storageClassName) storageClasses.add(spec.storageClassName);
        }
        if (!BUILT_IN_GROUPS.has(info.group)) customResources.add(`${info.resource}.${info.group}`);
        yield { path: apiPathOf(info, namespace, object.metadata.name), object };
      }
    }
    window.shift();
    startNext();
  }

  // The namespace itself: restored first, under the mapped name, with its labels and annotations.
  if (excluded.has('namespaces')) {
    stats.excludedTypes.push('namespaces');
  } else if ('forbidden' in namespaceObject) {
    stats.skipped.push({ what: `Namespace ${namespace}`, reason: namespaceObject.forbidden });
  } else {
    stats.listed++;
    yield {
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}`,
      object: canonicalize({ ...namespaceObject.object, apiVersion: 'v1', kind: 'Namespace' }),
    };
  }

  if (options.clusterDependencies === false) return;
  const dependencies = dependencyTargets({ customResources, storageClasses, volumes });
  for (const dependency of dependencies) {
    signal?.throwIfAborted();
    let found: KubeObject | undefined;
    try {
      found = await kube.getIfExists<KubeObject>(dependency.path);
    } catch (error) {
      const reason = skippable(error);
      if (!reason) throw error;
      stats.skipped.push({ what: dependency.what, reason });
      continue;
    }
    // A built-in group we do not know (a newer Kubernetes) has no CRD: nothing to add, nothing to report.
    if (!found) {
      if (!dependency.what.startsWith('CustomResourceDefinition'))
        stats.absent.push({ what: dependency.what, reason: 'not found in the cluster' });
      continue;
    }
    stats.listed++;
    yield { path: dependency.path, object: canonicalize(found) };
  }
}

/**
 * The cluster-scoped objects a namespace depends on, by API path: the CRD of each custom resource type
 * (`<plural>.<group>`), the StorageClasses its PVCs name, the PVs they are bound to. CRDs first: a restore
 * creates them before anything else.
 */
export function dependencyTargets(uses: {
  customResources: Iterable<string>;
  storageClasses: Iterable<string>;
  volumes: Iterable<string>;
}): { path: string; what: string }[] {
  const each = (names: Iterable<string>, what: string, collection: string) =>
    [...names]
      .sort()
      .map((name) => ({ path: `${collection}/${encodeURIComponent(name)}`, what: `${what} ${name}` }));
  return [
    ...each(
      uses.customResources,
      'CustomResourceDefinition',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    ),
    ...each(uses.storageClasses, 'StorageClass', '/apis/storage.k8s.io/v1/storageclasses'),
    ...each(uses.volumes, 'PersistentVolume', '/api/v1/persistentvolumes'),
  ];
}

/** One warning for everything an export could not read, one for dependencies the cluster does not have. */
export function warnSkipped(stats: CollectStats, log: Logger): void {
  if (stats.skipped.length) {
    log.warn('not exported (could not be read); the backup holds everything else', {
      skipped: stats.skipped.map((s) => `${s.what}: ${s.reason}`),
    });
  }
  if (stats.absent.length) {
    log.warn('dependencies the namespace names do not exist in the cluster; nothing to store for them', {
      absent: stats.absent.map((s) => s.what),
    });
  }
}
