// What the kubelet would hand a Job's container, computed locally: its args, and its environment with every
// valueFrom resolved (the downward API against the pod, secretKeyRef / configMapKeyRef against the cluster), and
// its volume mounts mapped to local folders (a path in the environment that points into a mount is rewritten).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../cluster/index.js';
import type { Container, EnvVar } from './rendered.js';

export interface LocalContainer {
  args: string[];
  env: Record<string, string>;
}

export function podForJob(job: any, podName: string): any {
  const template = job.spec.template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      namespace: job.metadata.namespace,
      labels: { ...template.metadata?.labels, 'batch.kubernetes.io/job-name': job.metadata.name },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: job.metadata.name,
          uid: job.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: structuredClone(template.spec),
  };
}

function fieldOf(pod: any, fieldPath: string): string {
  const simple: Record<string, string | undefined> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.serviceAccountName': pod.spec.serviceAccountName,
    'spec.nodeName': pod.spec.nodeName,
  };
  const label = /^metadata\.labels\['(.+)'\]$/.exec(fieldPath);
  if (label) return pod.metadata.labels?.[label[1]] ?? '';
  if (!(fieldPath in simple)) throw new Error(`fieldRef ${fieldPath} is not supported by this test`);
  return simple[fieldPath] ?? '';
}

function resolveOne(cluster: Cluster, pod: any, e: EnvVar): string | undefined {
  if (e.value !== undefined) return e.value;
  const from = e.valueFrom;
  if (!from) return '';
  if (from.fieldRef) return fieldOf(pod, from.fieldRef.fieldPath);
  const ns = pod.metadata.namespace;
  if (from.secretKeyRef) {
    const { name, key, optional } = from.secretKeyRef;
    const secret = cluster.get('v1', 'Secret', ns, name);
    const raw = secret?.data?.[key];
    if (raw === undefined) {
      if (optional) return undefined;
      throw new Error(
        `${e.name}: Secret ${ns}/${name} has no key ${key} (the kubelet would not start the pod)`,
      );
    }
    return Buffer.from(raw, 'base64').toString('utf8');
  }
  if (from.configMapKeyRef) {
    const { name, key, optional } = from.configMapKeyRef;
    const value = cluster.get('v1', 'ConfigMap', ns, name)?.data?.[key];
    if (value === undefined && !optional)
      throw new Error(`${e.name}: ConfigMap ${ns}/${name} has no key ${key}`);
    return value;
  }
  throw new Error(`${e.name}: unsupported valueFrom ${JSON.stringify(from)}`);
}

/**
 * The container `name` of `pod` as it would run, with its mounts under `mountRoot`: a hostPath becomes an empty
 * folder, a ConfigMap volume its files; an emptyDir is left to the local file system.
 */
export function localContainer(cluster: Cluster, pod: any, name: string, mountRoot: string): LocalContainer {
  const containers: Container[] = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const c = containers.find((x) => x.name === name);
  if (!c) throw new Error(`pod ${pod.metadata.name} has no container ${name}`);
  const mounts = new Map<string, string>();
  for (const m of c.volumeMounts ?? []) {
    const volume = pod.spec.volumes.find((v: any) => v.name === m.name);
    // Scratch space (/tmp) is the local /tmp: a path under it may name something else, such as a folder in
    // the database container (NSBACKUP_DUMP_DIR), and must not be rewritten.
    if (volume?.emptyDir) continue;
    const local = join(mountRoot, name, m.name);
    mkdirSync(local, { recursive: true });
    if (volume?.configMap) {
      const cm = cluster.get('v1', 'ConfigMap', pod.metadata.namespace, volume.configMap.name);
      if (!cm) throw new Error(`ConfigMap ${volume.configMap.name} is missing`);
      for (const [file, text] of Object.entries<string>(cm.data ?? {}))
        writeFileSync(join(local, file), text);
    }
    mounts.set(m.mountPath, local);
  }
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    let value = resolveOne(cluster, pod, e);
    if (value === undefined) continue;
    for (const [mountPath, local] of mounts) {
      if (value === mountPath || value.startsWith(mountPath + '/'))
        value = local + value.slice(mountPath.length);
    }
    env[e.name] = value;
  }
  return { args: [...(c.command ?? []), ...(c.args ?? [])], env };
}
