// The volume data step of `nsbackup backup`: per PVC of NSBACKUP_PVC_DATA, once this run's VolumeSnapshot of it
// is ready, a claim cloned from it is read by a mover Job into the namespace's restic repository. Point in time
// (the snapshot the dump and hooks made), no load on the application's volume, no RWO co-location problem.
// Per PVC of NSBACKUP_PVC_DATA_DIRECT (storage without CSI snapshots), the mover mounts the live claim read-only
// instead, where placement.ts says it can: not point-in-time, and said so in the log and the manifest.
// One volume's failure does not stop the next; each failure names its PVC and fails the run.

import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import { volumeSnapshotPath } from '../kube/paths.js';
import { parseQuantity } from '../resources/quantity.js';
import type { ManifestVolume } from '../resources/manifest.js';
import { waitForSnapshots } from '../snapshots/lifecycle.js';
import type { WaitOptions } from '../snapshots/lifecycle.js';
import { clonePvcManifest, moverJobManifest, moverName } from './mover-manifests.js';
import type { MoverSettings } from './mover-manifests.js';
import { runMoverJob } from './mover-job.js';
import { livePlacement, NOT_POINT_IN_TIME } from './direct-step.js';
import { placementSpec } from './placement.js';
import type { KubeObject } from '../kube/index.js';

/** One volume's copy, as the manifest and the outcome record it. */
export type VolumeRecord = ManifestVolume;

/**
 * The volume data step, as the backup flow (lib/backup/flow.ts) takes it: this run's snapshots of these PVCs copied
 * with restic.
 */
export type BackupVolumes = (input: {
  namespace: string;
  backupId: string;
  pvcs: string[];
  /** PVCs copied from the live claim (NSBACKUP_PVC_DATA_DIRECT). */
  direct: string[];
  snapshots: { pvc: string; name: string }[];
  /** When this run's snapshots must be ready by (NSBACKUP_SNAPSHOT_TIMEOUT from the first create). */
  deadline: number;
  signal?: AbortSignal;
}) => Promise<{ volumes: VolumeRecord[]; failures: string[] }>;

export interface VolumeStepInput {
  kube: KubeClient;
  log: Logger;
  namespace: string;
  backupId: string;
  /** PVC -> this run's VolumeSnapshot of it. */
  snapshots: { pvc: string; name: string }[];
  pvcs: string[];
  /** PVCs read from the live claim, after those of `pvcs`. */
  direct?: string[];
  /** restic's repository string and its `s3://` location. */
  repository: { url: string; location: string };
  mover: MoverSettings;
  wait: Omit<WaitOptions, 'until'>;
  random: () => number;
  signal?: AbortSignal;
}

export interface VolumeStepResult {
  volumes: VolumeRecord[];
  failures: string[];
}

export async function backupVolumes(input: VolumeStepInput): Promise<VolumeStepResult> {
  const result: VolumeStepResult = { volumes: [], failures: [] };
  const work = [
    ...input.pvcs.map((pvc) => ({ pvc, copy: backupOne })),
    ...(input.direct ?? []).map((pvc) => ({ pvc, copy: backupDirect })),
  ];
  for (const { pvc, copy } of work) {
    const log = input.log.child({ pvc });
    try {
      input.signal?.throwIfAborted();
      const record = await copy(input, pvc, log);
      result.volumes.push(record);
      log.info('volume data stored', { ...record });
    } catch (e) {
      const message = `volume data of PVC ${pvc} not stored: ${(e as Error).message}`;
      log.error(message);
      result.failures.push(message);
    }
  }
  return result;
}

async function backupOne(input: VolumeStepInput, pvc: string, log: Logger): Promise<VolumeRecord> {
  const { kube, namespace } = input;
  const snapshot = input.snapshots.find((s) => s.pvc === pvc);
  if (!snapshot) throw new Error('this run has no VolumeSnapshot of it');
  const waited = await waitForSnapshots(kube, namespace, [snapshot.name], { ...input.wait, until: 'ready' });
  const state = waited.get(snapshot.name);
  if (state?.state !== 'ready')
    throw new Error(
      `its snapshot ${snapshot.name} is not ready (${state?.error ?? state?.state ?? 'unknown'})`,
    );
  const vs = await kube.get(volumeSnapshotPath(namespace, snapshot.name));
  const source = await kube.get(`/api/v1/namespaces/${namespace}/persistentvolumeclaims/${pvc}`);
  const suffix = moverSuffix(input.random);
  const claim = clonePvcManifest({
    name: moverName('nsbackup-clone', pvc, suffix),
    namespace,
    snapshotName: snapshot.name,
    source,
    restoreSize: largerSize(vs.status?.restoreSize, source.spec?.resources?.requests?.storage),
    ref: { namespace, pvc, backupId: input.backupId },
  });
  const record = await runBackupMover(input, pvc, log, suffix, {
    claimName: claim.metadata.name,
    temporaryClaim: claim,
  });
  return { pvc, copyMethod: 'snapshot', volumeSnapshot: snapshot.name, ...record };
}

/** A PVC of NSBACKUP_PVC_DATA_DIRECT: its live claim, read-only, on a node where it can be mounted. No clone. */
async function backupDirect(input: VolumeStepInput, pvc: string, log: Logger): Promise<VolumeRecord> {
  const placement = await livePlacement(input.kube, input.namespace, pvc);
  if (placement.kind === 'refuse') throw new Error(placement.message);
  log.warn(NOT_POINT_IN_TIME, {
    placement:
      placement.kind === 'node' ? `node ${placement.node} (pods ${placement.pods.join(', ')})` : 'any node',
  });
  const record = await runBackupMover(input, pvc, log, moverSuffix(input.random), {
    claimName: pvc,
    podPlacement: placementSpec(placement),
  });
  return { pvc, copyMethod: 'direct', ...record };
}

const moverSuffix = (random: () => number): string =>
  Math.floor(random() * 36 ** 5)
    .toString(36)
    .padStart(5, '0');

/** The mover Job over `claimName` (and the temporary claim it brings), to its end; its result as a record. */
async function runBackupMover(
  input: VolumeStepInput,
  pvc: string,
  log: Logger,
  suffix: string,
  over: { claimName: string; temporaryClaim?: KubeObject; podPlacement?: Record<string, unknown> },
): Promise<Omit<VolumeRecord, 'pvc' | 'copyMethod' | 'volumeSnapshot'>> {
  const { kube, namespace } = input;
  const job = moverJobManifest({
    name: moverName('nsbackup-mover', pvc, suffix),
    namespace,
    operation: 'backup',
    claimName: over.claimName,
    repository: input.repository.url,
    ref: { namespace, pvc, backupId: input.backupId },
    settings: input.mover,
    podPlacement: over.podPlacement,
  });
  const result = await runMoverJob({
    kube,
    log,
    namespace,
    job,
    temporaryClaim: over.temporaryClaim,
    // Scheduling and pulling the image come on top of the Job's own deadline.
    timeoutMs: input.mover.timeoutSeconds * 1000 + 5 * 60_000,
    startTimeoutMs: (input.mover.startTimeoutSeconds ?? 600) * 1000,
    pollMs: input.wait.pollMs,
    sleep: input.wait.sleep,
    now: input.wait.now,
    signal: input.signal,
  });
  const b = result.backup;
  if (!b) throw new Error('the mover reported no snapshot');
  return {
    repository: input.repository.location,
    resticSnapshotId: b.snapshotId,
    files: b.files,
    bytesProcessed: b.bytesProcessed,
    bytesAdded: b.bytesAdded,
    durationSeconds: b.durationSeconds,
  };
}

/** The clone must be at least as large as the snapshot and the source's request (a CSI driver refuses less). */
export function largerSize(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return parseQuantity(a) >= parseQuantity(b) ? a : b;
}
