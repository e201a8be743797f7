// Reads VolumeSnapshots from the cluster and maps them to what the retention core and the sweep need.
import {
  corePath,
  KubeApiError,
  volumeSnapshotPath,
  type KubeClient,
  type KubeObject,
} from '../kube/index.js';
import { JobError } from '../exit.js';
import { Annotations, Labels } from '../labels.js';
import type { Logger } from '../log.js';
import type { SnapshotRecord } from '../retention/index.js';

/** Our finalizer: a VolumeSnapshot carrying it still has S3 objects to delete (see sweep.ts). */
export const S3_CLEANUP_FINALIZER = 'nsbackup.io/s3-cleanup';

/** One VolumeSnapshot: the core's record plus what the sweep and `list` need. */
export interface SnapshotInfo {
  record: SnapshotRecord;
  resourceVersion: string;
  uid?: string;
  contentName?: string;
  restoreSize?: string;
  error?: string;
  /** Annotation `nsbackup.io/s3-location`: where the backup stored its files. */
  s3Location?: string;
  finalizers: string[];
  /** Deletion has started (deletionTimestamp set): retention no longer counts or plans it. */
  terminating: boolean;
  /**
   * Annotation `nsbackup.io/config`: the run's recorded configuration. Read with directPvcsOf only where it is
   * needed (the sweep), not parsed for every snapshot every command lists.
   */
  configAnnotation?: string;
}

const PVC_NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

/**
 * The PVCs a snapshot's backup copied from the live claim (`pvcDataDirect` of its `nsbackup.io/config`): they have
 * no VolumeSnapshot, so their volume data goes with the backup's last snapshot. Anything but a list of PVC names
 * counts as none.
 */
export function directPvcsOf(configAnnotation: string | undefined): string[] {
  if (!configAnnotation) return [];
  try {
    const list = JSON.parse(configAnnotation)?.pvcDataDirect;
    return Array.isArray(list)
      ? list.filter((p): p is string => typeof p === 'string' && PVC_NAME.test(p))
      : [];
  } catch {
    return [];
  }
}

export function toSnapshotInfo(vs: KubeObject): SnapshotInfo {
  const meta = vs.metadata;
  const labels = meta.labels ?? {};
  const status = vs.status ?? {};
  return {
    record: {
      namespace: meta.namespace ?? '',
      name: meta.name,
      pvc: labels[Labels.pvc] ?? vs.spec?.source?.persistentVolumeClaimName ?? '',
      createdAt: status.creationTime ?? meta.creationTimestamp ?? '',
      ready: status.readyToUse === true,
      failed:
        Boolean(status.error) || labels[Labels.failed] === 'true' || labels[Labels.outcome] === 'failed',
      labels,
      ...(meta.annotations?.[Annotations.completeBy]
        ? { completeBy: meta.annotations[Annotations.completeBy] }
        : {}),
    },
    resourceVersion: meta.resourceVersion ?? '',
    uid: meta.uid,
    contentName: status.boundVolumeSnapshotContentName || undefined,
    restoreSize: status.restoreSize === undefined ? undefined : String(status.restoreSize),
    error: status.error?.message,
    s3Location: meta.annotations?.[Annotations.s3Location] || undefined,
    finalizers: meta.finalizers ?? [],
    terminating: Boolean(meta.deletionTimestamp),
    configAnnotation: meta.annotations?.[Annotations.config] || undefined,
  };
}

/**
 * Every VolumeSnapshot of one namespace, or of all (namespace undefined), page by page; each page is
 * mapped as it arrives so 50,000 full objects are never held at once. A cluster-wide list needs
 * cluster-wide RBAC; without it, each namespace that may be listed is read on its own.
 */
export async function listSnapshots(
  kube: KubeClient,
  namespace: string | undefined,
  log: Logger,
): Promise<SnapshotInfo[]> {
  if (namespace !== undefined) return listMapped(kube, volumeSnapshotPath(namespace));
  try {
    return await listMapped(kube, volumeSnapshotPath());
  } catch (error) {
    if (!(error instanceof KubeApiError && error.code === 403)) throw error;
    log.warn('may not list VolumeSnapshots cluster-wide: listing namespace by namespace', {
      reason: error.message,
    });
  }
  const all: SnapshotInfo[] = [];
  const forbidden: string[] = [];
  for (const ns of await kube.listAll(corePath('namespaces'))) {
    try {
      all.push(...(await listMapped(kube, volumeSnapshotPath(ns.metadata.name))));
    } catch (error) {
      if (!(error instanceof KubeApiError && error.code === 403)) throw error;
      forbidden.push(ns.metadata.name);
    }
  }
  // A cluster-wide run that silently skipped tenants would look like a complete one: refuse before any change.
  if (forbidden.length) {
    throw new JobError(
      `may not list VolumeSnapshots in ${forbidden.length} namespace(s): ${forbidden.slice(0, 10).join(', ')}` +
        `${forbidden.length > 10 ? ', ...' : ''}; nothing was changed (grant list on volumesnapshots cluster-wide)`,
    );
  }
  return all;
}

async function listMapped(kube: KubeClient, path: string): Promise<SnapshotInfo[]> {
  const infos: SnapshotInfo[] = [];
  for await (const page of kube.listPages(path)) for (const vs of page.items) infos.push(toSnapshotInfo(vs));
  return infos;
}
