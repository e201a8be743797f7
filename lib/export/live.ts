// The live side of `nsbackup diff`: the namespace as an export would see it now, and the helpers that make a
// backup comparable with it (paths from discovery, Secret values hidden).

import { createHash } from 'node:crypto';
import type { KubeClient } from '../kube/index.js';
import { KubeApiError } from '../kube/index.js';
import {
  LAST_APPLIED_ANNOTATION,
  ResourceIndex,
  canonicalize,
  guessApiPathOf,
  isJsonMap,
  parseApiPath,
  type KubeObject,
  type PathOf,
  type PathedObject,
  type ResourceInfo,
} from '../resources/index.js';
import { collectNamespace } from './collect.js';

export interface LiveInput {
  kube: KubeClient;
  namespace: string;
  resources: ResourceInfo[];
  concurrency?: number;
  clusterDependencies?: boolean;
  /** Resource types left out on purpose (`plural` or `plural.group`). */
  exclude?: string[];
  /** Cluster-scoped paths the backup holds: read live too, so that they are compared, not reported removed. */
  clusterPaths?: string[];
  signal?: AbortSignal;
  /** Filled with the resource types that could not be read (`plural.group`: forbidden or gone), when given. */
  unreadable?: string[];
}

/** The namespace's objects as an export would write them now. */
export async function liveObjects(input: LiveInput): Promise<PathedObject[]> {
  const { objects, stats } = collectNamespace({
    kube: input.kube,
    namespace: input.namespace,
    resources: input.resources,
    concurrency: input.concurrency,
    clusterDependencies: input.clusterDependencies,
    exclude: input.exclude,
    signal: input.signal,
  });
  const out: PathedObject[] = [];
  const seen = new Set<string>();
  for await (const item of objects) {
    out.push(item);
    seen.add(item.path);
  }
  input.unreadable?.push(...stats.skipped.map((s) => s.what));
  for (const path of input.clusterPaths ?? []) {
    if (seen.has(path)) continue;
    try {
      const found = await input.kube.getIfExists<KubeObject>(path);
      if (found) out.push({ path, object: canonicalize(found) });
    } catch (error) {
      // Not allowed to read it: leave it out of the comparison rather than call it removed.
      if (!(error instanceof KubeApiError && error.code === 403)) throw error;
    }
  }
  return out;
}

/** True for the path of a cluster-scoped object. */
export function isClusterScopedPath(path: string): boolean {
  try {
    return parseApiPath(path).namespace === undefined;
  } catch {
    return false;
  }
}

/** API paths from discovery (a CRD's plural is its own), guessed for types the cluster no longer serves. */
export function pathOfFromDiscovery(resources: ResourceInfo[]): PathOf {
  const index = new ResourceIndex(resources);
  return (obj) => (index.lookup(obj.apiVersion, obj.kind) ? index.pathOf(obj) : guessApiPathOf(obj));
}

const FINGERPRINT = /^sha256:[0-9a-f]{12}$/;

/** A value's fingerprint; a fingerprint stays itself (a masked export folder compares equal to the live side). */
const fingerprint = (value: unknown): string =>
  typeof value === 'string' && FINGERPRINT.test(value)
    ? value
    : `sha256:${createHash('sha256')
        .update(typeof value === 'string' ? value : JSON.stringify(value))
        .digest('hex')
        .slice(0, 12)}`;

/**
 * A Secret with its values replaced by short fingerprints (`sha256:0123abcd...`), so that a diff shows which
 * keys changed without printing a secret. The last-applied annotation of a Secret holds its data too.
 */
export function maskSecretValues(obj: KubeObject): KubeObject {
  if (obj.kind !== 'Secret' || obj.apiVersion !== 'v1') return obj;
  const masked: KubeObject = { ...obj, metadata: { ...obj.metadata } };
  for (const field of ['data', 'stringData']) {
    const values = obj[field];
    if (!isJsonMap(values)) continue;
    masked[field] = Object.fromEntries(
      Object.entries(values).map(([key, value]) => [key, fingerprint(value)]),
    );
  }
  const annotations = obj.metadata.annotations;
  if (annotations?.[LAST_APPLIED_ANNOTATION]) {
    masked.metadata.annotations = {
      ...annotations,
      [LAST_APPLIED_ANNOTATION]: fingerprint(annotations[LAST_APPLIED_ANNOTATION]),
    };
  }
  return masked;
}
