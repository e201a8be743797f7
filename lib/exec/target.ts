// The exec target: a workload reference (`deployment/NAME`, `statefulset/NAME`, `pod/NAME`) resolved to one
// Running and Ready pod that has the wanted container. Decisions are pure; `resolveTarget` does the reads.

import { JobError } from '../exit.js';
import { corePath, groupPath } from '../kube/index.js';
import type { KubeClient, KubeObject } from '../kube/index.js';

export type TargetKind = 'deployment' | 'statefulset' | 'pod';

export interface TargetRef {
  kind: TargetKind;
  name: string;
}

/** The pod and container a command runs in. */
export interface PodTarget {
  namespace: string;
  pod: string;
  container: string;
  /** How it was found, for messages: `deployment/db`. */
  ref: string;
}

const KINDS: Record<string, TargetKind> = {
  deployment: 'deployment',
  deploy: 'deployment',
  statefulset: 'statefulset',
  sts: 'statefulset',
  pod: 'pod',
  po: 'pod',
};

/** What `parseTarget` accepts, for settings and hook files to refuse anything else at load. */
export const TARGET_PATTERN = /^(deployment|deploy|statefulset|sts|pod|po)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function parseTarget(text: string): TargetRef {
  const [kind, name, ...rest] = text.split('/');
  if (!KINDS[kind] || !name || rest.length) {
    throw new Error(`"${text}" is not deployment/NAME, statefulset/NAME or pod/NAME`);
  }
  return { kind: KINDS[kind], name };
}

export const formatTarget = (t: TargetRef): string => `${t.kind}/${t.name}`;

/** `spec.selector` (matchLabels + matchExpressions) as a label selector query string. */
export function selectorString(selector: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') parts.push(`${e.key} in ${values}`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin ${values}`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else throw new Error(`unknown selector operator ${e.operator}`);
  }
  return parts.join(',');
}

/** Why this pod cannot run the command, or undefined when it can. */
export function podProblem(pod: KubeObject, container: string | undefined): string | undefined {
  const name = pod.metadata.name;
  if (pod.metadata.deletionTimestamp) return `pod ${name} is being deleted`;
  const phase = pod.status?.phase ?? 'Unknown';
  if (phase !== 'Running') return `pod ${name} is ${phase}, not Running`;
  const ready = (pod.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  if (ready?.status !== 'True') return `pod ${name} is Running but not Ready`;
  const names: string[] = (pod.spec?.containers ?? []).map((c: any) => c.name);
  const chosen = container || (names.length === 1 ? names[0] : undefined);
  if (!chosen) return `pod ${name} has several containers (${names.join(', ')}): name one`;
  if (!names.includes(chosen))
    return `pod ${name} has no container "${chosen}" (containers: ${names.join(', ')})`;
  const status = (pod.status?.containerStatuses ?? []).find((s: any) => s.name === chosen);
  if (status && status.ready === false) return `container ${chosen} in pod ${name} is not ready`;
  return undefined;
}

/** The container a command runs in: the named one, else the pod's only container. */
export function containerOf(pod: KubeObject, container: string | undefined): string {
  return container || pod.spec.containers[0].name;
}

/**
 * Picks the pod to exec into among a workload's pods: the first usable one by name (deterministic), or
 * an error that lists why each pod was refused.
 */
export function choosePod(
  ref: string,
  pods: KubeObject[],
  container: string | undefined,
): { pod: KubeObject } | { error: string } {
  if (pods.length === 0) return { error: `${ref} has no pods` };
  const sorted = [...pods].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const problems: string[] = [];
  for (const pod of sorted) {
    const problem = podProblem(pod, container);
    if (!problem) return { pod };
    problems.push(problem);
  }
  return { error: `no pod of ${ref} can run the command: ${problems.join('; ')}` };
}

/** Reads the workload and its pods; throws a JobError naming what is missing or not ready. */
export async function resolveTarget(
  kube: KubeClient,
  namespace: string,
  targetText: string,
  container: string | undefined,
): Promise<PodTarget> {
  const target = parseTarget(targetText);
  const ref = formatTarget(target);
  let pods: KubeObject[];
  if (target.kind === 'pod') {
    const pod = await kube.getIfExists(corePath('pods', namespace, target.name));
    if (!pod) throw new JobError(`${ref} not found in namespace ${namespace}`);
    pods = [pod];
  } else {
    const plural = target.kind === 'deployment' ? 'deployments' : 'statefulsets';
    const workload = await kube.getIfExists(groupPath('apps', 'v1', plural, namespace, target.name));
    if (!workload) throw new JobError(`${ref} not found in namespace ${namespace}`);
    const selector = selectorString(workload.spec?.selector ?? {});
    if (!selector) throw new JobError(`${ref} has an empty pod selector`);
    pods = await kube.listAll(corePath('pods', namespace), { labelSelector: selector });
  }
  const chosen = choosePod(ref, pods, container);
  if ('error' in chosen) throw new JobError(chosen.error);
  return { namespace, pod: chosen.pod.metadata.name, container: containerOf(chosen.pod, container), ref };
}
