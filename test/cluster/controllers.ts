// The controllers a test cluster needs so that objects move the way they do on a real cluster: the CSI
// snapshot controller, the PV binder/provisioner, workload status, a kubelet that starts pods, and the
// namespace lifecycle controller. Each reacts to store changes, can be switched off, and can fail on request.
import { randomUUID } from 'node:crypto';
import { OwnerIndex } from './gc.js';
import { runJob, type JobRunner } from './jobs.js';
import { runningPod } from './kubelet.js';
import { quantityToBytes } from './quantity.js';
import { now, type Registry } from './registry.js';
import type { ResourceDef } from './resources.js';
import type { Change } from './store.js';

const SNAP = 'snapshot.storage.k8s.io';
export const VS_BOUND_FINALIZER = 'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection';
export const EMULATOR_DRIVER = 'emulator.csi.k8s.io';

interface Failable {
  enabled: boolean;
  /** The next object this controller handles fails with this message. */
  failNext(message: string): void;
}

export interface SnapshotControllerControl extends Failable {
  readyDelayMs: number;
}

export interface Controllers {
  snapshot: SnapshotControllerControl;
  pvcBinder: Failable;
  workloads: Failable;
  /** Starts pods created through the API: nodeName, Running, Ready. */
  kubelet: Failable;
  namespaces: Failable;
  /** Deletes dependents (ownerReferences) of deleted objects, or orphans them on propagationPolicy=Orphan. */
  garbageCollector: Failable;
  /** Runs created Jobs through `runner` (none by default: Jobs then stay unstarted). */
  jobs: Failable & { runner?: JobRunner };
  /** Resolves once no controller work is queued, waiting on a timer, or running a Job. */
  idle(): Promise<void>;
  stop(): void;
}

class Control implements Failable {
  private on = true;
  private failures: string[] = [];
  /** Called when the controller is switched back on: it catches up, as a restarted controller resyncs. */
  onEnable: () => void = () => {};
  get enabled(): boolean {
    return this.on;
  }
  set enabled(value: boolean) {
    const wasOff = !this.on;
    this.on = value;
    if (value && wasOff) this.onEnable();
  }
  failNext(message: string): void {
    this.failures.push(message);
  }
  takeFailure(): string | undefined {
    return this.failures.shift();
  }
}

class SnapshotControl extends Control implements SnapshotControllerControl {
  constructor(public readyDelayMs: number) {
    super();
  }
}

export function startControllers(
  reg: Registry,
  options: { snapshotReadyDelayMs?: number } = {},
): Controllers {
  const store = reg.store;
  const snapshot = new SnapshotControl(options.snapshotReadyDelayMs ?? 0);
  const pvcBinder = new Control();
  const workloads = new Control();
  const kubelet = new Control();
  const namespaces = new Control();
  const jobs: Control & { runner?: JobRunner } = new Control();
  const garbageCollector = new Control();
  const owners = new OwnerIndex();
  let pending = 0;
  let stopped = false;
  let idleWaiters: (() => void)[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const def = (group: string, plural: string): ResourceDef | undefined => reg.table.anyVersion(group, plural);
  const current = (group: string, plural: string, ns: string | undefined, name: string) =>
    store.get(group, plural, ns, name);

  function settle(): void {
    pending--;
    if (pending === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Counts asynchronous work (a running Job) for idle(). */
  function track(work: Promise<void>): void {
    pending++;
    work.catch((e) => console.error('[emulator] controller error', e)).finally(settle);
  }

  /** Runs work later (never inside the store's emit), counted for idle(). */
  function schedule(delayMs: number, work: () => void): void {
    if (stopped) return;
    pending++;
    const t = setTimeout(() => {
      timers.delete(t);
      try {
        if (!stopped) work();
      } catch (e) {
        console.error('[emulator] controller error', e);
      } finally {
        settle();
      }
    }, delayMs);
    timers.add(t);
  }

  function putStatus(group: string, plural: string, obj: any, status: any): any {
    return store.put(group, plural, { ...structuredClone(obj), status });
  }

  function event(namespace: string, involved: any, type: string, reason: string, message: string): void {
    const name = `${involved.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`;
    if (!store.get('', 'namespaces', undefined, namespace)) return;
    store.put('', 'events', {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace, uid: randomUUID(), creationTimestamp: now() },
      involvedObject: {
        apiVersion: involved.apiVersion,
        kind: involved.kind,
        name: involved.metadata.name,
        namespace,
        uid: involved.metadata.uid,
      },
      type,
      reason,
      message,
      firstTimestamp: now(),
      lastTimestamp: now(),
      count: 1,
      source: { component: 'nsbackup-emulator' },
    });
  }

  // ---- snapshot controller ---------------------------------------------------------------------

  function defaultClass(): any | undefined {
    return store
      .list(SNAP, 'volumesnapshotclasses')
      .find((c) => c.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true');
  }

  function snapshotError(vs: any, message: string): void {
    putStatus(SNAP, 'volumesnapshots', vs, {
      ...vs.status,
      readyToUse: false,
      error: { message, time: now() },
    });
    event(vs.metadata.namespace, vs, 'Warning', 'SnapshotCreationFailed', message);
  }

  function reconcileSnapshot(ns: string, name: string): void {
    if (!snapshot.enabled) return;
    const vs = current(SNAP, 'volumesnapshots', ns, name);
    if (!vs) return;
    if (vs.metadata.deletionTimestamp) return finalizeSnapshot(vs);
    if (vs.status?.boundVolumeSnapshotContentName || vs.status?.error) return;
    const failure = snapshot.takeFailure();
    if (failure) return snapshotError(vs, failure);
    const source = vs.spec?.source ?? {};
    if (source.volumeSnapshotContentName) return bindPreProvisioned(vs, source.volumeSnapshotContentName);
    const pvcName = source.persistentVolumeClaimName;
    if (!pvcName)
      return snapshotError(
        vs,
        'spec.source must name a persistentVolumeClaimName or volumeSnapshotContentName',
      );
    const pvc = current('', 'persistentvolumeclaims', ns, pvcName);
    if (!pvc) {
      return snapshotError(
        vs,
        `failed to get input parameters to create snapshot ${name}: "PersistentVolumeClaim \\"${pvcName}\\" not found"`,
      );
    }
    if (pvc.status?.phase !== 'Bound') {
      return; // the real controller waits for the claim to bind; re-checked when the claim changes
    }
    const className = vs.spec?.volumeSnapshotClassName;
    const cls = className ? current(SNAP, 'volumesnapshotclasses', undefined, className) : defaultClass();
    if (className && !cls)
      return snapshotError(
        vs,
        `failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "${className}" not found`,
      );
    const contentName = `snapcontent-${vs.metadata.uid}`;
    const restoreSize = pvc.status?.capacity?.storage ?? pvc.spec?.resources?.requests?.storage;
    const creation = new Date();
    store.put(SNAP, 'volumesnapshotcontents', {
      apiVersion: `${SNAP}/v1`,
      kind: 'VolumeSnapshotContent',
      metadata: { name: contentName, uid: randomUUID(), creationTimestamp: now(), generation: 1 },
      spec: {
        deletionPolicy: cls?.deletionPolicy ?? 'Delete',
        driver: cls?.driver ?? EMULATOR_DRIVER,
        source: { volumeHandle: pvc.spec?.volumeName ?? pvc.metadata.uid },
        ...(cls ? { volumeSnapshotClassName: cls.metadata.name } : {}),
        volumeSnapshotRef: {
          apiVersion: `${SNAP}/v1`,
          kind: 'VolumeSnapshot',
          name,
          namespace: ns,
          uid: vs.metadata.uid,
          resourceVersion: vs.metadata.resourceVersion,
        },
      },
      status: {
        creationTime: creation.getTime() * 1e6,
        readyToUse: snapshot.readyDelayMs === 0,
        restoreSize: quantityToBytes(restoreSize),
        snapshotHandle: `snapshot-${vs.metadata.uid}`,
      },
    });
    const bound = {
      ...structuredClone(vs),
      metadata: {
        ...structuredClone(vs.metadata),
        finalizers: [...(vs.metadata.finalizers ?? []), VS_BOUND_FINALIZER],
      },
      status: { boundVolumeSnapshotContentName: contentName, readyToUse: false },
    };
    const stored = store.put(SNAP, 'volumesnapshots', bound);
    const ready = () => {
      const latest = current(SNAP, 'volumesnapshots', ns, name);
      if (!latest || latest.metadata.uid !== stored.metadata.uid || latest.metadata.deletionTimestamp) return;
      putStatus(SNAP, 'volumesnapshots', latest, {
        ...latest.status,
        creationTime: creation.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        readyToUse: true,
        restoreSize,
      });
      const content = current(SNAP, 'volumesnapshotcontents', undefined, contentName);
      if (content && !content.status?.readyToUse) {
        putStatus(SNAP, 'volumesnapshotcontents', content, { ...content.status, readyToUse: true });
      }
    };
    if (snapshot.readyDelayMs === 0) ready();
    else schedule(snapshot.readyDelayMs, ready);
  }

  function bindPreProvisioned(vs: any, contentName: string): void {
    const content = current(SNAP, 'volumesnapshotcontents', undefined, contentName);
    if (!content) return snapshotError(vs, `VolumeSnapshotContent "${contentName}" not found`);
    const ref = content.spec?.volumeSnapshotRef ?? {};
    if (ref.name !== vs.metadata.name || ref.namespace !== vs.metadata.namespace) {
      return snapshotError(
        vs,
        `VolumeSnapshotContent "${contentName}" is bound to a different snapshot ${ref.namespace}/${ref.name}`,
      );
    }
    if (ref.uid !== vs.metadata.uid) {
      store.put(SNAP, 'volumesnapshotcontents', {
        ...structuredClone(content),
        spec: { ...structuredClone(content.spec), volumeSnapshotRef: { ...ref, uid: vs.metadata.uid } },
      });
    }
    const bytes = content.status?.restoreSize;
    store.put(SNAP, 'volumesnapshots', {
      ...structuredClone(vs),
      metadata: {
        ...structuredClone(vs.metadata),
        finalizers: [...(vs.metadata.finalizers ?? []), VS_BOUND_FINALIZER],
      },
      status: {
        boundVolumeSnapshotContentName: contentName,
        readyToUse: content.status?.readyToUse ?? true,
        ...(content.status?.creationTime
          ? {
              creationTime: new Date(content.status.creationTime / 1e6)
                .toISOString()
                .replace(/\.\d{3}Z$/, 'Z'),
            }
          : {}),
        ...(bytes !== undefined ? { restoreSize: String(bytes) } : {}),
      },
    });
  }

  /** A deleted snapshot: delete its content if its policy says so, then let the snapshot go. */
  function finalizeSnapshot(vs: any): void {
    deleteContentOf(vs);
    const finalizers = (vs.metadata.finalizers ?? []).filter((f: string) => f !== VS_BOUND_FINALIZER);
    if (finalizers.length === (vs.metadata.finalizers ?? []).length) return;
    const r = def(SNAP, 'volumesnapshots');
    if (!r) return;
    reg.update(r, vs.metadata.namespace, vs.metadata.name, {
      ...structuredClone(vs),
      metadata: { ...structuredClone(vs.metadata), finalizers },
    });
  }

  function deleteContentOf(vs: any): void {
    const contentName = vs.status?.boundVolumeSnapshotContentName;
    if (!contentName) return;
    const content = current(SNAP, 'volumesnapshotcontents', undefined, contentName);
    if (!content || content.spec?.volumeSnapshotRef?.uid !== vs.metadata.uid) return;
    if (content.spec?.deletionPolicy === 'Delete')
      store.remove(SNAP, 'volumesnapshotcontents', undefined, contentName);
  }

  // ---- PVC binder ------------------------------------------------------------------------------

  function bindClaim(ns: string, name: string): void {
    if (!pvcBinder.enabled) return;
    const pvc = current('', 'persistentvolumeclaims', ns, name);
    if (!pvc || pvc.metadata.deletionTimestamp || pvc.status?.phase !== 'Pending') return;
    const source = pvc.spec?.dataSourceRef ?? pvc.spec?.dataSource;
    if (source?.kind === 'VolumeSnapshot') {
      const vs = current(SNAP, 'volumesnapshots', ns, source.name);
      if (!vs?.status?.readyToUse) return; // stays Pending; re-checked when snapshots change
      const requested = quantityToBytes(pvc.spec?.resources?.requests?.storage);
      const size = quantityToBytes(vs.status.restoreSize);
      if (requested !== undefined && size !== undefined && requested < size) {
        const message = `failed to provision volume with StorageClass "${pvc.spec?.storageClassName ?? ''}": rpc error: code = OutOfRange desc = requested volume size ${requested} is less than the size ${size} for the source snapshot ${source.name}`;
        event(ns, pvc, 'Warning', 'ProvisioningFailed', message);
        return;
      }
    }
    const sc = pvc.spec?.storageClassName
      ? current('storage.k8s.io', 'storageclasses', undefined, pvc.spec.storageClassName)
      : undefined;
    if (sc?.volumeBindingMode === 'WaitForFirstConsumer' && !podUses(ns, name)) return;
    const failure = pvcBinder.takeFailure();
    if (failure) {
      event(ns, pvc, 'Warning', 'ProvisioningFailed', failure);
      return;
    }
    const storage = pvc.spec?.resources?.requests?.storage ?? '1Gi';
    let pvName = pvc.spec?.volumeName;
    if (pvName) {
      const pv = current('', 'persistentvolumes', undefined, pvName);
      if (!pv) return; // a static binding to a PV that does not exist (yet)
      store.put('', 'persistentvolumes', {
        ...structuredClone(pv),
        spec: { ...structuredClone(pv.spec), claimRef: claimRef(pvc) },
        status: { phase: 'Bound' },
      });
    } else {
      pvName = `pvc-${pvc.metadata.uid}`;
      store.put('', 'persistentvolumes', {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name: pvName,
          uid: randomUUID(),
          creationTimestamp: now(),
          annotations: { 'pv.kubernetes.io/provisioned-by': sc?.provisioner ?? EMULATOR_DRIVER },
          finalizers: ['kubernetes.io/pv-protection'],
        },
        spec: {
          accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
          capacity: { storage },
          claimRef: claimRef(pvc),
          csi: { driver: sc?.provisioner ?? EMULATOR_DRIVER, volumeHandle: `vol-${pvc.metadata.uid}` },
          persistentVolumeReclaimPolicy: sc?.reclaimPolicy ?? 'Delete',
          ...(pvc.spec?.storageClassName ? { storageClassName: pvc.spec.storageClassName } : {}),
          volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
        },
        status: { phase: 'Bound' },
      });
    }
    store.put('', 'persistentvolumeclaims', {
      ...structuredClone(pvc),
      metadata: {
        ...structuredClone(pvc.metadata),
        annotations: {
          ...pvc.metadata.annotations,
          'pv.kubernetes.io/bind-completed': 'yes',
          'pv.kubernetes.io/bound-by-controller': 'yes',
        },
      },
      spec: { ...structuredClone(pvc.spec), volumeName: pvName },
      status: {
        phase: 'Bound',
        accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
        capacity: { storage },
      },
    });
  }

  function claimRef(pvc: any): any {
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      name: pvc.metadata.name,
      namespace: pvc.metadata.namespace,
      uid: pvc.metadata.uid,
      resourceVersion: pvc.metadata.resourceVersion,
    };
  }

  function podUses(ns: string, claim: string): boolean {
    return store
      .list('', 'pods', ns)
      .some((p) => (p.spec?.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === claim));
  }

  function releaseVolume(pvc: any): void {
    const pvName = pvc.spec?.volumeName;
    if (!pvName || !pvcBinder.enabled) return;
    const pv = current('', 'persistentvolumes', undefined, pvName);
    if (!pv || pv.spec?.claimRef?.uid !== pvc.metadata.uid) return;
    if (pv.spec?.persistentVolumeReclaimPolicy === 'Delete')
      store.remove('', 'persistentvolumes', undefined, pvName);
    else putStatus('', 'persistentvolumes', pv, { phase: 'Released' });
  }

  // ---- workloads and kubelet -------------------------------------------------------------------

  function reconcileWorkload(group: string, plural: string, ns: string, name: string): void {
    if (!workloads.enabled) return;
    const obj = current(group, plural, ns, name);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const replicas = obj.spec?.replicas ?? 1;
    const generation = obj.metadata.generation ?? 1;
    if (obj.status?.observedGeneration === generation && obj.status?.replicas === replicas) return;
    const failure = workloads.takeFailure();
    const ready = failure ? 0 : replicas;
    const status: any = {
      observedGeneration: generation,
      replicas,
      ...(ready
        ? { readyReplicas: ready, availableReplicas: ready, updatedReplicas: replicas }
        : { updatedReplicas: replicas }),
    };
    if (plural === 'statefulsets')
      Object.assign(status, {
        currentReplicas: replicas,
        currentRevision: `${name}-1`,
        updateRevision: `${name}-1`,
      });
    if (plural === 'deployments') {
      status.conditions = [
        {
          type: 'Available',
          status: failure ? 'False' : 'True',
          reason: failure ? 'MinimumReplicasUnavailable' : 'MinimumReplicasAvailable',
          message: failure ?? 'Deployment has minimum availability.',
          lastTransitionTime: now(),
          lastUpdateTime: now(),
        },
      ];
    }
    putStatus(group, plural, obj, status);
  }

  function startPod(ns: string, name: string): void {
    if (!kubelet.enabled) return;
    const pod = current('', 'pods', ns, name);
    if (!pod || pod.metadata.deletionTimestamp || pod.status?.phase !== 'Pending') return;
    const failure = kubelet.takeFailure();
    store.put('', 'pods', runningPod(pod, failure));
  }

  function startJob(ns: string, name: string): void {
    const job = current('batch', 'jobs', ns, name);
    if (!jobs.enabled || !jobs.runner || !job || job.spec?.suspend || job.status?.startTime) return;
    if (!stopped) track(runJob(store, job, jobs.runner, () => jobs.takeFailure()));
  }

  // ---- garbage collector ---------------------------------------------------------------------

  function collect(ownerUid: string): void {
    if (!garbageCollector.enabled) return;
    const orphan = reg.orphaned.delete(ownerUid);
    for (const ref of owners.dependentsOf(ownerUid)) {
      const obj = current(ref.group, ref.resource, ref.namespace, ref.name);
      if (!obj || obj.metadata.deletionTimestamp) continue;
      const refs: any[] = obj.metadata.ownerReferences ?? [];
      const remaining = refs.filter((o) => o.uid !== ownerUid && owners.alive(o.uid));
      const def = reg.table.anyVersion(ref.group, ref.resource);
      if (!orphan && remaining.length === 0 && def && !garbageCollector.takeFailure()) {
        reg.delete(def, ref.namespace, ref.name);
      } else if (orphan) {
        const kept = refs.filter((o) => o.uid !== ownerUid);
        const metadata = {
          ...structuredClone(obj.metadata),
          ownerReferences: kept.length ? kept : undefined,
        };
        store.put(ref.group, ref.resource, { ...structuredClone(obj), metadata });
      }
    }
    owners.forget(ownerUid);
  }

  // ---- namespace lifecycle ---------------------------------------------------------------------

  /** One pending drain per namespace: deleting N objects must not queue N full scans. */
  const drainsQueued = new Set<string>();
  function scheduleDrain(name: string): void {
    if (drainsQueued.has(name)) return;
    drainsQueued.add(name);
    schedule(0, () => {
      drainsQueued.delete(name);
      drainNamespace(name);
    });
  }

  function drainNamespace(name: string): void {
    if (!namespaces.enabled) return;
    const ns = current('', 'namespaces', undefined, name);
    if (!ns?.metadata.deletionTimestamp) return;
    const failure = namespaces.takeFailure();
    if (failure) {
      putStatus('', 'namespaces', ns, {
        ...ns.status,
        conditions: [
          {
            type: 'NamespaceDeletionContentFailure',
            status: 'True',
            reason: 'ContentDeletionFailed',
            message: failure,
            lastTransitionTime: now(),
          },
        ],
      });
      return;
    }
    let remaining = 0;
    for (const r of reg.table.all()) {
      if (!r.namespaced || reg.table.anyVersion(r.group, r.plural) !== r) continue;
      for (const obj of store.list(r.group, r.plural, name)) {
        remaining++;
        if (!obj.metadata.deletionTimestamp) reg.delete(r, name, obj.metadata.name);
      }
    }
    const stillThere = reg.table
      .all()
      .some((r) => r.namespaced && store.list(r.group, r.plural, name).length > 0);
    if (remaining > 0 && stillThere) return; // finalizers hold something; re-checked on its next change
    const nsDef = def('', 'namespaces')!;
    const latest = current('', 'namespaces', undefined, name);
    if (latest)
      reg.update(
        nsDef,
        undefined,
        name,
        { ...structuredClone(latest), spec: { finalizers: [] } },
        { subresource: 'finalize' },
      );
  }

  // ---- dispatch --------------------------------------------------------------------------------

  function onChange(c: Change): void {
    owners.observe(c);
    const o = c.object;
    if (c.type === 'DELETED') {
      const uid = o.metadata.uid;
      schedule(0, () => collect(uid));
    }
    const ns = o.metadata.namespace;
    const name = o.metadata.name;
    const key = `${c.group}|${c.resource}`;
    if (ns) {
      const nsObj = current('', 'namespaces', undefined, ns);
      if (nsObj?.metadata.deletionTimestamp) scheduleDrain(ns);
    }
    switch (key) {
      case `${SNAP}|volumesnapshots`:
        if (c.type === 'DELETED') schedule(0, () => snapshot.enabled && deleteContentOf(o));
        else schedule(0, () => reconcileSnapshot(ns, name));
        if (c.type !== 'DELETED') {
          for (const pvc of store.list('', 'persistentvolumeclaims', ns)) {
            if (pvc.status?.phase === 'Pending') schedule(0, () => bindClaim(ns, pvc.metadata.name));
          }
        }
        break;
      case '|persistentvolumeclaims':
        if (c.type === 'DELETED') schedule(0, () => releaseVolume(o));
        else schedule(0, () => bindClaim(ns, name));
        if (o.status?.phase === 'Bound') {
          for (const vs of store.list(SNAP, 'volumesnapshots', ns)) {
            if (
              vs.spec?.source?.persistentVolumeClaimName === name &&
              !vs.status?.boundVolumeSnapshotContentName
            ) {
              schedule(0, () => reconcileSnapshot(ns, vs.metadata.name));
            }
          }
        }
        break;
      case '|pods':
        if (c.type === 'ADDED') {
          schedule(0, () => startPod(ns, name));
          for (const v of o.spec?.volumes ?? []) {
            if (v.persistentVolumeClaim) schedule(0, () => bindClaim(ns, v.persistentVolumeClaim.claimName));
          }
        }
        break;
      case 'batch|jobs':
        if (c.type === 'ADDED') schedule(0, () => startJob(ns, name));
        break;
      case 'apps|deployments':
      case 'apps|statefulsets':
        if (c.type !== 'DELETED') schedule(0, () => reconcileWorkload(c.group, c.resource, ns, name));
        break;
      case '|namespaces':
        if (c.type === 'MODIFIED' && o.metadata.deletionTimestamp) scheduleDrain(name);
        break;
    }
  }

  store.events.on('change', onChange);

  // Switching a controller back on replays the current objects, like a controller's initial list.
  const replay = (group: string, resource: string) => () => {
    for (const object of store.list(group, resource)) {
      onChange({ type: 'MODIFIED', group, resource, object, resourceVersion: store.resourceVersion });
    }
  };
  snapshot.onEnable = replay(SNAP, 'volumesnapshots');
  pvcBinder.onEnable = replay('', 'persistentvolumeclaims');
  workloads.onEnable = () => {
    replay('apps', 'deployments')();
    replay('apps', 'statefulsets')();
  };
  kubelet.onEnable = () => {
    for (const p of store.list('', 'pods'))
      schedule(0, () => startPod(p.metadata.namespace, p.metadata.name));
  };
  namespaces.onEnable = replay('', 'namespaces');
  garbageCollector.onEnable = () => {
    for (const uid of owners.deadOwners()) schedule(0, () => collect(uid));
  };
  jobs.onEnable = () => {
    for (const j of store.list('batch', 'jobs'))
      schedule(0, () => startJob(j.metadata.namespace, j.metadata.name));
  };

  return {
    snapshot,
    pvcBinder,
    workloads,
    kubelet,
    namespaces,
    jobs,
    garbageCollector,
    idle: () =>
      pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)),
    stop: () => {
      stopped = true;
      store.events.off('change', onChange);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      pending = 0;
      for (const w of idleWaiters) w();
      idleWaiters = [];
    },
  };
}
