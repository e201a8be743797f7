// Where the mover of a live claim (NSBACKUP_PVC_DATA_DIRECT) may run, decided from the claim and the namespace's
// pods. Pure: the adapter (direct-step.ts) reads the objects, this says what to do with them.
//
// The access mode is a promise of the volume plugin about attachment: ReadWriteMany and ReadOnlyMany volumes mount
// on any node at once; a ReadWriteOnce volume mounts on one node at a time (any number of pods there); a
// ReadWriteOncePod volume in one pod only, so a second mount would leave the mover Pending until the deadline.

import type { KubeObject } from '../kube/index.js';

export type Placement =
  /** The scheduler may put the mover anywhere. */
  | { kind: 'anywhere'; reason: string }
  /** Only on this node, where the pods that mount the claim run; their tolerations let it go there. */
  | { kind: 'node'; node: string; pods: string[]; tolerations: unknown[] }
  /** The claim cannot be read now: the message says which PVC, why, and what to do. */
  | { kind: 'refuse'; message: string };

/** The claims a pod mounts: its PVC volumes and its generic ephemeral volumes (claim `<pod>-<volume>`). */
export function claimsOf(pod: KubeObject): string[] {
  return (pod.spec?.volumes ?? []).flatMap((v: any) =>
    v.persistentVolumeClaim?.claimName
      ? [v.persistentVolumeClaim.claimName as string]
      : v.ephemeral
        ? [`${pod.metadata.name}-${v.name}`]
        : [],
  );
}

/**
 * A pod that holds the claim mounted now: Running on a node. Pending pods are left out (not started, or waiting
 * for this very volume: the mover must not follow them onto a node they may never reach), finished ones too.
 */
function holdsMount(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' && Boolean(pod.spec?.nodeName);
}

export function moverPlacement(
  pvc: string,
  claim: KubeObject | undefined,
  pods: readonly KubeObject[],
): Placement {
  if (!claim) return { kind: 'refuse', message: `PVC ${pvc} does not exist` };
  const phase = claim.status?.phase ?? 'Pending';
  if (phase !== 'Bound')
    return { kind: 'refuse', message: `PVC ${pvc} is ${phase}, not Bound: there is no volume to read` };
  // The bound volume's modes (status) are what the storage gives; the request (spec) is what was asked for.
  const modes: string[] = claim.status?.accessModes ?? claim.spec?.accessModes ?? [];
  if (modes.includes('ReadWriteMany') || modes.includes('ReadOnlyMany'))
    return { kind: 'anywhere', reason: `${modes.join(',')}: mountable on any node` };
  const users = pods
    .filter((p) => holdsMount(p) && claimsOf(p).includes(pvc))
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  if (modes.includes('ReadWriteOncePod')) {
    if (users.length)
      return {
        kind: 'refuse',
        message:
          `PVC ${pvc} is ReadWriteOncePod and pod ${users.map((p) => p.metadata.name).join(', ')} uses it: a ` +
          'second mount is refused, so its files cannot be read from the live claim. Copy it from a snapshot ' +
          'instead (the PVC in NSBACKUP_PVC and NSBACKUP_PVC_DATA), or back it up while no pod uses it',
      };
    return { kind: 'anywhere', reason: 'ReadWriteOncePod, no pod uses it' };
  }
  if (!users.length)
    return { kind: 'anywhere', reason: `${modes.join(',') || 'no access mode'}, no pod uses it` };
  // A ReadWriteOnce volume is attached to one node; where several nodes run pods of it (storage that attaches to
  // more than one node anyway, such as NFS declared ReadWriteOnce), any of them works: the first, for a stable plan.
  const node = users[0].spec.nodeName as string;
  const there = users.filter((p) => p.spec.nodeName === node);
  return {
    kind: 'node',
    node,
    pods: there.map((p) => p.metadata.name),
    // The node may be tainted for the application (dedicated nodes): what lets its pod run there lets the mover in.
    tolerations: there[0].spec?.tolerations ?? [],
  };
}

/**
 * The pod spec fields that keep the mover on that node. Node affinity on the Node's name (`matchFields
 * metadata.name`, as the DaemonSet controller pins its pods) rather than `nodeName`, which skips the scheduler and
 * with it the resource and quota checks, and rather than the `kubernetes.io/hostname` label, which is not always
 * the Node's name (a pod's `spec.nodeName` is).
 */
export function placementSpec(placement: Placement): Record<string, unknown> {
  if (placement.kind !== 'node') return {};
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchFields: [{ key: 'metadata.name', operator: 'In', values: [placement.node] }] },
          ],
        },
      },
    },
    ...(placement.tolerations.length ? { tolerations: placement.tolerations } : {}),
  };
}
