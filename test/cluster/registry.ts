// Object semantics of the API server, independent of HTTP: create/get/list/update/patch/delete with the
// conventions upstream's generic registry applies (uid, resourceVersion, generation, generateName,
// finalizers, status subresources, namespace lifecycle, CRD registration, dryRun).
import { randomUUID, randomInt } from 'node:crypto';
import { defaultOnCreate, normalize, validateObject, validateUpdate } from './kinds.js';
import { stampManagedFields } from './managed-fields.js';
import { validateMetadata } from './meta-validation.js';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import { groupVersion, resourcesOfCrd, type ResourceDef, type ResourceTable } from './resources.js';
import {
  checkFieldSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from './selectors.js';
import { ApiError, Errors } from './status.js';
import { objectKey, type Store } from './store.js';
import {
  checkContinueScope,
  decodeContinue,
  encodeContinue,
  ListSnapshots,
  listScope,
} from './pagination.js';

export interface WriteOptions {
  dryRun?: boolean;
  /** 'status' for the status subresource. */
  subresource?: string;
  /** Field manager recorded in managedFields (default 'unknown'). */
  manager?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: any[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export type PatchType = 'merge' | 'json' | 'strategic';

/** RFC 3339 with second precision, as metav1.Time serializes. */
export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Groups whose objects carry metadata.generation (bumped on spec changes). */
const GENERATION_GROUPS = new Set([
  'apps',
  'batch',
  'networking.k8s.io',
  'policy',
  'autoscaling',
  'apiextensions.k8s.io',
]);

function tracksGeneration(r: ResourceDef): boolean {
  return Boolean(r.custom) || GENERATION_GROUPS.has(r.group);
}

function specOf(r: ResourceDef, obj: any): string {
  if (r.custom) {
    const { metadata: _m, status: _s, ...rest } = obj;
    return JSON.stringify(rest);
  }
  return JSON.stringify(obj.spec ?? null);
}

function withoutVolatile(obj: any): string {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = obj.metadata ?? {};
  return JSON.stringify({ ...obj, metadata: meta });
}

export class Registry {
  readonly snapshots = new ListSnapshots();
  /** uids deleted with propagationPolicy=Orphan: the garbage collector keeps their dependents. */
  readonly orphaned = new Set<string>();

  constructor(
    readonly store: Store,
    readonly table: ResourceTable,
  ) {}

  /** The stored object, or undefined. Stored objects are never mutated: every write stores a new object. */
  peek(r: ResourceDef, namespace: string | undefined, name: string): any | undefined {
    return this.store.get(r.group, r.plural, r.namespaced ? namespace : undefined, name);
  }

  get(r: ResourceDef, namespace: string | undefined, name: string): any {
    const obj = this.peek(r, namespace, name);
    if (!obj) throw Errors.notFound(r, name);
    return obj;
  }

  private namespaceDef(): ResourceDef {
    return this.table.find('', 'v1', 'namespaces')!;
  }

  private checkNamespaceWritable(r: ResourceDef, namespace: string, name: string): void {
    const ns = this.store.get('', 'namespaces', undefined, namespace);
    if (!ns) throw Errors.notFound(this.namespaceDef(), namespace);
    if (ns.status?.phase === 'Terminating' || ns.metadata.deletionTimestamp) {
      const err = Errors.forbidden(
        r,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
      err.details!.causes = [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${namespace} is being terminated`,
          field: 'metadata.namespace',
        },
      ];
      throw err;
    }
  }

  /**
   * The body's apiVersion/kind against the URL's, as the API server's decoder and create/update handlers
   * check them: built-in kinds default what is missing; custom resources are decoded as unstructured and
   * need both; an apiVersion other than the URL's group/version is refused (a real server does not convert
   * into the requested version either).
   */
  private checkTypeMeta(r: ResourceDef, obj: any): void {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw Errors.badRequest(`the object provided is unrecognized (must be of type ${r.kind})`);
    }
    if (r.custom && !obj.kind) {
      const raw = JSON.stringify(obj);
      const summary = raw.length > 30 ? `${raw.slice(0, 30)} ...` : raw;
      throw Errors.badRequest(
        `the object provided is unrecognized (must be of type ${r.kind}): Object 'Kind' is missing in '${raw}' (${summary})`,
      );
    }
    if (r.custom && !obj.apiVersion) {
      throw Errors.badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(obj)}'`);
    }
    if (obj.kind !== undefined && obj.kind !== r.kind) {
      throw Errors.badRequest(`the object provided is unrecognized (must be of type ${r.kind}): ${obj.kind}`);
    }
    const gv = groupVersion(r);
    if (obj.apiVersion !== undefined && obj.apiVersion !== gv) {
      throw Errors.badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${gv})`,
      );
    }
  }

  private validateName(r: ResourceDef, obj: any): void {
    const name = obj.metadata?.name;
    if (!name) {
      throw Errors.invalid(r, '', [
        {
          field: 'metadata.name',
          type: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
        },
      ]);
    }
    const label = r.plural === 'namespaces';
    const ok = label
      ? DNS1123_LABEL.test(name) && name.length <= 63
      : DNS1123_SUBDOMAIN.test(name) && name.length <= 253;
    if (!ok) {
      const what = label ? 'a lowercase RFC 1123 label' : 'a lowercase RFC 1123 subdomain';
      throw Errors.invalid(r, name, [
        {
          field: 'metadata.name',
          type: 'FieldValueInvalid',
          message: `Invalid value: "${name}": ${what} must consist of lower case alphanumeric characters, '-'${label ? '' : " or '.'"}, and must start and end with an alphanumeric character`,
        },
      ]);
    }
    // Label syntax is checked with the rest of the metadata (meta-validation.ts); a non-string value is
    // already a decoding error upstream.
    for (const v of Object.values(obj.metadata.labels ?? {})) {
      if (typeof v !== 'string') {
        throw Errors.badRequest(
          `json: cannot unmarshal ${typeof v} into Go struct field ObjectMeta.metadata.labels of type string`,
        );
      }
    }
  }

  /** Puts URL namespace and body namespace together the way upstream does. */
  private placeNamespace(r: ResourceDef, obj: any, namespace: string | undefined): void {
    if (!r.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    const bodyNs = obj.metadata.namespace;
    if (bodyNs && namespace && bodyNs !== namespace) {
      throw Errors.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    obj.metadata.namespace = namespace ?? bodyNs;
    if (!obj.metadata.namespace) throw Errors.badRequest('the server could not find the requested resource');
  }

  create(r: ResourceDef, namespace: string | undefined, body: any, opts: WriteOptions = {}): any {
    this.checkTypeMeta(r, body);
    const obj = structuredClone(body);
    obj.apiVersion = groupVersion(r);
    obj.kind = r.kind;
    obj.metadata = obj.metadata ?? {};
    if (obj.metadata.resourceVersion) {
      throw Errors.resourceVersionOnCreate();
    }
    this.placeNamespace(r, obj, namespace);
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name =
        obj.metadata.generateName +
        Array.from({ length: 5 }, () => GENERATE_NAME_CHARS[randomInt(27)]).join('');
    }
    this.validateName(r, obj);
    if (r.namespaced) this.checkNamespaceWritable(r, obj.metadata.namespace, obj.metadata.name);
    if (this.peek(r, obj.metadata.namespace, obj.metadata.name))
      throw Errors.alreadyExists(r, obj.metadata.name);
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = now();
    delete obj.metadata.deletionTimestamp;
    delete obj.metadata.deletionGracePeriodSeconds;
    delete obj.metadata.selfLink;
    if (tracksGeneration(r)) obj.metadata.generation = 1;
    else delete obj.metadata.generation;
    if (r.subresources.includes('status')) delete obj.status;
    defaultOnCreate(r, obj);
    normalize(r, obj);
    validateObject(r, obj);
    validateMetadata(r, obj);
    obj.metadata.managedFields = stampManagedFields(
      undefined,
      obj,
      opts.manager ?? 'unknown',
      obj.metadata.creationTimestamp,
    );
    if (opts.dryRun) return obj;
    const stored = this.store.put(r.group, r.plural, obj);
    if (r.plural === 'customresourcedefinitions') return this.establishCrd(stored);
    return stored;
  }

  private establishCrd(crd: any): any {
    for (const def of resourcesOfCrd(crd)) this.table.add(def);
    const names = crd.spec.names;
    const status = {
      acceptedNames: names,
      storedVersions: (crd.spec.versions ?? []).filter((v: any) => v.storage).map((v: any) => v.name),
      conditions: [
        {
          type: 'NamesAccepted',
          status: 'True',
          reason: 'NoConflicts',
          message: 'no conflicts found',
          lastTransitionTime: now(),
        },
        {
          type: 'Established',
          status: 'True',
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
          lastTransitionTime: now(),
        },
      ],
    };
    return this.store.put('apiextensions.k8s.io', 'customresourcedefinitions', { ...crd, status });
  }

  list(r: ResourceDef, namespace: string | undefined, opts: ListOptions = {}): ListResult {
    let labels;
    let fields;
    try {
      labels = parseLabelSelector(opts.labelSelector ?? '');
      fields = parseFieldSelector(opts.fieldSelector ?? '');
      checkFieldSelector(r.kind, fields);
    } catch (e) {
      if (e instanceof SelectorError) throw Errors.badRequest(e.message);
      throw e;
    }
    const resourceVersion = String(this.store.resourceVersion);
    const filtered = labels.length > 0 || fields.length > 0;
    const matches = (o: any) => matchesLabels(labels, o.metadata.labels) && matchesFields(r.kind, fields, o);
    const ns = r.namespaced ? namespace : undefined;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
    if (!limit && !opts.continue) {
      const all = this.store.list(r.group, r.plural, ns);
      return { items: filtered ? all.filter(matches) : all, resourceVersion };
    }
    // Paginated: every page comes from the snapshot the first page pinned.
    let id: string;
    let snap: { objects: any[]; resourceVersion: number };
    let offset = 0;
    const scope = listScope(r, ns);
    if (opts.continue) {
      const token = decodeContinue(opts.continue);
      checkContinueScope(token, scope, opts.continue);
      snap = this.snapshots.resume(token);
      id = token.snapshot;
      offset = token.offset;
    } else {
      snap = { objects: this.store.list(r.group, r.plural, ns), resourceVersion: this.store.resourceVersion };
      id = this.snapshots.open(snap.objects, snap.resourceVersion);
    }
    const items: any[] = [];
    let i = offset;
    for (; i < snap.objects.length; i++) {
      if (limit && items.length >= limit) break;
      if (!filtered || matches(snap.objects[i])) items.push(snap.objects[i]);
    }
    const listRv = String(snap.resourceVersion);
    if (i >= snap.objects.length) {
      this.snapshots.close(id);
      return { items, resourceVersion: listRv };
    }
    const last = snap.objects[i - 1].metadata;
    return {
      items,
      resourceVersion: listRv,
      continue: encodeContinue({
        rv: snap.resourceVersion,
        start: `${objectKey(last.namespace, last.name)}\u0000`,
        snapshot: id,
        offset: i,
        scope,
      }),
      ...(filtered ? {} : { remainingItemCount: snap.objects.length - i }),
    };
  }

  update(
    r: ResourceDef,
    namespace: string | undefined,
    name: string,
    body: any,
    opts: WriteOptions = {},
  ): any {
    this.checkTypeMeta(r, body);
    const existing = this.get(r, namespace, name);
    const obj = structuredClone(body);
    obj.metadata = obj.metadata ?? {};
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw Errors.badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    this.placeNamespace(r, obj, r.namespaced ? namespace : undefined);
    // A uid in the body is a precondition (rest.DefaultUpdatedObjectInfo), checked by storage before the
    // resourceVersion: the object was deleted and recreated since the client read it.
    const uid = obj.metadata.uid;
    if (uid && uid !== existing.metadata.uid)
      throw Errors.uidPreconditionFailed(r, name, uid, existing.metadata.uid);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== existing.metadata.resourceVersion)
      throw Errors.conflict(r, name);
    if ((rv === undefined || rv === '') && r.custom) {
      throw Errors.invalid(r, name, [
        {
          field: 'metadata.resourceVersion',
          type: 'FieldValueInvalid',
          message: 'Invalid value: 0: must be specified for an update',
        },
      ]);
    }
    return this.commitUpdate(r, existing, obj, opts);
  }

  patch(
    r: ResourceDef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: any,
    opts: WriteOptions = {},
  ): any {
    const existing = this.get(r, namespace, name);
    let patched: any;
    try {
      if (type === 'json') patched = jsonPatch(existing, patch);
      else if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
        throw new PatchError(
          'json: cannot unmarshal array into Go value of type map[string]interface {}',
          400,
        );
      } else if (type === 'merge') patched = mergePatch(existing, patch);
      else patched = strategicMergePatch(existing, patch);
    } catch (e) {
      if (e instanceof PatchError) {
        if (e.status === 400) throw Errors.badRequest(e.message);
        // Errors strategicpatch does not classify reach the client as a bare 500 without a reason.
        if (e.status === 500) throw new ApiError(500, '', e.message);
        throw new ApiError(422, 'Invalid', e.message, {});
      }
      throw e;
    }
    patched.metadata = patched.metadata ?? {};
    if (
      patched.metadata.name !== name ||
      (r.namespaced && patched.metadata.namespace !== existing.metadata.namespace)
    ) {
      throw Errors.badRequest('metadata.name and metadata.namespace cannot be changed by a patch');
    }
    if (patched.metadata.uid !== undefined && patched.metadata.uid !== existing.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${patched.metadata.uid}, UID in object meta: ${existing.metadata.uid}`,
        {},
      );
    }
    const rv = patched.metadata.resourceVersion;
    if (rv !== undefined && rv !== existing.metadata.resourceVersion) throw Errors.conflict(r, name);
    return this.commitUpdate(r, existing, patched, opts);
  }

  private commitUpdate(r: ResourceDef, existing: any, obj: any, opts: WriteOptions): any {
    obj.apiVersion = groupVersion(r);
    obj.kind = r.kind;
    const meta = obj.metadata;
    // System fields are the server's, whatever the client sent.
    meta.uid = existing.metadata.uid;
    meta.creationTimestamp = existing.metadata.creationTimestamp;
    meta.resourceVersion = existing.metadata.resourceVersion;
    if (existing.metadata.deletionTimestamp) {
      meta.deletionTimestamp = existing.metadata.deletionTimestamp;
      meta.deletionGracePeriodSeconds = existing.metadata.deletionGracePeriodSeconds;
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    let result = obj;
    if (opts.subresource === 'status') {
      // The status subresource takes the status and nothing else.
      result = { ...structuredClone(existing), status: obj.status };
    } else if (r.subresources.includes('status')) {
      if (existing.status === undefined) delete result.status;
      else result.status = structuredClone(existing.status);
    }
    if (tracksGeneration(r)) {
      result.metadata.generation = existing.metadata.generation ?? 1;
      if (opts.subresource !== 'status' && specOf(r, existing) !== specOf(r, result))
        result.metadata.generation += 1;
    }
    if (r.plural === 'namespaces' && r.group === '' && opts.subresource !== 'finalize') {
      result.spec = existing.spec; // spec.finalizers changes only through /finalize
      result.metadata.labels = {
        ...result.metadata.labels,
        'kubernetes.io/metadata.name': result.metadata.name,
      };
    }
    if (r.plural === 'namespaces' && opts.subresource === 'finalize') {
      result = {
        ...structuredClone(existing),
        spec: { ...existing.spec, finalizers: obj.spec?.finalizers ?? [] },
      };
    }
    if (opts.subresource !== 'status') normalize(r, result);
    validateObject(r, result);
    validateMetadata(r, result, existing);
    validateUpdate(r, existing, result);
    // An update that changes nothing is not a write: same resourceVersion, no event.
    if (withoutVolatile(result) === withoutVolatile(existing)) return existing;
    // A client that sends no managedFields keeps the recorded ones; then this write is recorded.
    const recorded = result.metadata.managedFields ?? existing.metadata.managedFields;
    const sub = opts.subresource === 'status' ? 'status' : undefined;
    result.metadata.managedFields = stampManagedFields(
      recorded,
      result,
      opts.manager ?? 'unknown',
      now(),
      sub,
    );
    if (opts.dryRun) return result;
    if (result.metadata.deletionTimestamp && this.finalizersOf(r, result).length === 0) {
      return this.store.remove(r.group, r.plural, result.metadata.namespace, result.metadata.name);
    }
    return this.store.put(r.group, r.plural, result);
  }

  private finalizersOf(r: ResourceDef, obj: any): string[] {
    const meta: string[] = obj.metadata.finalizers ?? [];
    if (r.group === '' && r.plural === 'namespaces') return [...meta, ...(obj.spec?.finalizers ?? [])];
    return meta;
  }

  /**
   * Deletes, or marks for deletion while finalizers remain. Returns the object and whether it is gone.
   */
  delete(
    r: ResourceDef,
    namespace: string | undefined,
    name: string,
    opts: WriteOptions & {
      preconditions?: { uid?: string; resourceVersion?: string };
      orphan?: boolean;
    } = {},
  ): { object: any; deleted: boolean } {
    const existing = this.get(r, namespace, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== existing.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${r.group ? `${r.plural}.${r.group}` : r.plural} "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`,
        { name, kind: r.plural },
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw Errors.conflict(r, name);
    }
    if (this.finalizersOf(r, existing).length > 0) {
      if (existing.metadata.deletionTimestamp) return { object: existing, deleted: false };
      const marked = structuredClone(existing);
      marked.metadata.deletionTimestamp = now();
      marked.metadata.deletionGracePeriodSeconds = 0;
      if (r.group === '' && r.plural === 'namespaces')
        marked.status = { ...marked.status, phase: 'Terminating' };
      if (opts.dryRun) return { object: marked, deleted: false };
      return { object: this.store.put(r.group, r.plural, marked), deleted: false };
    }
    if (opts.dryRun) return { object: existing, deleted: true };
    if (opts.orphan) this.orphaned.add(existing.metadata.uid);
    const removed = this.store.remove(r.group, r.plural, existing.metadata.namespace, name);
    if (r.plural === 'customresourcedefinitions' && r.group === 'apiextensions.k8s.io')
      this.unregisterCrd(removed);
    return { object: removed, deleted: true };
  }

  private unregisterCrd(crd: any): void {
    const { group, names } = crd.spec ?? {};
    this.table.removeCustom(group, names?.plural);
    this.store.dropResource(group, names?.plural);
  }

  deleteCollection(
    r: ResourceDef,
    namespace: string | undefined,
    opts: ListOptions & WriteOptions & { orphan?: boolean } = {},
  ): any[] {
    const { items } = this.list(r, namespace, {
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
    });
    return items.map(
      (o) =>
        this.delete(r, o.metadata.namespace, o.metadata.name, { dryRun: opts.dryRun, orphan: opts.orphan })
          .object,
    );
  }
}
