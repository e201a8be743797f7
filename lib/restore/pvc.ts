// `nsbackup restore-pvc <snapshot> --as <pvc>`: a new claim whose volume starts as the snapshot's content, and
// optionally a scaled-down workload switched over to it. The decisions are pure functions; restorePvc does I/O.

import { JobError } from '../exit.js';
import { corePath, groupPath, volumeSnapshotPath, type KubeClient } from '../kube/index.js';
import { Labels } from '../labels.js';
import type { Logger } from '../log.js';
import {
  isJsonMap,
  parseQuantity,
  withSnapshotSource,
  type JsonMap,
  type KubeObject,
} from '../resources/index.js';

/** The PVC the snapshot was taken of: `spec.source.persistentVolumeClaimName`, else the `nsbackup.io/pvc` label. */
export function sourcePvcNameOf(vs: KubeObject): string | undefined {
  const spec = isJsonMap(vs.spec) ? vs.spec : {};
  const source = isJsonMap(spec.source) ? spec.source : {};
  const name = source.persistentVolumeClaimName ?? vs.metadata.labels?.[Labels.pvc];
  return typeof name === 'string' && name ? name : undefined;
}

/**
 * The new claim: access modes, volume mode and storage class of the source claim when it is known (the flag
 * overrides the class), size the larger of the snapshot's `restoreSize` and the source claim's request, and the
 * snapshot as dataSource. Labelled `nsbackup.io/restored-from=<backup id, else snapshot name>`.
 */
export function pvcFromSnapshot(
  vs: KubeObject,
  sourcePvc: KubeObject | undefined,
  options: { name: string; namespace: string; storageClass?: string },
): KubeObject {
  const sourceSpec = sourcePvc && isJsonMap(sourcePvc.spec) ? sourcePvc.spec : {};
  const requests =
    isJsonMap(sourceSpec.resources) && isJsonMap(sourceSpec.resources.requests)
      ? sourceSpec.resources.requests
      : {};
  const restoreSize =
    isJsonMap(vs.status) && typeof vs.status.restoreSize === 'string' ? vs.status.restoreSize : undefined;
  const requested = typeof requests.storage === 'string' ? requests.storage : undefined;
  if (!restoreSize && !requested) {
    throw new JobError(
      `snapshot ${vs.metadata.name} has no restoreSize yet and its source claim is unknown: size unknown`,
    );
  }
  const storageClass =
    options.storageClass ||
    (typeof sourceSpec.storageClassName === 'string' ? sourceSpec.storageClassName : undefined);
  const spec: JsonMap = {
    accessModes: Array.isArray(sourceSpec.accessModes) ? sourceSpec.accessModes : ['ReadWriteOnce'],
    resources: { requests: { storage: requested ?? restoreSize } },
    ...(storageClass ? { storageClassName: storageClass } : {}),
    ...(typeof sourceSpec.volumeMode === 'string' ? { volumeMode: sourceSpec.volumeMode } : {}),
  };
  const base: KubeObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: { [Labels.restoredFrom]: vs.metadata.labels?.[Labels.backup] ?? vs.metadata.name! },
    },
    spec,
  };
  return withSnapshotSource(base, vs.metadata.name!, { restoreSize });
}

export interface WorkloadRef {
  kind: 'deployment' | 'statefulset';
  name: string;
}

export function parseWorkloadRef(text: string): WorkloadRef {
  const match = /^(deployment|deploy|statefulset|sts)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(text);
  if (!match) throw new Error(`"${text}" is not deployment/NAME or statefulset/NAME`);
  return { kind: match[1].startsWith('d') ? 'deployment' : 'statefulset', name: match[2] };
}

export const workloadPath = (ref: WorkloadRef, namespace: string) =>
  groupPath('apps', 'v1', ref.kind === 'deployment' ? 'deployments' : 'statefulsets', namespace, ref.name);

/**
 * The workload's pod volumes with `oldClaim` replaced by `newClaim`, or why that cannot be done: the workload must
 * be scaled to 0 (a running pod keeps the old volume mounted, and two pods on one RWO volume break), and the claim
 * must be a pod volume (a StatefulSet's volumeClaimTemplates are immutable).
 */
export function replacedVolumes(
  workload: KubeObject,
  oldClaim: string,
  newClaim: string,
): { volumes: unknown[] } | { problem: string } {
  const spec = isJsonMap(workload.spec) ? workload.spec : {};
  const ref = `${workload.kind.toLowerCase()}/${workload.metadata.name}`;
  const replicas = spec.replicas ?? 1;
  if (replicas !== 0) {
    return {
      problem: `${ref} has ${String(replicas)} replicas; scale it to 0 first (kubectl scale ${ref} --replicas=0)`,
    };
  }
  const template = isJsonMap(spec.template) ? spec.template : {};
  const podSpec = isJsonMap(template.spec) ? template.spec : {};
  const volumes = Array.isArray(podSpec.volumes) ? podSpec.volumes : [];
  let found = false;
  const replaced = volumes.map((volume) => {
    if (!isJsonMap(volume) || !isJsonMap(volume.persistentVolumeClaim)) return volume;
    if (volume.persistentVolumeClaim.claimName !== oldClaim) return volume;
    found = true;
    return { ...volume, persistentVolumeClaim: { ...volume.persistentVolumeClaim, claimName: newClaim } };
  });
  if (!found) {
    const templates = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : [];
    const hint = templates.length
      ? `; claims of volumeClaimTemplates cannot be switched: delete ${oldClaim} and restore the snapshot --as ${oldClaim} instead`
      : '';
    return { problem: `${ref} has no pod volume using claim ${oldClaim}${hint}` };
  }
  return { volumes: replaced };
}

export interface RestorePvcInput {
  kube: KubeClient;
  log: Logger;
  namespace: string;
  snapshot: string;
  as: string;
  storageClass?: string;
  /** `deployment/NAME` or `statefulset/NAME`. */
  replaceIn?: string;
  /** The claim to replace in the workload (default: the snapshot's source claim). */
  claim?: string;
  dryRun?: boolean;
}

export interface RestorePvcResult {
  pvc: KubeObject;
  created: boolean;
  workload?: string;
}

export async function restorePvc(input: RestorePvcInput): Promise<RestorePvcResult> {
  const { kube, log, namespace } = input;
  const query = input.dryRun ? { dryRun: 'All' } : undefined;
  const vs = await kube.getIfExists<KubeObject>(volumeSnapshotPath(namespace, input.snapshot));
  if (!vs) throw new JobError(`VolumeSnapshot ${input.snapshot} not found in namespace ${namespace}`);
  const status = isJsonMap(vs.status) ? vs.status : {};
  if (isJsonMap(status.error)) {
    throw new JobError(`VolumeSnapshot ${input.snapshot} failed: ${String(status.error.message ?? 'error')}`);
  }
  if (status.readyToUse !== true)
    log.warn('the snapshot is not ready yet; the claim binds once it is', { snapshot: input.snapshot });
  const sourceName = sourcePvcNameOf(vs);
  const sourcePvc = sourceName
    ? await kube.getIfExists<KubeObject>(corePath('persistentvolumeclaims', namespace, sourceName))
    : undefined;
  const pvc = pvcFromSnapshot(vs, sourcePvc, { name: input.as, namespace, storageClass: input.storageClass });
  if (sourcePvc && typeof status.restoreSize === 'string') {
    const requested = (sourcePvc.spec as any)?.resources?.requests?.storage;
    if (requested && parseQuantity(requested) < parseQuantity(status.restoreSize)) {
      log.info('claim size raised to the snapshot restoreSize', {
        requested,
        restoreSize: status.restoreSize,
      });
    }
  }

  // Everything is checked before anything is written.
  let patch: { path: string; body: unknown; ref: string } | undefined;
  if (input.replaceIn) {
    const ref = parseWorkloadRef(input.replaceIn);
    const path = workloadPath(ref, namespace);
    const workload = await kube.getIfExists<KubeObject>(path);
    if (!workload) throw new JobError(`${input.replaceIn} not found in namespace ${namespace}`);
    const oldClaim = input.claim || sourceName;
    if (!oldClaim)
      throw new JobError(`the snapshot names no source claim; say which claim to replace with --claim`);
    const result = replacedVolumes(workload, oldClaim, input.as);
    if ('problem' in result) throw new JobError(result.problem);
    // The resourceVersion makes the patch fail if the workload changed (e.g. was scaled up) since it was read.
    patch = {
      path,
      ref: input.replaceIn,
      body: {
        metadata: { resourceVersion: workload.metadata.resourceVersion },
        spec: { template: { spec: { volumes: result.volumes } } },
      },
    };
  }

  const pvcPath = corePath('persistentvolumeclaims', namespace, input.as);
  const existing = await kube.getIfExists<KubeObject>(pvcPath);
  let created = false;
  if (existing) {
    const source = (existing.spec as any)?.dataSource;
    if (source?.kind !== 'VolumeSnapshot' || source?.name !== input.snapshot) {
      throw new JobError(
        `PersistentVolumeClaim ${input.as} already exists in ${namespace} (not from this snapshot)`,
      );
    }
    log.info('the claim exists already from this snapshot', { pvc: input.as });
  } else {
    await kube.create(corePath('persistentvolumeclaims', namespace), pvc, query);
    created = true;
  }
  if (patch) await kube.mergePatch(patch.path, patch.body, query);
  return { pvc, created, workload: patch?.ref };
}
