// The three patch types a Kubernetes API server accepts besides server-side apply:
// JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch (maps, and lists merged
// by the patchMergeKey the upstream Go types declare for the well-known fields).

export class PatchError extends Error {
  constructor(
    message: string,
    readonly status = 422,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: any, patch: any): any {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, any> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer "${path}"`, 422);
  return path.slice(1).split('/').map(unescapePointer);
}

function getAt(doc: any, tokens: string[]): any {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

function parentOf(doc: any, tokens: string[], op: string, path: string): any {
  const parent = getAt(doc, tokens.slice(0, -1));
  if (parent === null || typeof parent !== 'object') {
    throw new PatchError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return parent;
}

function arrayIndex(arr: any[], token: string, allowEnd: boolean, path: string): number {
  if (token === '-' && allowEnd) return arr.length;
  if (!/^\d+$/.test(token)) throw new PatchError(`invalid array index "${token}" in "${path}"`);
  const i = Number(token);
  if (i > arr.length || (!allowEnd && i === arr.length)) {
    throw new PatchError(`Unable to access invalid index: ${i}: invalid index referenced in "${path}"`);
  }
  return i;
}

function remove(doc: any, tokens: string[], path: string): any {
  const parent = parentOf(doc, tokens, 'remove', path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, false, path);
    return parent.splice(i, 1)[0];
  }
  if (!(last in parent)) {
    throw new PatchError(`remove operation does not apply: doc is missing path: "${path}": missing value`);
  }
  const v = parent[last];
  delete parent[last];
  return v;
}

function add(doc: any, tokens: string[], value: any, path: string, op = 'add'): any {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true, path), 0, value);
  else parent[last] = value;
  return doc;
}

export function jsonPatch(target: any, ops: any): any {
  if (!Array.isArray(ops))
    throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch', 400);
  let doc = structuredClone(target);
  for (const op of ops) {
    const path = String(op.path ?? '');
    const tokens = parsePointer(path);
    switch (op.op) {
      case 'add':
        doc = add(doc, tokens, structuredClone(op.value), path);
        break;
      case 'remove':
        remove(doc, tokens, path);
        break;
      case 'replace': {
        if (tokens.length === 0) {
          doc = structuredClone(op.value);
          break;
        }
        // As the API server's JSON patch (evanphx/json-patch v4): a missing member of an existing object is set,
        // like add; only a missing parent, or an array index out of range, is refused.
        const parent = getAt(doc, tokens.slice(0, -1));
        if (parent === undefined || parent === null || typeof parent !== 'object') {
          throw new PatchError(
            `replace operation does not apply: doc is missing path: ${path}: missing value`,
          );
        }
        const last = tokens[tokens.length - 1];
        if (Array.isArray(parent)) parent[arrayIndex(parent, last, false, path)] = structuredClone(op.value);
        else parent[last] = structuredClone(op.value);
        break;
      }
      case 'move': {
        const from = parsePointer(String(op.from ?? ''));
        const v = remove(doc, from, op.from);
        doc = add(doc, tokens, v, path, 'move');
        break;
      }
      case 'copy': {
        const v = getAt(doc, parsePointer(String(op.from ?? '')));
        if (v === undefined)
          throw new PatchError(`copy operation does not apply: doc is missing from path: ${op.from}`);
        doc = add(doc, tokens, structuredClone(v), path, 'copy');
        break;
      }
      case 'test': {
        const v = getAt(doc, tokens);
        if (JSON.stringify(canonical(v)) !== JSON.stringify(canonical(op.value))) {
          throw new PatchError(`testing value ${path} failed: test failed`);
        }
        break;
      }
      default:
        throw new PatchError(`Unexpected kind: ${op.op}`, 422);
    }
  }
  return doc;
}

function canonical(v: any): any {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    );
  return v;
}

/**
 * patchMergeKey of list fields in the built-in types (k8s.io/api), by field name. A field that is not here
 * is replaced as a whole, as upstream does for lists without a patch strategy.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};

/** Lists of primitives merged as sets. */
const SET_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, items: any[]): string | undefined {
  if (field === 'ports') {
    // Container ports merge on containerPort, Service ports on port.
    return items.some((p) => isObject(p) && 'containerPort' in p) ? 'containerPort' : 'port';
  }
  return MERGE_KEYS[field];
}

/** A decoded JSON value as Go's %v prints it (maps with sorted keys), for upstream's error messages. */
function goValue(v: any): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (isObject(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goValue(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

export function strategicMergePatch(target: any, patch: any): any {
  return smpMap(isObject(target) ? target : {}, patch);
}

function smpMap(target: Record<string, any>, patch: any): any {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return structuredClone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, any> = { ...target };
  const retainKeys: string[] | undefined = patch.$retainKeys;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k === '$patch') continue;
    if (k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field])) out[field] = out[field].filter((x: any) => !(v as any[]).includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      out[k] = smpList(k, Array.isArray(out[k]) ? out[k] : [], v);
    } else if (isObject(v)) {
      const merged = smpMap(isObject(out[k]) ? out[k] : {}, v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  if (retainKeys)
    for (const k of Object.keys(out)) if (!retainKeys.includes(k) && !(k in patch)) delete out[k];
  return out;
}

function smpList(field: string, target: any[], patch: any[]): any[] {
  if (SET_LISTS.has(field)) return [...target, ...patch.filter((x) => !target.includes(x))];
  const key = mergeKeyFor(field, [...target, ...patch]);
  if (!key) {
    return structuredClone(patch.filter((p) => !(isObject(p) && p.$patch)));
  }
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return structuredClone(patch.filter((p) => !(isObject(p) && p.$patch === 'replace')));
  }
  const out = [...target];
  for (const item of patch) {
    if (!isObject(item)) throw new PatchError(`${field}: a list merged by ${key} holds a non-object`, 400);
    // Upstream refuses the whole patch (mergepatch.ErrNoMergeKey, which the server answers as a bare 500)
    // rather than appending an item it cannot identify.
    if (!(key in item))
      throw new PatchError(`map: ${goValue(item)} does not contain declared merge key: ${key}`, 500);
    const idx = out.findIndex((o) => isObject(o) && o[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = smpMap(out[idx], item);
    else out.push(smpMap({}, item));
  }
  return out;
}
