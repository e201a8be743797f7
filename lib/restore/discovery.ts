// API paths of objects read from an export folder (which carry kind and namespace, not their resource plural):
// from the target cluster's discovery, else from a CRD in the same folder, else the usual plural guess.

import type { KubeClient } from '../kube/index.js';
import {
  apiPathOf,
  guessApiPathOf,
  isJsonMap,
  parseApiVersion,
  ResourceIndex,
  type KubeObject,
  type ResourceInfo,
} from '../resources/index.js';

interface DiscoveryList {
  resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
}

/** The resource a CRD in the backup declares for `apiVersion`/`kind`, if any. */
export function resourceFromCrds(
  crds: KubeObject[],
  apiVersion: string,
  kind: string,
): ResourceInfo | undefined {
  const { group, version } = parseApiVersion(apiVersion);
  for (const crd of crds) {
    const spec = isJsonMap(crd.spec) ? crd.spec : undefined;
    const names = spec && isJsonMap(spec.names) ? spec.names : undefined;
    if (!spec || !names || spec.group !== group || names.kind !== kind) continue;
    const versions = Array.isArray(spec.versions) ? spec.versions : [];
    if (!versions.some((v) => isJsonMap(v) && v.name === version)) continue;
    return {
      group,
      version,
      resource: String(names.plural),
      kind,
      namespaced: spec.scope !== 'Cluster',
      verbs: [],
    };
  }
  return undefined;
}

/** Resolves API paths with one discovery request per group/version (cached). */
export function discoveryPathResolver(
  kube: KubeClient,
  warn: (message: string) => void,
): (obj: KubeObject, all: KubeObject[]) => Promise<string> {
  const indexes = new Map<string, Promise<ResourceIndex | undefined>>();
  const indexFor = (apiVersion: string) => {
    let index = indexes.get(apiVersion);
    if (!index) {
      const { group, version } = parseApiVersion(apiVersion);
      const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
      index = kube.getIfExists<DiscoveryList>(path).then((list) =>
        list
          ? new ResourceIndex(
              (list.resources ?? []).map((r) => ({
                group,
                version,
                resource: r.name,
                kind: r.kind,
                namespaced: r.namespaced,
                verbs: r.verbs ?? [],
              })),
            )
          : undefined,
      );
      indexes.set(apiVersion, index);
    }
    return index;
  };
  const guessed = new Set<string>();
  return async (obj, all) => {
    const info =
      (await indexFor(obj.apiVersion))?.lookup(obj.apiVersion, obj.kind) ??
      resourceFromCrds(
        all.filter((o) => o.kind === 'CustomResourceDefinition'),
        obj.apiVersion,
        obj.kind,
      );
    if (info) return apiPathOf(info, info.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name);
    const key = `${obj.kind} (${obj.apiVersion})`;
    if (!guessed.has(key)) {
      guessed.add(key);
      warn(`the target cluster does not serve ${key}; its resource name is guessed`);
    }
    return guessApiPathOf(obj);
  };
}
