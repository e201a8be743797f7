// ObjectMeta rules every kind shares, as k8s.io/apimachinery/pkg/api/validation/objectmeta.go and
// pkg/apis/core/validation apply them on create and update: label keys and values, annotation keys and
// their total size, finalizer names, and no new finalizers once deletion has started. Messages are
// upstream's, because clients (and people) match on them.
import type { ResourceDef } from './resources.js';
import { Errors } from './status.js';

export interface FieldCause {
  field: string;
  type: string;
  message: string;
}

const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** 256 KiB over all keys and values, counted in bytes. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** Finalizers a built-in object may carry without a domain prefix. */
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/** validation.RegexError, with upstream's quirky double space between examples. */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  const eg = examples.map((e) => `'${e}', `).join(' or ');
  return `${msg} (e.g. ${eg}regex used for validation is '${fmt}')`;
}

/** %q of a Go string (close enough for the ASCII these messages carry). */
export const goQuote = (s: string): string => JSON.stringify(s);

function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value))
    errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

/** validation.IsQualifiedName: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const [prefix] = parts;
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123SubdomainErrors(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (!QUALIFIED_NAME.test(name))
    errs.push(
      `name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`,
    );
  return errs;
}

/** validation.IsValidLabelValue. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(value))
    errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

const invalidValue = (field: string, value: string, message: string): FieldCause => ({
  field,
  type: 'FieldValueInvalid',
  message: `Invalid value: ${goQuote(value)}: ${message}`,
});

function labelCauses(labels: Record<string, string> | undefined): FieldCause[] {
  const out: FieldCause[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of qualifiedNameErrors(k)) out.push(invalidValue('metadata.labels', k, m));
    for (const m of labelValueErrors(String(v))) out.push(invalidValue('metadata.labels', String(v), m));
  }
  return out;
}

function annotationCauses(annotations: Record<string, string> | undefined): FieldCause[] {
  const out: FieldCause[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    // Case does not matter in annotation keys, so upstream checks the lowercased key.
    for (const m of qualifiedNameErrors(k.toLowerCase()))
      out.push(invalidValue('metadata.annotations', k, m));
    size += Buffer.byteLength(k) + Buffer.byteLength(String(v ?? ''));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) {
    out.push({
      field: 'metadata.annotations',
      type: 'FieldValueTooLong',
      message: `Too long: may not be more than ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`,
    });
  }
  return out;
}

function finalizerCauses(r: ResourceDef, finalizers: unknown): FieldCause[] {
  if (!Array.isArray(finalizers)) return [];
  const out: FieldCause[] = [];
  for (const f of finalizers) {
    for (const m of qualifiedNameErrors(String(f)))
      out.push(invalidValue('metadata.finalizers', String(f), m));
  }
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    out.push({
      field: 'metadata.finalizers',
      type: 'FieldValueInvalid',
      message: `Invalid value: []string{${finalizers.map((f) => goQuote(String(f))).join(', ')}}: finalizer orphan and foregroundDeletion cannot be both set`,
    });
  }
  // Built-in kinds also insist on a domain prefix for anything but the standard finalizers (custom
  // resources only get a warning for that).
  if (!r.custom) {
    finalizers.forEach((f, i) => {
      const name = String(f);
      if (!name.includes('/') && !STANDARD_FINALIZERS.has(name)) {
        out.push(
          invalidValue(
            `metadata.finalizers[${i}]`,
            name,
            'name is neither a standard finalizer name nor is it fully qualified',
          ),
        );
      }
    });
  }
  return out;
}

/** ValidateNoNewFinalizers: once an object has a deletionTimestamp, finalizers can only go. */
function noNewFinalizerCauses(old: any, next: any): FieldCause[] {
  if (!old.metadata?.deletionTimestamp) return [];
  const before = new Set<string>(old.metadata.finalizers ?? []);
  const added = [...new Set<string>(next.metadata?.finalizers ?? [])].filter((f) => !before.has(f)).sort();
  if (added.length === 0) return [];
  return [
    {
      field: 'metadata.finalizers',
      type: 'FieldValueForbidden',
      message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map(goQuote).join(', ')}}`,
    },
  ];
}

/** Throws 422 Invalid when the object's metadata breaks a shared rule; `old` is the stored object on updates. */
export function validateMetadata(r: ResourceDef, obj: any, old?: any): void {
  const meta = obj.metadata ?? {};
  const causes = [
    ...(old ? noNewFinalizerCauses(old, obj) : []),
    ...labelCauses(meta.labels),
    ...annotationCauses(meta.annotations),
    ...finalizerCauses(r, meta.finalizers),
  ];
  if (causes.length > 0) throw Errors.invalid(r, meta.name ?? '', causes);
}
