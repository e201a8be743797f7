// Legacy (unaggregated) discovery documents, built from the current resource table.
import { groupVersion, subresourceInfo, type ResourceDef, type ResourceTable } from './resources.js';

export function versionInfo(): any {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-nsbackup-emulator',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-12-11T00:00:00Z',
    goVersion: 'go1.23.4',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function apiVersions(serverAddress: string): any {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(table: ResourceTable): any {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: table.groupVersions().map(({ group, versions }) => apiGroup(group, versions)),
  };
}

export function apiGroup(group: string, versions: string[]): any {
  const list = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: list, preferredVersion: list[0] };
}

function entry(r: ResourceDef): any {
  return {
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
  };
}

/** The APIResourceList of one group/version, or undefined when nothing is served there. */
export function apiResourceList(table: ResourceTable, group: string, version: string): any | undefined {
  const defs = table.all().filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  const resources: any[] = [];
  for (const d of defs) {
    resources.push(entry(d));
    for (const sub of d.subresources) {
      const info = subresourceInfo(d, sub);
      resources.push({
        name: `${d.plural}/${sub}`,
        singularName: '',
        namespaced: d.namespaced,
        ...(info.group ? { group: info.group, version: info.version } : {}),
        kind: info.kind,
        verbs: info.verbs,
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion({ group, version }),
    resources,
  };
}
