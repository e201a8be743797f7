// metadata.managedFields as a real server records them on every write, so that code reading objects back
// (exports, restores, diffs) meets them as it will on a cluster. The fieldsV1 sets are a simplification:
// maps are tracked per key, lists as a whole (upstream also keys list items).

const SERVER_OWNED_META = new Set([
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'managedFields',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);

function fieldSet(value: any): any {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, any> = { '.': {} };
  for (const [k, v] of Object.entries(value)) out[`f:${k}`] = fieldSet(v);
  return out;
}

/** The fields an object sets, as a FieldsV1 tree; status only for the status subresource and never otherwise. */
export function fieldsOf(obj: any, subresource?: string): any {
  if (subresource === 'status') return { 'f:status': fieldSet(obj.status) };
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    if (k === 'metadata') {
      const meta: Record<string, any> = {};
      for (const [mk, mv] of Object.entries(v as object)) {
        if (!SERVER_OWNED_META.has(mk) && mk !== 'name' && mk !== 'namespace' && mk !== 'generateName')
          meta[`f:${mk}`] = fieldSet(mv);
      }
      if (Object.keys(meta).length) out['f:metadata'] = meta;
      continue;
    }
    out[`f:${k}`] = fieldSet(v);
  }
  return out;
}

/** The manager name upstream derives: the fieldManager parameter, else the user agent up to its first '/'. */
export function managerName(fieldManager: string | null | undefined, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  const prefix = (userAgent ?? '').split('/')[0].trim();
  return prefix || 'unknown';
}

/** Replaces this manager's entry (per operation and subresource) with the fields the object now sets. */
export function stampManagedFields(
  previous: any[] | undefined,
  obj: any,
  manager: string,
  time: string,
  subresource?: string,
): any[] {
  const entry = {
    manager,
    operation: 'Update',
    apiVersion: obj.apiVersion,
    time,
    fieldsType: 'FieldsV1',
    fieldsV1: fieldsOf(obj, subresource),
    ...(subresource ? { subresource } : {}),
  };
  const others = (previous ?? []).filter(
    (e) =>
      !(e.manager === manager && e.operation === 'Update' && (e.subresource ?? '') === (subresource ?? '')),
  );
  return [...others, entry];
}
