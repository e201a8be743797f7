// Looking into rendered chart objects: find them, walk their pod templates, flatten their RBAC rules.

import type { RenderedObject } from '../kit/index.js';

/** The chart's CI values files (charts/nsbackup/ci/<name>-values.yaml, where chart-testing looks for them). */
export const VALUES_DIR = new URL('../../charts/nsbackup/ci/', import.meta.url).pathname;
export const valuesFile = (name: string) => `${VALUES_DIR}${name}-values.yaml`;

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

/** What RBAC sees of a request: the API server's RequestInfo, reduced to what Role rules match on. */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

/** RequestInfo of a resource path; undefined for discovery and other non-resource paths (open to everyone). */
export function requestAttributes(verb: string, path: string): RequestAttributes | undefined {
  const parts = path.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts.length > 2) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length > 3) {
    group = parts[1];
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 2) {
    namespace = rest[1];
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    namespace = rest[1]; // GET /api/v1/namespaces/X is authorised in X
  }
  const [resource, name, sub] = rest;
  return { verb, group, resource: sub ? `${resource}/${sub}` : resource, namespace, name };
}

/** Whether one of the roles (Role: in its namespace only; ClusterRole: everywhere) allows the request. */
export function allowedBy(attrs: RequestAttributes, roles: RenderedObject[]): boolean {
  // Exec over WebSocket is authorised as get before Kubernetes 1.35 and as create from 1.35 on: both must hold.
  if (attrs.verb === 'exec') return ['get', 'create'].every((verb) => allowedBy({ ...attrs, verb }, roles));
  return roles.some((role) => {
    if (role.kind === 'Role' && role.metadata.namespace !== attrs.namespace) return false;
    return (role.rules ?? []).some(
      (rule: any) =>
        rule.apiGroups.includes(attrs.group) &&
        rule.resources.includes(attrs.resource) &&
        rule.verbs.includes(attrs.verb) &&
        (!rule.resourceNames || (attrs.name !== undefined && rule.resourceNames.includes(attrs.name))),
    );
  });
}
