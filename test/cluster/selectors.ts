// Label and field selectors, parsed with the grammar of k8s.io/apimachinery/pkg/labels and /fields.
// Malformed selectors throw SelectorError, which the server answers with 400 BadRequest like a real one.

// Label selectors are the product's own parser (lib/resources/label-selector.ts, apimachinery's grammar and
// limits): one parser, so the product and the emulator cannot disagree on what a selector means.
import { LabelSelectorError } from '../../lib/resources/label-selector.js';
export {
  parseLabelSelector,
  matchesLabelSelector as matchesLabels,
} from '../../lib/resources/label-selector.js';
export type { Requirement } from '../../lib/resources/label-selector.js';

/** Every malformed selector, label or field: the server answers it with 400 BadRequest. */
export { LabelSelectorError as SelectorError };

export interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

export function parseFieldSelector(selector: string): FieldRequirement[] {
  if (selector.trim() === '') return [];
  return selector.split(',').map((term) => {
    const m = term.trim().match(/^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new LabelSelectorError(`invalid selector: '${selector}'; can't understand '${term}'`);
    return { field: m[1], equal: m[2] !== '!=', value: m[3] };
  });
}

/** Fields each kind allows in a field selector beyond metadata.name and metadata.namespace (a subset of upstream). */
const EXTRA_FIELDS: Record<string, Record<string, (o: any) => string | undefined>> = {
  Pod: {
    'status.phase': (o) => o.status?.phase,
    'spec.nodeName': (o) => o.spec?.nodeName,
    'spec.serviceAccountName': (o) => o.spec?.serviceAccountName,
    'spec.restartPolicy': (o) => o.spec?.restartPolicy,
    'status.podIP': (o) => o.status?.podIP,
  },
  Namespace: { 'status.phase': (o) => o.status?.phase },
  PersistentVolume: { 'status.phase': (o) => o.status?.phase },
  Secret: { type: (o) => o.type },
  Event: {
    'involvedObject.kind': (o) => o.involvedObject?.kind,
    'involvedObject.name': (o) => o.involvedObject?.name,
    'involvedObject.namespace': (o) => o.involvedObject?.namespace,
    'involvedObject.uid': (o) => o.involvedObject?.uid,
    reason: (o) => o.reason,
    type: (o) => o.type,
  },
  Job: { 'status.successful': (o) => String(o.status?.succeeded ?? 0) },
};

/** Rejects fields the kind does not support, with the message a real server gives. */
export function checkFieldSelector(kind: string, reqs: FieldRequirement[]): void {
  const extra = EXTRA_FIELDS[kind] ?? {};
  for (const r of reqs) {
    if (r.field === 'metadata.name' || r.field === 'metadata.namespace' || extra[r.field]) continue;
    throw new LabelSelectorError(`field label not supported: ${r.field}`);
  }
}

export function matchesFields(kind: string, reqs: FieldRequirement[], obj: any): boolean {
  const extra = EXTRA_FIELDS[kind] ?? {};
  return reqs.every((r) => {
    let actual: string | undefined;
    if (r.field === 'metadata.name') actual = obj.metadata?.name;
    else if (r.field === 'metadata.namespace') actual = obj.metadata?.namespace ?? '';
    else actual = extra[r.field](obj);
    return r.equal ? (actual ?? '') === r.value : (actual ?? '') !== r.value;
  });
}
