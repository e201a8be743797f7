// What an update may not change, per kind, as the upstream strategies' ValidateUpdate refuse it (422 Invalid
// with the field and upstream's message): workload selectors, the StatefulSet spec beyond its mutable fields,
// binding roleRefs, Secret types, Pod specs beyond images/deadlines/tolerations, PVC specs beyond growing
// a bound claim and setting volumeName once.
import { goQuote, type FieldCause } from './meta-validation.js';
import { quantityToBytes } from './quantity.js';
import type { ResourceDef } from './resources.js';
import { Errors } from './status.js';

const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** null, absent, {} and [] are one value to apiequality.Semantic.DeepEqual's eyes (nil equals empty). */
function canonical(v: any): any {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(canonical);
  if (isObject(v)) {
    const out: Record<string, any> = {};
    for (const k of Object.keys(v).sort()) {
      const c = canonical(v[k]);
      if (c !== undefined) out[k] = c;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v === null ? undefined : v;
}

export const semanticEqual = (a: unknown, b: unknown): boolean =>
  JSON.stringify(canonical(a) ?? null) === JSON.stringify(canonical(b) ?? null);

const is = (r: ResourceDef, group: string, ...plurals: string[]) =>
  r.group === group && plurals.includes(r.plural);

/** %#v of a string map, as Go prints it (keys sorted). */
function goStringMap(m: Record<string, string> | undefined): string {
  if (!m) return 'map[string]string(nil)';
  const entries = Object.keys(m)
    .sort()
    .map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`);
  return `map[string]string{${entries.join(', ')}}`;
}

/** %#v of a metav1.LabelSelector, the "Invalid value" upstream prints for an immutable selector. */
function goLabelSelector(sel: any): string {
  if (!isObject(sel)) return '"null"';
  const exprs = Array.isArray(sel.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${sel.matchExpressions
        .map(
          (e: any) =>
            `v1.LabelSelectorRequirement{Key:${goQuote(String(e.key ?? ''))}, Operator:${goQuote(String(e.operator ?? ''))}, Values:${
              Array.isArray(e.values)
                ? `[]string{${e.values.map((x: any) => goQuote(String(x))).join(', ')}}`
                : '[]string(nil)'
            }}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels)}, MatchExpressions:${exprs}}`;
}

function goRoleRef(ref: any): string {
  const f = (k: string) => goQuote(String(ref?.[k] ?? ''));
  return `rbac.RoleRef{APIGroup:${f('apiGroup')}, Kind:${f('kind')}, Name:${f('name')}}`;
}

const forbidden = (field: string, why: string): FieldCause => ({
  field,
  type: 'FieldValueForbidden',
  message: `Forbidden: ${why}`,
});

const invalid = (field: string, shown: string, why: string): FieldCause => ({
  field,
  type: 'FieldValueInvalid',
  message: `Invalid value: ${shown}: ${why}`,
});

const IMMUTABLE = 'field is immutable';

function selectorCauses(old: any, next: any): FieldCause[] {
  if (semanticEqual(old.spec?.selector, next.spec?.selector)) return [];
  return [invalid('spec.selector', goLabelSelector(next.spec?.selector), IMMUTABLE)];
}

const STATEFULSET_MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

function statefulSetCauses(old: any, next: any): FieldCause[] {
  const rest = (spec: any) => {
    const out = { ...spec };
    for (const k of STATEFULSET_MUTABLE) delete out[k];
    return out;
  };
  if (semanticEqual(rest(old.spec), rest(next.spec))) return [];
  return [
    forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

function roleRefCauses(old: any, next: any): FieldCause[] {
  if (semanticEqual(old.roleRef, next.roleRef)) return [];
  return [invalid('roleRef', goRoleRef(next.roleRef), 'cannot change roleRef')];
}

function secretTypeCauses(old: any, next: any): FieldCause[] {
  // A PUT without a type is defaulted to Opaque before validation, as upstream's defaulting does.
  if (next.type === undefined || next.type === '') next.type = 'Opaque';
  if (next.type === old.type) return [];
  return [invalid('type', goQuote(String(next.type)), IMMUTABLE)];
}

const POD_MUTABLE_FIELDS =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** The defaults the emulator applies to a created Pod, applied to an update body the way decoding does. */
function withPodDefaults(spec: any): any {
  return { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', ...spec };
}

function podCauses(old: any, next: any): FieldCause[] {
  const before = withPodDefaults(old.spec);
  const after = withPodDefaults(next.spec);
  const causes: FieldCause[] = [];
  // activeDeadlineSeconds may be set or lowered, never raised or unset.
  const oldDeadline = before.activeDeadlineSeconds;
  const newDeadline = after.activeDeadlineSeconds;
  if (newDeadline === undefined || newDeadline === null) {
    if (oldDeadline !== undefined && oldDeadline !== null)
      causes.push(
        invalid('spec.activeDeadlineSeconds', 'null', 'must not update from a positive integer to nil value'),
      );
  } else if (typeof oldDeadline === 'number' && newDeadline > oldDeadline) {
    causes.push(
      invalid(
        'spec.activeDeadlineSeconds',
        String(newDeadline),
        'must be less than or equal to previous value',
      ),
    );
  }
  // Tolerations: the existing ones stay (tolerationSeconds aside), new ones may be added.
  const withoutSeconds = ({ tolerationSeconds: _s, ...t }: any) => t;
  const added = (after.tolerations ?? []).map(withoutSeconds);
  for (const t of before.tolerations ?? []) {
    if (!added.some((n: any) => semanticEqual(n, withoutSeconds(t)))) {
      causes.push(
        forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'),
      );
      break;
    }
  }
  // Compare everything else with the mutable fields taken from the old spec, as upstream munges them.
  const munged = structuredClone(after);
  for (const list of ['containers', 'initContainers']) {
    const oldList = before[list] ?? [];
    const newList = munged[list] ?? [];
    if (oldList.length === newList.length)
      newList.forEach((c: any, i: number) => isObject(c) && (c.image = oldList[i]?.image));
  }
  munged.activeDeadlineSeconds = before.activeDeadlineSeconds;
  munged.tolerations = before.tolerations;
  const oldGrace = before.terminationGracePeriodSeconds;
  if (typeof oldGrace === 'number' && oldGrace < 0 && munged.terminationGracePeriodSeconds === 1)
    munged.terminationGracePeriodSeconds = oldGrace;
  // Scheduling gates may only be removed.
  const oldGates: any[] = before.schedulingGates ?? [];
  const newGates: any[] = munged.schedulingGates ?? [];
  if (newGates.every((g) => oldGates.some((o) => semanticEqual(o, g))))
    munged.schedulingGates = before.schedulingGates;
  if (!semanticEqual(before, munged)) {
    const changed = Object.keys({ ...before, ...munged })
      .filter((k) => !semanticEqual(before[k], munged[k]))
      .sort()
      .map((k) => `spec.${k}`);
    causes.push(forbidden('spec', `${POD_MUTABLE_FIELDS}\n  (changed: ${changed.join(', ')})`));
  }
  return causes;
}

function pvcCauses(old: any, next: any): FieldCause[] {
  const before = structuredClone(old.spec ?? {});
  const after = structuredClone(next.spec ?? {});
  // volumeName may be set once (the binder does it); volumeAttributesClassName is left mutable.
  if (!before.volumeName) before.volumeName = after.volumeName;
  before.volumeAttributesClassName = after.volumeAttributesClassName;
  const oldStorage = old.spec?.resources?.requests?.storage;
  const newStorage = next.spec?.resources?.requests?.storage;
  // Only a bound claim may have its storage request changed (expansion).
  if (old.status?.phase === 'Bound' && after.resources?.requests)
    after.resources.requests.storage = oldStorage;
  const causes: FieldCause[] = [];
  if (!semanticEqual(before, after)) {
    causes.push(
      forbidden(
        'spec',
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
  }
  const oldBytes = quantityToBytes(oldStorage);
  const newBytes = quantityToBytes(newStorage);
  if (oldBytes !== undefined && newBytes !== undefined && newBytes < oldBytes) {
    // RecoverVolumeExpansionFailure (beta, on in 1.32) lets a claim shrink back, but not to its capacity.
    const capacity = quantityToBytes(old.status?.capacity?.storage) ?? 0;
    if (newBytes <= capacity)
      causes.push(forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
  }
  return causes;
}

function causesFor(r: ResourceDef, old: any, next: any): FieldCause[] {
  if (is(r, 'apps', 'deployments', 'replicasets', 'daemonsets')) return selectorCauses(old, next);
  if (is(r, 'apps', 'statefulsets')) return statefulSetCauses(old, next);
  if (is(r, 'rbac.authorization.k8s.io', 'rolebindings', 'clusterrolebindings'))
    return roleRefCauses(old, next);
  if (is(r, '', 'secrets')) return secretTypeCauses(old, next);
  if (is(r, '', 'pods')) return podCauses(old, next);
  if (is(r, '', 'persistentvolumeclaims')) return pvcCauses(old, next);
  return [];
}

/** Throws 422 Invalid when `next` changes what the kind does not let an update change. */
export function validateImmutableFields(r: ResourceDef, old: any, next: any): void {
  const causes = causesFor(r, old, next);
  if (causes.length > 0) throw Errors.invalid(r, next.metadata?.name ?? '', causes);
}
