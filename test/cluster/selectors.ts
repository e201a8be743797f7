// Label and field selectors, parsed with the grammar of k8s.io/apimachinery/pkg/labels and /fields.
// Malformed selectors throw SelectorError, which the server answers with 400 BadRequest like a real one.

export class SelectorError extends Error {}

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: 'gt' | 'lt'; value: number };

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, selector: string): void {
  if (!LABEL_KEY.test(key) || key.split('/').pop()!.length > 63) {
    throw new SelectorError(
      `unable to parse requirement: invalid label key "${key}" in selector "${selector}"`,
    );
  }
}

function checkValue(value: string, selector: string): void {
  if (!LABEL_VALUE.test(value) || value.length > 63) {
    throw new SelectorError(
      `unable to parse requirement: invalid label value "${value}" in selector "${selector}"`,
    );
  }
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms;
}

export function parseLabelSelector(selector: string): Requirement[] {
  if (selector.trim() === '') return [];
  const out: Requirement[] = [];
  for (const raw of splitTerms(selector)) {
    const term = raw.trim();
    if (!term) throw new SelectorError(`found '', expected: identifier`);
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      checkKey(m[1], selector);
      const values = m[3].split(',').map((v) => v.trim());
      for (const v of values) checkValue(v, selector);
      out.push({ key: m[1], op: m[2] as 'in' | 'notin', values });
    } else if ((m = term.match(/^([^=!<>\s]+)\s*(==|=|!=)\s*([^=!<>\s]*)$/))) {
      checkKey(m[1], selector);
      checkValue(m[3], selector);
      out.push({ key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] });
    } else if ((m = term.match(/^([^=!<>\s]+)\s*([<>])\s*(-?\d+)$/))) {
      checkKey(m[1], selector);
      out.push({ key: m[1], op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) });
    } else if ((m = term.match(/^!\s*([^=!<>\s()]+)$/))) {
      checkKey(m[1], selector);
      out.push({ key: m[1], op: '!exists' });
    } else if ((m = term.match(/^([^=!<>\s()]+)$/))) {
      checkKey(m[1], selector);
      out.push({ key: m[1], op: 'exists' });
    } else {
      throw new SelectorError(
        `unable to parse requirement: couldn't parse the selector string "${selector}"`,
      );
    }
  }
  return out;
}

export function matchesLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(l[r.key])) return false;
        const n = Number(l[r.key]);
        return r.op === 'gt' ? n > r.value : n < r.value;
      }
    }
  });
}

export interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

export function parseFieldSelector(selector: string): FieldRequirement[] {
  if (selector.trim() === '') return [];
  return selector.split(',').map((term) => {
    const m = term.trim().match(/^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${term}'`);
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
    throw new SelectorError(`field label not supported: ${r.field}`);
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
