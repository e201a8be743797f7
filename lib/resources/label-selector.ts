/**
 * Label selectors in the syntax of `kubectl -l`: `app=web`, `tier==db`, `env!=prod`,
 * `tier in (web, db)`, `env notin (test)`, `release` (exists), `!legacy` (does not exist),
 * joined by commas; every requirement must hold.
 */
export type Requirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!exists' };

export type LabelSelector = Requirement[];

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Parses a selector; throws an error naming the requirement that is wrong. */
export function parseLabelSelector(text: string): LabelSelector {
  const out: LabelSelector = [];
  for (const part of splitTopLevel(text)) {
    const requirement = part.trim();
    if (!requirement) throw new Error(`empty requirement in label selector "${text}"`);
    out.push(parseRequirement(requirement));
  }
  return out;
}

/** Splits at commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  if (!text.trim()) return [];
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

function checkKey(key: string, requirement: string): string {
  if (!KEY.test(key) || key.length > 317) throw new Error(`invalid label key "${key}" in "${requirement}"`);
  return key;
}

function checkValue(value: string, requirement: string): string {
  if (!VALUE.test(value) || value.length > 63)
    throw new Error(`invalid label value "${value}" in "${requirement}"`);
  return value;
}

function parseRequirement(requirement: string): Requirement {
  const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(requirement);
  if (setMatch) {
    const values = setMatch[3].split(',').map((value) => value.trim());
    if (values.length === 1 && values[0] === '') throw new Error(`"${requirement}": empty value set`);
    return {
      key: checkKey(setMatch[1], requirement),
      op: setMatch[2] as 'in' | 'notin',
      values: values.map((value) => checkValue(value, requirement)),
    };
  }
  const compare = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(requirement);
  if (compare) {
    const key = checkKey(compare[1], requirement);
    const value = checkValue(compare[3].trim(), requirement);
    return { key, op: compare[2] === '!=' ? 'notin' : 'in', values: [value] };
  }
  if (requirement.startsWith('!'))
    return { key: checkKey(requirement.slice(1).trim(), requirement), op: '!exists' };
  if (/\s/.test(requirement) || /[()=]/.test(requirement))
    throw new Error(`cannot parse label selector "${requirement}"`);
  return { key: checkKey(requirement, requirement), op: 'exists' };
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
    }
  });
}
