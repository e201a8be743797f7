// meta.k8s.io/v1 Table responses, which `kubectl get` asks for. Columns follow upstream's printers for the
// kinds we print often, CRD additionalPrinterColumns for custom resources, and NAME/AGE for the rest.
import type { ResourceDef } from './resources.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  value: (o: any) => unknown;
}

/** Upstream's duration.HumanDuration, short form. */
export function humanAge(since: string | undefined, nowMs = Date.now()): string {
  if (!since) return '<unknown>';
  const s = Math.max(0, Math.floor((nowMs - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y${d % 365 ? `${d % 365}d` : ''}`;
}

const name: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  value: (o) => o.metadata.name,
};
const age: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp',
  value: (o) => humanAge(o.metadata.creationTimestamp),
};

function col(n: string, value: (o: any) => unknown, type = 'string'): Column {
  return { name: n, type, value };
}

const BUILTIN_COLUMNS: Record<string, Column[]> = {
  Pod: [
    name,
    col('Ready', (o) => {
      const statuses: any[] = o.status?.containerStatuses ?? [];
      return `${statuses.filter((c) => c.ready).length}/${o.spec?.containers?.length ?? 0}`;
    }),
    col('Status', (o) => (o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? 'Unknown'))),
    col(
      'Restarts',
      (o) => (o.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0),
      'string',
    ),
    age,
  ],
  Namespace: [name, col('Status', (o) => o.status?.phase ?? ''), age],
  PersistentVolumeClaim: [
    name,
    col('Status', (o) => o.status?.phase ?? ''),
    col('Volume', (o) => o.spec?.volumeName ?? ''),
    col('Capacity', (o) => o.status?.capacity?.storage ?? ''),
    col('Access Modes', (o) => (o.status?.accessModes ?? []).map(shortMode).join(',')),
    col('StorageClass', (o) => o.spec?.storageClassName ?? ''),
    age,
  ],
  PersistentVolume: [
    name,
    col('Capacity', (o) => o.spec?.capacity?.storage ?? ''),
    col('Access Modes', (o) => (o.spec?.accessModes ?? []).map(shortMode).join(',')),
    col('Reclaim Policy', (o) => o.spec?.persistentVolumeReclaimPolicy ?? ''),
    col('Status', (o) => o.status?.phase ?? ''),
    col('Claim', (o) => (o.spec?.claimRef ? `${o.spec.claimRef.namespace}/${o.spec.claimRef.name}` : '')),
    col('StorageClass', (o) => o.spec?.storageClassName ?? ''),
    age,
  ],
  Deployment: [
    name,
    col('Ready', (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`),
    col('Up-to-date', (o) => o.status?.updatedReplicas ?? 0, 'integer'),
    col('Available', (o) => o.status?.availableReplicas ?? 0, 'integer'),
    age,
  ],
  StatefulSet: [name, col('Ready', (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`), age],
  Job: [
    name,
    col('Status', (o) => (o.status?.succeeded ? 'Complete' : o.status?.failed ? 'Failed' : 'Running')),
    col('Completions', (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`),
    age,
  ],
  CronJob: [
    name,
    col('Schedule', (o) => o.spec?.schedule ?? ''),
    col('Suspend', (o) => String(o.spec?.suspend ?? false)),
    age,
  ],
  ConfigMap: [
    name,
    col('Data', (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, 'integer'),
    age,
  ],
  Secret: [
    name,
    col('Type', (o) => o.type ?? ''),
    col('Data', (o) => Object.keys(o.data ?? {}).length, 'integer'),
    age,
  ],
};

function shortMode(mode: string): string {
  return (
    (
      { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' } as Record<
        string,
        string
      >
    )[mode] ?? mode
  );
}

/** Evaluates the simple JSONPath (`.a.b.c`) CRD printer columns use. */
function jsonPathValue(obj: any, path: string): unknown {
  let cur = obj;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (cur === null || cur === undefined) return undefined;
    cur = cur[part];
  }
  return cur;
}

function crdColumns(crd: any, version: string): Column[] {
  const v = (crd?.spec?.versions ?? []).find((x: any) => x.name === version);
  const printer: any[] = v?.additionalPrinterColumns ?? [];
  if (printer.length === 0) return [name, age];
  return [
    name,
    ...printer.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format,
      description: c.description,
      priority: c.priority ?? 0,
      value: (o: any) => {
        const raw = jsonPathValue(o, c.jsonPath);
        if (c.type === 'date') return raw === undefined ? '<unknown>' : humanAge(String(raw));
        return raw ?? null;
      },
    })),
  ];
}

export function toTable(
  r: ResourceDef,
  objects: any[],
  listMeta: any,
  includeObject: string,
  crd?: any,
): any {
  const columns = r.custom ? crdColumns(crd, r.version) : (BUILTIN_COLUMNS[r.kind] ?? [name, age]);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.value(o)),
      object:
        includeObject === 'None'
          ? undefined
          : includeObject === 'Object'
            ? o
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
