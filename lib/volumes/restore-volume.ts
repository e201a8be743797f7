// Volume data back from the namespace's restic repository into a claim, in any cluster and namespace: the snapshot
// chosen by its tags (namespace, PVC and backup id, or the newest of that PVC), a claim created for it (or one a
// restore just created), and a mover Job that runs `restic restore` into it as root (owners kept).

import { JobError } from '../exit.js';
import { KubeApiError } from '../kube/errors.js';
import type { KubeClient, KubeObject } from '../kube/index.js';
import { Labels } from '../labels.js';
import type { Logger } from '../log.js';
import { moverJobManifest, moverName } from './mover-manifests.js';
import type { MoverSettings } from './mover-manifests.js';
import { runMoverJob } from './mover-job.js';
import type { Repository } from './repo-ops.js';
import type { ResticSnapshot } from './restic-output.js';

/** The snapshot of `pvc` in `namespace` of backup `backup`, or the newest one for `latest`. */
export async function chooseSnapshot(
  repo: Repository,
  ref: { namespace: string; pvc: string },
  backup: string,
): Promise<ResticSnapshot> {
  const backupId = backup === 'latest' ? undefined : backup;
  const found = await repo.snapshotsOf({ ...ref, backupId });
  const chosen = found.at(-1);
  if (!chosen) {
    throw new JobError(
      `no volume data of PVC ${ref.namespace}/${ref.pvc}${backupId ? ` in backup ${backupId}` : ''} in the restic repository`,
    );
  }
  return chosen;
}

/** A claim size for `bytes` of files: a tenth more for the file system, whole GiB, at least 1 GiB. */
export function claimSizeFor(bytes: number): string {
  return `${Math.max(1, Math.ceil((bytes * 1.1) / 2 ** 30))}Gi`;
}

export function restoreClaimManifest(input: {
  name: string;
  namespace: string;
  size: string;
  storageClass?: string;
  accessModes?: string[];
  backupId: string;
}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: { [Labels.restoredFrom]: input.backupId },
    },
    spec: {
      accessModes: input.accessModes ?? ['ReadWriteOnce'],
      resources: { requests: { storage: input.size } },
      ...(input.storageClass ? { storageClassName: input.storageClass } : {}),
    },
  };
}

export interface RestoreIntoInput {
  kube: KubeClient;
  log: Logger;
  /** Where the claim is. */
  namespace: string;
  claimName: string;
  repository: string;
  snapshot: ResticSnapshot;
  mover: MoverSettings;
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  random: () => number;
  signal?: AbortSignal;
}

/** Runs the restore mover into an existing (empty) claim. */
export async function restoreInto(input: RestoreIntoInput): Promise<void> {
  const suffix = Math.floor(input.random() * 36 ** 5)
    .toString(36)
    .padStart(5, '0');
  const job = moverJobManifest({
    name: moverName('nsbackup-restore', input.claimName, suffix),
    namespace: input.namespace,
    operation: 'restore',
    claimName: input.claimName,
    repository: input.repository,
    ref: { namespace: input.snapshot.namespace, pvc: input.snapshot.pvc, backupId: input.snapshot.backupId },
    snapshotId: input.snapshot.id,
    settings: input.mover,
  });
  await runMoverJob({
    kube: input.kube,
    log: input.log,
    namespace: input.namespace,
    job,
    timeoutMs: input.mover.timeoutSeconds * 1000 + 5 * 60_000,
    startTimeoutMs: (input.mover.startTimeoutSeconds ?? 600) * 1000,
    pollMs: input.pollMs,
    sleep: input.sleep,
    now: input.now,
    signal: input.signal,
  });
}

/**
 * `restore-pvc --from s3`: a new claim filled from the snapshot. A claim of that name must not exist (its data is
 * never overwritten); a claim this run created and could not fill is deleted again (no half-restored volume that
 * looks whole).
 */
export async function restorePvcFromS3(
  input: Omit<RestoreIntoInput, 'snapshot' | 'claimName'> & {
    repo: Repository;
    source: { namespace: string; pvc: string };
    backup: string;
    as: string;
    size?: string;
    storageClass?: string;
    accessModes?: string[];
    dryRun: boolean;
    out: (text: string) => void;
  },
): Promise<{ snapshot: ResticSnapshot; bytes: number; files: number; size: string; created: boolean }> {
  const { kube, log, namespace } = input;
  const snapshot = await chooseSnapshot(input.repo, input.source, input.backup);
  const stats = await input.repo.stats(snapshot.id);
  const size = input.size ?? claimSizeFor(stats.bytes);
  const claimPath = `/api/v1/namespaces/${namespace}/persistentvolumeclaims`;
  const existing = await kube.getIfExists(`${claimPath}/${input.as}`);
  if (existing)
    throw new JobError(`PVC ${namespace}/${input.as} already exists: restore into a new name (--as)`);
  const what =
    `snapshot ${snapshot.id.slice(0, 8)} of PVC ${snapshot.namespace}/${snapshot.pvc} (backup ${snapshot.backupId}, ` +
    `${snapshot.time}): ${stats.files} files, ${stats.bytes} bytes`;
  if (input.dryRun) {
    input.out(`dry run: would restore ${what} into a new PVC ${namespace}/${input.as} of ${size}`);
    return { snapshot, ...stats, size, created: false };
  }
  const claim = restoreClaimManifest({
    name: input.as,
    namespace,
    size,
    storageClass: input.storageClass,
    accessModes: input.accessModes,
    backupId: snapshot.backupId,
  });
  await kube.create(claimPath, claim);
  log.info('claim created', { pvc: input.as, size, restoring: what });
  try {
    await restoreInto({ ...input, snapshot, claimName: input.as });
  } catch (e) {
    try {
      await kube.delete(`${claimPath}/${input.as}`);
      log.warn('the restore failed: the claim it created is deleted again', { pvc: input.as });
    } catch (d) {
      if (!(d instanceof KubeApiError && d.code === 404))
        log.error('could not delete the claim of the failed restore', { error: (d as Error).message });
    }
    throw e;
  }
  return { snapshot, ...stats, size, created: true };
}
