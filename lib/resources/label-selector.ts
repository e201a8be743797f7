/**
 * Label selectors with the grammar and limits of k8s.io/apimachinery/pkg/labels, the one `kubectl -l` and the API
 * server use: `app=web`, `tier==db`, `env!=prod`, `tier in (web, db)`, `env notin (test)`, `release` (exists),
 * `!legacy` (does not exist), `replicas>3`, `replicas<10`, joined by commas; every requirement must hold.
 * The product (NSBACKUP_LABEL_SELECTOR and preferences) and the API emulator both parse with this one module, so
 * a selector the product accepts is one the server accepts, and the other way round.
 */
export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type LabelSelector = Requirement[];

/** A selector that does not parse; the message says which part and why, as the API server's does. */
export class LabelSelectorError extends Error {}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** A qualified name: an optional DNS subdomain prefix (at most 253) and a name of at most 63 characters. */
function checkKey(key: string, selector: string): string {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  const valid =
    NAME.test(name) &&
    name.length <= 63 &&
    (prefix === undefined || (DNS_SUBDOMAIN.test(prefix) && prefix.length <= 253));
  if (!valid)
    throw new LabelSelectorError(`unable to parse requirement: invalid label key "${key}" in "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value) || value.length > 63)
    throw new LabelSelectorError(
      `unable to parse requirement: invalid label value "${value}" in "${selector}"`,
    );
  return value;
}

/** Splits at commas outside parentheses. */
function splitTerms(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function parseRequirement(term: string, selector: string): Requirement {
  let m: RegExpExecArray | null;
  if ((m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term))) {
    // As the API server reads it, `x in ()` is the set of the empty value: it selects `x: ""`.
    const values = m[3].split(',').map((v) => v.trim());
    return {
      key: checkKey(m[1], selector),
      op: m[2] as 'in' | 'notin',
      values: values.map((v) => checkValue(v, selector)),
    };
  }
  if ((m = /^([^=!<>\s()]+)\s*(==|=|!=)\s*([^=!<>\s()]*)$/.exec(term))) {
    const key = checkKey(m[1], selector);
    return { key, op: m[2] === '!=' ? 'notin' : 'in', values: [checkValue(m[3], selector)] };
  }
  if ((m = /^([^=!<>\s()]+)\s*([<>])\s*(\S*)$/.exec(term))) {
    const key = checkKey(m[1], selector);
    if (!/^-?\d+$/.test(m[3]))
      throw new LabelSelectorError(`"${term}": for 'Gt', 'Lt' operators, the value must be an integer`);
    return { key, op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) };
  }
  if ((m = /^!\s*([^=!<>\s()]+)$/.exec(term))) return { key: checkKey(m[1], selector), op: '!exists' };
  if ((m = /^([^=!<>\s()]+)$/.exec(term))) return { key: checkKey(m[1], selector), op: 'exists' };
  throw new LabelSelectorError(
    `unable to parse requirement: cannot parse "${term}" in selector "${selector}"`,
  );
}

/** Parses a selector; an empty one selects everything. Throws LabelSelectorError naming what is wrong. */
export function parseLabelSelector(selector: string): LabelSelector {
  if (selector.trim() === '') return [];
  return splitTerms(selector).map((raw) => {
    const term = raw.trim();
    if (!term)
      throw new LabelSelectorError(`found '', expected: identifier (an empty requirement in "${selector}")`);
    return parseRequirement(term, selector);
  });
}

/** True when the labels satisfy every requirement (an empty selector matches everything). */
export function matchesLabelSelector(
  selector: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  const have = labels ?? {};
  return selector.every((req) => {
    const present = Object.prototype.hasOwnProperty.call(have, req.key);
    switch (req.op) {
      case 'exists':
        return present;
      case '!exists':
        return !present;
      case 'in':
        return present && req.values.includes(have[req.key]);
      case 'notin':
        // As in Kubernetes: `env!=prod` and `env notin (prod)` also match objects without the label.
        return !present || !req.values.includes(have[req.key]);
      case 'gt':
      case 'lt': {
        // As in Kubernetes: a label that is missing or not an integer never matches.
        if (!present || !/^-?\d+$/.test(have[req.key])) return false;
        const n = Number(have[req.key]);
        return req.op === 'gt' ? n > req.value : n < req.value;
      }
    }
  });
}
