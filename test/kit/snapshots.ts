// VolumeSnapshots (and their bound contents) as a backup run leaves them, for seeding the emulator, and nights of
// the pruner run on them as the chart's CronJob runs it.
import { runCommand } from '../../lib/command.js';
import { Annotations, Labels } from '../../lib/labels.js';
import { createMarkAndDeleteCommand } from '../../scripts/mark-and-delete.js';
import { createRetainCommand } from '../../scripts/retain.js';
import type { Cluster } from '../cluster/index.js';

export const SNAP_API = 'snapshot.storage.k8s.io/v1';

export interface SnapshotSpec {
  namespace: string;
  name: string;
  pvc: string;
  createdAt: string;
  labels?: Record<string, string>;
  /** Default true. */
  ready?: boolean;
  error?: string;
  /** The bound content's deletionPolicy (default Retain, as a class for backups would set it). */
  contentPolicy?: 'Retain' | 'Delete';
  s3Location?: string;
  restoreSize?: string;
  /** More annotations (the run's recorded configuration, nsbackup.io/config). */
  annotations?: Record<string, string>;
}

export function snapshotObjects(spec: SnapshotSpec): [any, any] {
  const uid = `uid-${spec.namespace}-${spec.name}`;
  const contentName = `snapcontent-${uid}`;
  const vs = {
    apiVersion: SNAP_API,
    kind: 'VolumeSnapshot',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      uid,
      creationTimestamp: spec.createdAt,
      labels: { [Labels.pvc]: spec.pvc, ...spec.labels },
      annotations: {
        ...spec.annotations,
        ...(spec.s3Location ? { [Annotations.s3Location]: spec.s3Location } : {}),
      },
      finalizers: ['snapshot.storage.kubernetes.io/volumesnapshot-bound-protection'],
    },
    spec: { source: { persistentVolumeClaimName: spec.pvc }, volumeSnapshotClassName: 'csi' },
    status: {
      boundVolumeSnapshotContentName: contentName,
      creationTime: spec.createdAt,
      readyToUse: spec.ready ?? true,
      restoreSize: spec.restoreSize ?? '1Gi',
      ...(spec.error ? { error: { message: spec.error, time: spec.createdAt } } : {}),
    },
  };
  const content = {
    apiVersion: SNAP_API,
    kind: 'VolumeSnapshotContent',
    metadata: { name: contentName, creationTimestamp: spec.createdAt },
    spec: {
      deletionPolicy: spec.contentPolicy ?? 'Retain',
      driver: 'hostpath.csi.k8s.io',
      source: { volumeHandle: `pv-${spec.pvc}` },
      volumeSnapshotClassName: 'csi',
      volumeSnapshotRef: {
        apiVersion: SNAP_API,
        kind: 'VolumeSnapshot',
        namespace: spec.namespace,
        name: spec.name,
        uid,
      },
    },
    status: { readyToUse: spec.ready ?? true, snapshotHandle: `snap-${uid}`, restoreSize: 1073741824 },
  };
  return [vs, content];
}

export function seedSnapshots(cluster: Cluster, specs: readonly SnapshotSpec[]): void {
  cluster.seed(...specs.flatMap(snapshotObjects));
}

/** Names of the VolumeSnapshots left in a namespace, sorted. */
export function snapshotNames(cluster: Cluster, namespace: string): string[] {
  return cluster
    .list(SNAP_API, 'VolumeSnapshot', namespace)
    .map((vs) => vs.metadata.name)
    .sort();
}

/** Labels of every snapshot in a namespace, by name (what retention changed). */
export function labelsByName(cluster: Cluster, namespace: string): Record<string, Record<string, string>> {
  return Object.fromEntries(
    cluster
      .list(SNAP_API, 'VolumeSnapshot', namespace)
      .map((vs) => [vs.metadata.name, vs.metadata.labels ?? {}]),
  );
}

/**
 * One night of the pruner for a namespace, as the chart's CronJob runs it: retain, then mark-and-delete with the
 * clock at `now`. Throws with the night's log when either fails; returns once the controllers are idle.
 */
export async function pruneNight(
  cluster: Cluster,
  namespace: string,
  env: Record<string, string>,
  now: Date,
): Promise<void> {
  const lines: string[] = [];
  const write = (line: string) => lines.push(line);
  const argv = ['-n', namespace];
  const retained = await runCommand(createRetainCommand(), { argv, env, write });
  const swept = await runCommand(createMarkAndDeleteCommand({ now: () => now }), { argv, env, write });
  if (retained !== 0 || swept !== 0) {
    throw new Error(`the night of ${now.toISOString()} failed:\n${lines.join('\n')}`);
  }
  await cluster.controllers.idle();
}
