// PVCs restored from the backup's VolumeSnapshots (NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS). A backup's snapshot of
// a PVC carries `nsbackup.io/backup=<id>` and `nsbackup.io/pvc=<name>`. In the snapshot's own namespace the
// claim points at it directly. In another namespace (a PVC's dataSource cannot cross namespaces) the snapshot is
// recreated there by static provisioning: a new VolumeSnapshotContent naming the same storage snapshot
// (`source.snapshotHandle`) and a VolumeSnapshot bound to it. The copy's deletionPolicy is Retain: the storage
// snapshot belongs to the original content, and deleting the copy must never delete it.

import {
  KubeApiError,
  volumeSnapshotContentPath,
  volumeSnapshotPath,
  type KubeClient,
} from '../kube/index.js';
import { Labels } from '../labels.js';
import {
  isJsonMap,
  parseApiPath,
  snapshotSourceOf,
  type KubeObject,
  type PathedObject,
} from '../resources/index.js';
import type { PvcSnapshotSource } from './plan.js';

const SNAP_API = 'snapshot.storage.k8s.io/v1';

export interface SnapshotSources {
  pvcSources: Map<string, PvcSnapshotSource>;
  extraObjects: { object: KubeObject; path: string; reason: string }[];
  warnings: string[];
}

function pick(labels: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => labels[k] !== undefined).map((k) => [k, labels[k]]));
}

/** A VolumeSnapshotContent name for the copy of `snapshot` in `namespace` (at most 253 characters). */
export function copiedContentName(namespace: string, snapshot: string): string {
  return `nsbackup-${namespace}-${snapshot}`.slice(0, 253).replace(/[-.]+$/, '');
}

/** The static-provisioning pair that makes `vs` (bound to `content`) available in `namespace`. */
export function snapshotCopy(
  vs: KubeObject,
  content: KubeObject,
  namespace: string,
): { content: KubeObject; snapshot: KubeObject } | { problem: string } {
  const status = isJsonMap(content.status) ? content.status : {};
  const spec = isJsonMap(content.spec) ? content.spec : {};
  const handle = status.snapshotHandle ?? (isJsonMap(spec.source) ? spec.source.snapshotHandle : undefined);
  if (typeof handle !== 'string' || !handle) {
    return { problem: `VolumeSnapshotContent ${content.metadata.name} has no snapshotHandle yet` };
  }
  const name = vs.metadata.name!;
  const contentName = copiedContentName(namespace, name);
  const className =
    typeof spec.volumeSnapshotClassName === 'string' ? spec.volumeSnapshotClassName : undefined;
  return {
    content: {
      apiVersion: SNAP_API,
      kind: 'VolumeSnapshotContent',
      metadata: { name: contentName },
      spec: {
        deletionPolicy: 'Retain',
        driver: spec.driver,
        source: { snapshotHandle: handle },
        ...(className ? { volumeSnapshotClassName: className } : {}),
        volumeSnapshotRef: { apiVersion: SNAP_API, kind: 'VolumeSnapshot', namespace, name },
      },
    },
    snapshot: {
      apiVersion: SNAP_API,
      kind: 'VolumeSnapshot',
      // Only which backup and PVC it is of: retention labels would make the copy a backup snapshot to prune.
      metadata: { name, namespace, labels: pick(vs.metadata.labels ?? {}, [Labels.backup, Labels.pvc]) },
      spec: {
        ...(className ? { volumeSnapshotClassName: className } : {}),
        source: { volumeSnapshotContentName: contentName },
      },
    },
  };
}

/**
 * Finds the backup's snapshot of each PVC in the backup, in the target cluster, and decides how each restored
 * claim reaches it. A PVC without a usable snapshot keeps an empty volume and gets a warning.
 */
export async function snapshotSources(
  kube: KubeClient,
  input: {
    backupId: string;
    items: PathedObject[];
    namespaceMapping: Record<string, string>;
  },
): Promise<SnapshotSources> {
  const result: SnapshotSources = { pvcSources: new Map(), extraObjects: [], warnings: [] };
  const byNamespace = new Map<string, Map<string, KubeObject>>();
  const forbidden = new Set<string>();
  const snapshotsIn = async (namespace: string) => {
    let found = byNamespace.get(namespace);
    if (!found) {
      try {
        const list = await kube.listAll(volumeSnapshotPath(namespace), {
          labelSelector: `${Labels.backup}=${input.backupId}`,
        });
        found = new Map(list.map((vs) => [vs.metadata.labels?.[Labels.pvc] ?? '', vs as KubeObject]));
      } catch (error) {
        // Not reachable for this restore's identity: its claims come back empty, each named.
        if (!(error instanceof KubeApiError && error.code === 403)) throw error;
        forbidden.add(namespace);
        found = new Map();
      }
      byNamespace.set(namespace, found);
    }
    return found;
  };
  for (const item of input.items) {
    if (item.object.kind !== 'PersistentVolumeClaim' || item.object.apiVersion !== 'v1') continue;
    const source = parseApiPath(item.path).namespace!;
    const pvc = item.object.metadata.name!;
    const target = input.namespaceMapping[source] ?? source;
    const vs = (await snapshotsIn(source)).get(pvc);
    if (!vs) {
      result.warnings.push(
        forbidden.has(source)
          ? `PVC ${source}/${pvc}: may not list VolumeSnapshots in ${source}; restored with an empty volume`
          : `PVC ${source}/${pvc}: no VolumeSnapshot of backup ${input.backupId} in this cluster; restored with an empty volume`,
      );
      continue;
    }
    const restoreSize =
      isJsonMap(vs.status) && typeof vs.status.restoreSize === 'string' ? vs.status.restoreSize : undefined;
    if (target === source) {
      result.pvcSources.set(item.path, { snapshotName: vs.metadata.name!, restoreSize });
      continue;
    }
    const contentName = isJsonMap(vs.status) ? vs.status.boundVolumeSnapshotContentName : undefined;
    const content =
      typeof contentName === 'string'
        ? await kube.getIfExists<KubeObject>(volumeSnapshotContentPath(contentName))
        : undefined;
    const copy = content
      ? snapshotCopy(vs, content, target)
      : { problem: `snapshot ${vs.metadata.name} is not bound` };
    if ('problem' in copy) {
      result.warnings.push(`PVC ${source}/${pvc}: ${copy.problem}; restored with an empty volume`);
      continue;
    }
    const reason = `snapshot ${source}/${vs.metadata.name} made available in ${target} for PVC ${pvc}`;
    result.extraObjects.push(
      { object: copy.content, path: volumeSnapshotContentPath(copy.content.metadata.name), reason },
      { object: copy.snapshot, path: volumeSnapshotPath(target, copy.snapshot.metadata.name), reason },
    );
    result.pvcSources.set(item.path, { snapshotName: copy.snapshot.metadata.name!, restoreSize });
  }
  return result;
}

/**
 * `namespace/name` (target namespace) of each VolumeSnapshot a claim of the backup names as its data source that
 * exists in the target cluster; the plan leaves claims whose snapshot is missing empty. A snapshot we may not read
 * counts as existing: the claim is restored as the backup has it.
 */
export async function existingClaimSnapshots(
  kube: Pick<KubeClient, 'getIfExists'>,
  items: PathedObject[],
  namespaceMapping: Record<string, string>,
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const item of items) {
    const snapshot = snapshotSourceOf(item.object);
    const source = item.object.metadata.namespace;
    if (!snapshot || !source) continue;
    const target = namespaceMapping[source] ?? source;
    const key = `${target}/${snapshot}`;
    if (found.has(key)) continue;
    try {
      if (await kube.getIfExists(volumeSnapshotPath(target, snapshot))) found.add(key);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.code === 403)) throw error;
      found.add(key);
    }
  }
  return found;
}

/**
 * Claims that come back empty when no snapshot is looked for (`why`): those without a data source of their own,
 * each named, so nobody finds out from the application.
 */
export function emptyClaimWarnings(items: PathedObject[], why: string): string[] {
  return items
    .filter((item) => item.object.kind === 'PersistentVolumeClaim' && item.object.apiVersion === 'v1')
    .filter((item) => !snapshotSourceOf(item.object))
    .map(
      (item) =>
        `PVC ${item.object.metadata.namespace ?? ''}/${item.object.metadata.name}: restored with an empty volume (${why})`,
    );
}
