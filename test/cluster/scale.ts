// The scale subresource of Deployments, StatefulSets and ReplicaSets: an autoscaling/v1 Scale view whose
// spec.replicas writes through to the workload (what `kubectl scale` and HPAs use).
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import type { PatchType, Registry, WriteOptions } from './registry.js';
import type { ResourceDef } from './resources.js';
import { ApiError, Errors } from './status.js';

function selectorString(selector: any): string {
  return Object.entries(selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function toScale(obj: any): any {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: obj.spec?.replicas ?? 1 },
    status: { replicas: obj.status?.replicas ?? 0, selector: selectorString(obj.spec?.selector) },
  };
}

function writeReplicas(reg: Registry, r: ResourceDef, existing: any, scale: any, opts: WriteOptions): any {
  const replicas = scale?.spec?.replicas;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw Errors.invalid({ group: 'autoscaling', kind: 'Scale' } as ResourceDef, existing.metadata.name, [
      {
        field: 'spec.replicas',
        type: 'FieldValueInvalid',
        message: `Invalid value: ${replicas}: must be greater than or equal to 0`,
      },
    ]);
  }
  const rv = scale?.metadata?.resourceVersion;
  if (rv && rv !== existing.metadata.resourceVersion) throw Errors.conflict(r, existing.metadata.name);
  const next = { ...structuredClone(existing), spec: { ...structuredClone(existing.spec), replicas } };
  return toScale(
    reg.update(r, existing.metadata.namespace, existing.metadata.name, next, {
      dryRun: opts.dryRun,
      manager: opts.manager,
    }),
  );
}

export function updateScale(
  reg: Registry,
  r: ResourceDef,
  ns: string | undefined,
  name: string,
  body: any,
  opts: WriteOptions,
): any {
  return writeReplicas(reg, r, reg.get(r, ns, name), body, opts);
}

export function patchScale(
  reg: Registry,
  r: ResourceDef,
  ns: string | undefined,
  name: string,
  type: PatchType,
  patch: any,
  opts: WriteOptions,
): any {
  const existing = reg.get(r, ns, name);
  const current = toScale(existing);
  let patched: any;
  try {
    patched =
      type === 'json'
        ? jsonPatch(current, patch)
        : type === 'merge'
          ? mergePatch(current, patch)
          : strategicMergePatch(current, patch);
  } catch (e) {
    if (e instanceof PatchError)
      throw e.status === 400 ? Errors.badRequest(e.message) : new ApiError(422, 'Invalid', e.message, {});
    throw e;
  }
  return writeReplicas(reg, r, existing, patched, opts);
}
