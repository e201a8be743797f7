// Checks before anything is written: the namespace exists and each PVC exists and is Bound.
// (The exec target is checked by resolveTarget.) Every failure names the object and what is wrong.

import { JobError } from '../exit.js';
import { corePath } from '../kube/index.js';
import type { KubeClient, KubeObject } from '../kube/index.js';

export async function checkNamespace(kube: KubeClient, namespace: string): Promise<void> {
  const ns = await kube.getIfExists(corePath('namespaces', undefined, namespace));
  if (!ns) throw new JobError(`namespace ${namespace} not found`);
  if (ns.status?.phase === 'Terminating') throw new JobError(`namespace ${namespace} is being deleted`);
}

export async function checkPvcs(kube: KubeClient, namespace: string, pvcs: string[]): Promise<void> {
  const problems: string[] = [];
  for (const name of pvcs) {
    const pvc = await kube.getIfExists(corePath('persistentvolumeclaims', namespace, name));
    if (!pvc) problems.push(`PVC ${namespace}/${name} not found`);
    else if (pvc.status?.phase !== 'Bound') {
      problems.push(`PVC ${namespace}/${name} is ${pvc.status?.phase ?? 'in no phase'}, not Bound`);
    }
  }
  if (problems.length) throw new JobError(problems.join('; '));
}

/**
 * The PVCs to snapshot that no pod of the namespace mounts (finished pods aside). Not an error (a scaled-down
 * application mounts nothing), but after `restore-pvc --replace-in` the application runs on a new claim while the
 * backup would go on snapshotting the abandoned one: said in a warning each night until the settings follow.
 */
export function unmountedPvcs(pods: readonly KubeObject[], pvcs: readonly string[]): string[] {
  const mounted = new Set<string>();
  for (const pod of pods) {
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    for (const volume of pod.spec?.volumes ?? []) {
      if (volume.persistentVolumeClaim?.claimName) mounted.add(volume.persistentVolumeClaim.claimName);
    }
  }
  return pvcs.filter((pvc) => !mounted.has(pvc));
}
