// The resource table: what the emulated API server serves, as discovery describes it.
// Built-in entries mirror what a Kubernetes 1.32 API server lists; CRDs add entries at runtime.

export interface ResourceDef {
  group: string; // '' for the core group
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
  /** Subresources served, e.g. ['status', 'exec', 'log']. */
  subresources: string[];
  /** True for resources defined by a CustomResourceDefinition. */
  custom?: boolean;
}

export const STANDARD_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

interface Short {
  g?: string;
  v?: string;
  plural: string;
  kind: string;
  ns?: boolean;
  short?: string[];
  cat?: string[];
  sub?: string[];
  singular?: string;
  verbs?: string[];
}

function def(s: Short): ResourceDef {
  return {
    group: s.g ?? '',
    version: s.v ?? 'v1',
    plural: s.plural,
    singular: s.singular ?? s.kind.toLowerCase(),
    kind: s.kind,
    namespaced: s.ns ?? true,
    verbs: s.verbs ?? STANDARD_VERBS,
    shortNames: s.short ?? [],
    categories: s.cat ?? [],
    subresources: s.sub ?? [],
  };
}

const apps = 'apps';
const rbac = 'rbac.authorization.k8s.io';

export const BUILTIN_RESOURCES: ResourceDef[] = [
  def({
    plural: 'namespaces',
    kind: 'Namespace',
    ns: false,
    short: ['ns'],
    sub: ['status', 'finalize'],
    // Namespaces have no deletecollection upstream: a whole-cluster wipe is not one request away.
    verbs: STANDARD_VERBS.filter((v) => v !== 'deletecollection'),
  }),
  def({ plural: 'configmaps', kind: 'ConfigMap', short: ['cm'] }),
  def({ plural: 'secrets', kind: 'Secret' }),
  def({ plural: 'serviceaccounts', kind: 'ServiceAccount', short: ['sa'] }),
  def({ plural: 'services', kind: 'Service', short: ['svc'], cat: ['all'], sub: ['status'] }),
  def({ plural: 'endpoints', kind: 'Endpoints', singular: 'endpoints', short: ['ep'] }),
  def({ plural: 'pods', kind: 'Pod', short: ['po'], cat: ['all'], sub: ['status', 'exec', 'log'] }),
  def({ plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', short: ['pvc'], sub: ['status'] }),
  def({ plural: 'persistentvolumes', kind: 'PersistentVolume', ns: false, short: ['pv'], sub: ['status'] }),
  def({ plural: 'events', kind: 'Event', short: ['ev'] }),
  def({ plural: 'limitranges', kind: 'LimitRange', short: ['limits'] }),
  def({ plural: 'resourcequotas', kind: 'ResourceQuota', short: ['quota'], sub: ['status'] }),
  def({
    g: apps,
    plural: 'deployments',
    kind: 'Deployment',
    short: ['deploy'],
    cat: ['all'],
    sub: ['status', 'scale'],
  }),
  def({
    g: apps,
    plural: 'statefulsets',
    kind: 'StatefulSet',
    short: ['sts'],
    cat: ['all'],
    sub: ['status', 'scale'],
  }),
  def({ g: apps, plural: 'daemonsets', kind: 'DaemonSet', short: ['ds'], cat: ['all'], sub: ['status'] }),
  def({
    g: apps,
    plural: 'replicasets',
    kind: 'ReplicaSet',
    short: ['rs'],
    cat: ['all'],
    sub: ['status', 'scale'],
  }),
  def({ g: 'batch', plural: 'jobs', kind: 'Job', cat: ['all'], sub: ['status'] }),
  def({ g: 'batch', plural: 'cronjobs', kind: 'CronJob', short: ['cj'], cat: ['all'], sub: ['status'] }),
  def({ g: 'networking.k8s.io', plural: 'ingresses', kind: 'Ingress', short: ['ing'], sub: ['status'] }),
  def({ g: 'networking.k8s.io', plural: 'networkpolicies', kind: 'NetworkPolicy', short: ['netpol'] }),
  def({ g: rbac, plural: 'roles', kind: 'Role' }),
  def({ g: rbac, plural: 'rolebindings', kind: 'RoleBinding' }),
  def({ g: rbac, plural: 'clusterroles', kind: 'ClusterRole', ns: false }),
  def({ g: rbac, plural: 'clusterrolebindings', kind: 'ClusterRoleBinding', ns: false }),
  def({
    g: 'policy',
    plural: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    short: ['pdb'],
    sub: ['status'],
  }),
  def({
    g: 'autoscaling',
    v: 'v2',
    plural: 'horizontalpodautoscalers',
    kind: 'HorizontalPodAutoscaler',
    short: ['hpa'],
    cat: ['all'],
    sub: ['status'],
  }),
  def({ g: 'storage.k8s.io', plural: 'storageclasses', kind: 'StorageClass', ns: false, short: ['sc'] }),
  def({ g: 'discovery.k8s.io', plural: 'endpointslices', kind: 'EndpointSlice' }),
  def({ g: 'coordination.k8s.io', plural: 'leases', kind: 'Lease' }),
  def({
    g: 'apiextensions.k8s.io',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    ns: false,
    short: ['crd', 'crds'],
    cat: ['api-extensions'],
    sub: ['status'],
  }),
];

/** What discovery says about a subresource: its kind and verbs, as a real server lists them. */
export function subresourceInfo(
  r: ResourceDef,
  sub: string,
): { kind: string; verbs: string[]; group?: string; version?: string } {
  switch (sub) {
    case 'status':
      return { kind: r.kind, verbs: ['get', 'patch', 'update'] };
    case 'exec':
      return { kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'log':
      return { kind: 'Pod', verbs: ['get'] };
    case 'finalize':
      return { kind: r.kind, verbs: ['update'] };
    case 'scale':
      return { kind: 'Scale', verbs: ['get', 'patch', 'update'], group: 'autoscaling', version: 'v1' };
    default:
      return { kind: r.kind, verbs: ['get'] };
  }
}

export function groupVersion(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The resources a CRD object declares, one per served version. */
export function resourcesOfCrd(crd: any): ResourceDef[] {
  const spec = crd?.spec ?? {};
  const names = spec.names ?? {};
  return (spec.versions ?? [])
    .filter((v: any) => v.served !== false)
    .map((v: any) => ({
      group: spec.group,
      version: v.name,
      plural: names.plural,
      singular: names.singular ?? String(names.kind ?? '').toLowerCase(),
      kind: names.kind,
      namespaced: spec.scope !== 'Cluster',
      verbs: STANDARD_VERBS,
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      subresources: v.subresources?.status ? ['status'] : [],
      custom: true,
    }));
}

const col = (name: string, type: string, jsonPath: string) => ({ name, type, jsonPath });
/** A subset of the columns external-snapshotter's CRDs print. */
const printerColumns: Record<string, any[]> = {
  VolumeSnapshot: [
    col('ReadyToUse', 'boolean', '.status.readyToUse'),
    col('SourcePVC', 'string', '.spec.source.persistentVolumeClaimName'),
    col('RestoreSize', 'string', '.status.restoreSize'),
    col('SnapshotClass', 'string', '.spec.volumeSnapshotClassName'),
    col('SnapshotContent', 'string', '.status.boundVolumeSnapshotContentName'),
    col('CreationTime', 'date', '.status.creationTime'),
    col('Age', 'date', '.metadata.creationTimestamp'),
  ],
  VolumeSnapshotContent: [
    col('ReadyToUse', 'boolean', '.status.readyToUse'),
    col('RestoreSize', 'integer', '.status.restoreSize'),
    col('DeletionPolicy', 'string', '.spec.deletionPolicy'),
    col('Driver', 'string', '.spec.driver'),
    col('VolumeSnapshot', 'string', '.spec.volumeSnapshotRef.name'),
    col('VolumeSnapshotNamespace', 'string', '.spec.volumeSnapshotRef.namespace'),
    col('Age', 'date', '.metadata.creationTimestamp'),
  ],
  VolumeSnapshotClass: [
    col('Driver', 'string', '.driver'),
    col('DeletionPolicy', 'string', '.deletionPolicy'),
    col('Age', 'date', '.metadata.creationTimestamp'),
  ],
};

function snapshotCrd(
  plural: string,
  singular: string,
  kind: string,
  scope: string,
  shortNames: string[],
  status: boolean,
) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.snapshot.storage.k8s.io`,
      annotations: {
        'api-approved.kubernetes.io': 'https://github.com/kubernetes-csi/external-snapshotter/pull/814',
      },
    },
    spec: {
      group: 'snapshot.storage.k8s.io',
      names: { plural, singular, kind, listKind: `${kind}List`, shortNames },
      scope,
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: status ? { status: {} } : undefined,
          additionalPrinterColumns: printerColumns[kind],
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

/** The external-snapshotter CRDs, as a cluster with a CSI snapshot controller has them. */
export function snapshotCrds(): any[] {
  return [
    snapshotCrd('volumesnapshots', 'volumesnapshot', 'VolumeSnapshot', 'Namespaced', ['vs'], true),
    snapshotCrd(
      'volumesnapshotcontents',
      'volumesnapshotcontent',
      'VolumeSnapshotContent',
      'Cluster',
      ['vsc', 'vscs'],
      true,
    ),
    snapshotCrd(
      'volumesnapshotclasses',
      'volumesnapshotclass',
      'VolumeSnapshotClass',
      'Cluster',
      ['vsclass', 'vsclasses'],
      false,
    ),
  ];
}

/** Lookup of the current resource table by group/version/plural and by kind. */
export class ResourceTable {
  private byPath = new Map<string, ResourceDef>();
  private ordered: ResourceDef[] = [];

  constructor(defs: ResourceDef[]) {
    for (const d of defs) this.add(d);
  }

  add(d: ResourceDef): void {
    const key = `${groupVersion(d)}/${d.plural}`;
    if (!this.byPath.has(key)) this.ordered.push(d);
    else this.ordered = this.ordered.map((o) => (`${groupVersion(o)}/${o.plural}` === key ? d : o));
    this.byPath.set(key, d);
  }

  removeCustom(group: string, plural: string): void {
    this.ordered = this.ordered.filter((d) => !(d.custom && d.group === group && d.plural === plural));
    for (const [k, d] of this.byPath)
      if (d.custom && d.group === group && d.plural === plural) this.byPath.delete(k);
  }

  find(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.byPath.get(`${group ? `${group}/${version}` : version}/${plural}`);
  }

  byKind(apiVersion: string, kind: string): ResourceDef | undefined {
    return this.ordered.find((d) => groupVersion(d) === apiVersion && d.kind === kind);
  }

  /** Any version's entry for a group and plural (objects are stored once per group/resource). */
  anyVersion(group: string, plural: string): ResourceDef | undefined {
    return this.ordered.find((d) => d.group === group && d.plural === plural);
  }

  all(): ResourceDef[] {
    return this.ordered;
  }

  groupVersions(): { group: string; versions: string[] }[] {
    const out = new Map<string, string[]>();
    for (const d of this.ordered) {
      if (!d.group) continue;
      const versions = out.get(d.group) ?? [];
      if (!versions.includes(d.version)) versions.push(d.version);
      out.set(d.group, versions);
    }
    return [...out].map(([group, versions]) => ({ group, versions }));
  }
}
