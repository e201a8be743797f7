// Looking into rendered chart objects: find them, walk their pod templates, flatten their RBAC rules.

import type { RenderedObject } from '../helpers/helm.js';

export const VALUES_DIR = new URL('./values/', import.meta.url).pathname;
export const valuesFile = (name: string) => `${VALUES_DIR}${name}.yaml`;

export function find(objects: RenderedObject[], kind: string, name: string): RenderedObject {
  const hit = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!hit) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} among: ${have}`);
  }
  return hit;
}

export function ofKind(objects: RenderedObject[], kind: string): RenderedObject[] {
  return objects.filter((o) => o.kind === kind);
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  securityContext?: Record<string, any>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  resources?: Record<string, any>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export function podSpecOf(cronJob: RenderedObject): Record<string, any> {
  return cronJob.spec.jobTemplate.spec.template.spec;
}

export function containersOf(podSpec: Record<string, any>): Container[] {
  return [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
}

export function container(podSpec: Record<string, any>, name: string): Container {
  const hit = containersOf(podSpec).find((c) => c.name === name);
  if (!hit) throw new Error(`no container ${name}`);
  return hit;
}

export function envOf(c: Container): Map<string, EnvVar> {
  const map = new Map<string, EnvVar>();
  for (const e of c.env ?? []) {
    if (map.has(e.name)) throw new Error(`container ${c.name}: ${e.name} set twice`);
    map.set(e.name, e);
  }
  return map;
}

/** One granted permission: `subject|apiGroup|resource|verb`, with `(name)` when limited by resourceNames. */
export function grants(role: RenderedObject): string[] {
  const out: string[] = [];
  for (const rule of role.rules ?? []) {
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? [])
        for (const verb of rule.verbs ?? []) {
          const names = rule.resourceNames ? `(${[...rule.resourceNames].sort().join(',')})` : '';
          out.push(`${group || 'core'}|${resource}${names}|${verb}`);
        }
  }
  return out.sort();
}
