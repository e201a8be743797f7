// Per-kind rules of the built-in types that clients notice: defaults set on create (upstream defaulting and
// PrepareForCreate), normalisation (Secret stringData), and the validations restores trip over (immutable
// ConfigMaps/Secrets, Service clusterIP, Job selectors; the immutable fields of other kinds are in immutable.ts).
import { randomInt } from 'node:crypto';
import { validateImmutableFields } from './immutable.js';
import type { ResourceDef } from './resources.js';
import { ApiError, Errors } from './status.js';

const core = (r: ResourceDef, plural: string) => r.group === '' && r.plural === plural;

export function defaultOnCreate(r: ResourceDef, obj: any): void {
  if (r.group === 'batch' && r.plural === 'jobs') return defaultJob(r, obj);
  if (r.group !== '') return;
  switch (r.plural) {
    case 'namespaces':
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
      obj.spec = { finalizers: ['kubernetes'], ...obj.spec };
      obj.status = { phase: 'Active' };
      break;
    case 'pods':
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
      obj.spec = {
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst',
        schedulerName: 'default-scheduler',
        ...obj.spec,
      };
      break;
    case 'persistentvolumeclaims':
      obj.status = { phase: 'Pending' };
      obj.spec = { volumeMode: 'Filesystem', ...obj.spec };
      break;
    case 'persistentvolumes':
      obj.status = { phase: 'Pending' };
      break;
    case 'secrets':
      obj.type = obj.type ?? 'Opaque';
      break;
    case 'services':
      obj.spec = { type: 'ClusterIP', sessionAffinity: 'None', ...obj.spec };
      if (obj.spec.type !== 'ExternalName') {
        if (!obj.spec.clusterIP) obj.spec.clusterIP = `10.96.${randomInt(256)}.${randomInt(1, 255)}`;
        if (!obj.spec.clusterIPs) obj.spec.clusterIPs = [obj.spec.clusterIP];
      }
      obj.status = { loadBalancer: {} };
      break;
  }
}

/**
 * The Job strategy generates the selector and pod labels from the Job's uid unless manualSelector is set, and
 * (upstream's ValidateGeneratedSelector) refuses a Job that brings a selector of its own without manualSelector,
 * or generated labels naming another Job: what a Job copied from another cluster carries.
 */
function defaultJob(r: ResourceDef, job: any): void {
  job.spec = {
    backoffLimit: 6,
    completionMode: 'NonIndexed',
    completions: 1,
    parallelism: 1,
    suspend: false,
    ...job.spec,
  };
  if (job.spec.manualSelector) return;
  const uid = job.metadata.uid;
  const name = job.metadata.name;
  const given = job.spec.selector;
  if (Object.keys(given?.matchLabels ?? {}).length || (given?.matchExpressions ?? []).length) {
    throw Errors.invalid(r, name, [
      {
        field: 'spec.selector',
        type: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(given)}: \`selector\` not auto-generated`,
      },
    ]);
  }
  const template = (job.spec.template = job.spec.template ?? {});
  template.metadata = template.metadata ?? {};
  const expected: Record<string, string> = {
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  };
  for (const [key, value] of Object.entries(expected)) {
    const have = template.metadata.labels?.[key];
    if (have !== undefined && have !== value) {
      throw Errors.invalid(r, name, [
        {
          field: `spec.template.metadata.labels[${key}]`,
          type: 'FieldValueInvalid',
          message: `Invalid value: "${have}": must be '${value}'`,
        },
      ]);
    }
  }
  job.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  template.metadata.labels = { ...template.metadata.labels, ...expected };
}

/** Secret stringData is write-only: the server folds it into data (base64) and drops it. */
export function normalize(r: ResourceDef, obj: any): void {
  if (!core(r, 'secrets')) return;
  for (const [k, v] of Object.entries(obj.data ?? {})) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1) {
      throw Errors.badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data in key ${k}`,
      );
    }
  }
  if (obj.stringData) {
    obj.data = { ...obj.data };
    for (const [k, v] of Object.entries(obj.stringData))
      obj.data[k] = Buffer.from(String(v)).toString('base64');
    delete obj.stringData;
  }
}

function invalid(r: ResourceDef, obj: any, field: string, message: string): ApiError {
  return Errors.invalid(r, obj.metadata.name, [{ field, type: 'FieldValueForbidden', message }]);
}

export function validateObject(r: ResourceDef, obj: any): void {
  if (core(r, 'pods')) {
    const containers = obj.spec?.containers;
    if (!Array.isArray(containers) || containers.length === 0) {
      throw Errors.invalid(r, obj.metadata.name, [
        { field: 'spec.containers', type: 'FieldValueRequired', message: 'Required value' },
      ]);
    }
  }
  if (r.plural === 'customresourcedefinitions') {
    const spec = obj.spec ?? {};
    if (obj.metadata.name !== `${spec.names?.plural}.${spec.group}`) {
      throw Errors.invalid(r, obj.metadata.name, [
        {
          field: 'metadata.name',
          type: 'FieldValueInvalid',
          message: `Invalid value: "${obj.metadata.name}": must be spec.names.plural+"."+spec.group`,
        },
      ]);
    }
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Rules on what an update may change. */
export function validateUpdate(r: ResourceDef, old: any, next: any): void {
  if ((core(r, 'configmaps') || core(r, 'secrets')) && old.immutable === true) {
    if (!same(old.data, next.data) || !same(old.binaryData, next.binaryData)) {
      throw invalid(r, next, 'data', 'Forbidden: field is immutable when `immutable` is set');
    }
    if (next.immutable !== true)
      throw invalid(r, next, 'immutable', 'Forbidden: field is immutable when `immutable` is set');
  }
  if (
    core(r, 'services') &&
    old.spec?.clusterIP &&
    old.spec.clusterIP !== 'None' &&
    old.spec.type !== 'ExternalName'
  ) {
    const ip = next.spec?.clusterIP;
    if (!ip)
      throw invalid(r, next, 'spec.clusterIPs[0]', 'Required value: primary clusterIP can not be unset');
    if (ip !== old.spec.clusterIP) {
      throw Errors.invalid(r, next.metadata.name, [
        {
          field: 'spec.clusterIPs[0]',
          type: 'FieldValueInvalid',
          message: `Invalid value: "${ip}": may not change once set`,
        },
      ]);
    }
  }
  validateImmutableFields(r, old, next);
  if (
    r.group === 'batch' &&
    r.plural === 'jobs' &&
    (!same(old.spec?.selector, next.spec?.selector) || !same(old.spec?.template, next.spec?.template))
  ) {
    throw invalid(r, next, 'spec.template', 'Invalid value: field is immutable');
  }
}
