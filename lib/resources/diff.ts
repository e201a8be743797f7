import { canonicalize, toYaml, type CanonicalOptions } from './canonical.js';
import { exclusionContextOf, regeneratedReason } from './exclusions.js';
import { Labels } from '../labels.js';
import { guessApiPathOf, type PathOf } from './resource-info.js';
import { mapNamespaces, preparePvc, prepareService } from './transform.js';
import { isJsonMap, type KubeObject } from './types.js';

/**
 * `nsbackup diff`: what differs between a backup and the live namespace, object by object. Both sides
 * go through the same canonical form and the same exclusions, so status, resourceVersions, controller-made
 * objects and allocated node ports never show up as differences.
 */
export interface FieldChange {
  /** `spec.replicas`, `spec.template.spec.containers[0].image`, `metadata.labels["app.kubernetes.io/name"]`. */
  field: string;
  /** Absent (`undefined`) when the field is only live. */
  backup?: unknown;
  /** Absent (`undefined`) when the field is only in the backup. */
  live?: unknown;
}

export interface ObjectDiff {
  path: string;
  /** `added`: live only; `removed`: in the backup only; `changed`: both, different. */
  status: 'added' | 'removed' | 'changed';
  changes: FieldChange[];
  /** Unified diff of the canonical YAML (`--- backup` / `+++ live`); empty unless changed. */
  unified: string;
}

export interface DiffResult {
  differences: ObjectDiff[];
  unchanged: number;
  /** True when nothing differs (`nsbackup diff` exits 1 otherwise). */
  identical: boolean;
}

export interface DiffOptions extends CanonicalOptions {
  pathOf?: PathOf;
  /** Compare a backup of one namespace with another (after `restore --namespace-mapping`). */
  namespaceMapping?: Record<string, string>;
  /**
   * Default true: what a restore changes by design is not a difference: the `nsbackup.io/restored-from`
   * label, the cluster IPs of non-headless Services, a claim's volume binding and selected node.
   */
  ignoreRestoreChanges?: boolean;
}

/** Removes from both sides what a restore changes by design. */
function withoutRestoreChanges(obj: KubeObject): KubeObject {
  let out = prepareService(preparePvc(obj, []));
  const labels = out.metadata.labels;
  if (labels && Labels.restoredFrom in labels) {
    out = structuredClone(out);
    delete out.metadata.labels![Labels.restoredFrom];
    if (Object.keys(out.metadata.labels!).length === 0) delete out.metadata.labels;
  }
  return out;
}

function prepare(
  objects: KubeObject[],
  options: DiffOptions,
  mapping: Record<string, string>,
): Map<string, KubeObject> {
  const pathOf = options.pathOf ?? guessApiPathOf;
  const context = exclusionContextOf(objects);
  const out = new Map<string, KubeObject>();
  for (const obj of objects) {
    if (regeneratedReason(obj, context)) continue;
    let canonical = mapNamespaces(canonicalize(obj, options), mapping);
    if (options.ignoreRestoreChanges !== false) canonical = withoutRestoreChanges(canonical);
    out.set(pathOf(canonical), canonical);
  }
  return out;
}

/** Compares a backup's objects with the live ones; results sorted by API path. */
export function diffObjects(backup: KubeObject[], live: KubeObject[], options: DiffOptions = {}): DiffResult {
  const before = prepare(backup, options, options.namespaceMapping ?? {});
  const after = prepare(live, options, {});
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const differences: ObjectDiff[] = [];
  let unchanged = 0;
  for (const path of paths) {
    const a = before.get(path);
    const b = after.get(path);
    if (a && !b) differences.push({ path, status: 'removed', changes: [], unified: '' });
    else if (!a && b) differences.push({ path, status: 'added', changes: [], unified: '' });
    else if (a && b) {
      const changes = fieldChanges(a, b);
      if (changes.length === 0) unchanged++;
      else {
        const unified = unifiedDiff(toYaml(a), toYaml(b), { from: `backup ${path}`, to: `live ${path}` });
        differences.push({ path, status: 'changed', changes, unified });
      }
    }
  }
  return { differences, unchanged, identical: differences.length === 0 };
}

function fieldName(parent: string, key: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** Field-level differences between two JSON values; lists are compared index by index. */
export function fieldChanges(backup: unknown, live: unknown, field = ''): FieldChange[] {
  if (isJsonMap(backup) && isJsonMap(live)) {
    const keys = [...new Set([...Object.keys(backup), ...Object.keys(live)])].sort();
    return keys.flatMap((key) => fieldChanges(backup[key], live[key], fieldName(field, key)));
  }
  if (Array.isArray(backup) && Array.isArray(live)) {
    const length = Math.max(backup.length, live.length);
    const out: FieldChange[] = [];
    for (let i = 0; i < length; i++) out.push(...fieldChanges(backup[i], live[i], `${field}[${i}]`));
    return out;
  }
  if (JSON.stringify(backup) === JSON.stringify(live)) return [];
  const change: FieldChange = { field: field || '(object)' };
  if (backup !== undefined) change.backup = backup;
  if (live !== undefined) change.live = live;
  return [change];
}

/** Above this many line comparisons the middle of a change is shown as replaced rather than aligned. */
const MAX_ALIGNMENT_CELLS = 4_000_000;

/** A unified diff (3 lines of context) of two texts; empty when they are equal. */
export function unifiedDiff(a: string, b: string, labels: { from: string; to: string }, context = 3): string {
  if (a === b) return '';
  const left = a.replace(/\n$/, '').split('\n');
  const right = b.replace(/\n$/, '').split('\n');
  const ops = alignLines(left, right);
  // Group the operations into hunks with `context` lines around each change.
  const lines: string[] = [`--- ${labels.from}`, `+++ ${labels.to}`];
  let i = 0;
  while (i < ops.length) {
    if (ops[i].op === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // Extend while the next change is within 2 * context lines of equal text.
    for (;;) {
      while (end < ops.length && ops[end].op !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next].op === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else {
        end = Math.min(ops.length, end + context);
        break;
      }
    }
    const hunk = ops.slice(start, end);
    const first = ops[start];
    const leftCount = hunk.filter((op) => op.op !== '+').length;
    const rightCount = hunk.filter((op) => op.op !== '-').length;
    lines.push(
      `@@ -${first.left + (leftCount ? 1 : 0)},${leftCount} +${first.right + (rightCount ? 1 : 0)},${rightCount} @@`,
    );
    for (const op of hunk) lines.push(`${op.op}${op.text}`);
    i = end;
  }
  return `${lines.join('\n')}\n`;
}

interface LineOp {
  op: ' ' | '-' | '+';
  text: string;
  /** Lines of the left/right text before this one (for hunk headers). */
  left: number;
  right: number;
}

/** Longest-common-subsequence alignment after trimming the common head and tail. */
function alignLines(left: string[], right: string[]): LineOp[] {
  let head = 0;
  while (head < left.length && head < right.length && left[head] === right[head]) head++;
  let tail = 0;
  while (
    tail < left.length - head &&
    tail < right.length - head &&
    left[left.length - 1 - tail] === right[right.length - 1 - tail]
  ) {
    tail++;
  }
  const a = left.slice(head, left.length - tail);
  const b = right.slice(head, right.length - tail);
  const middle: ('=' | '-' | '+')[] = [];
  if ((a.length + 1) * (b.length + 1) > MAX_ALIGNMENT_CELLS) {
    middle.push(...a.map(() => '-' as const), ...b.map(() => '+' as const));
  } else {
    // lcs[i][j]: length of the LCS of a[i..] and b[j..], in one flat array.
    const width = b.length + 1;
    const lcs = new Uint32Array((a.length + 1) * width);
    for (let i = a.length - 1; i >= 0; i--) {
      for (let j = b.length - 1; j >= 0; j--) {
        lcs[i * width + j] =
          a[i] === b[j]
            ? lcs[(i + 1) * width + j + 1] + 1
            : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (i < a.length && j < b.length && a[i] === b[j]) {
        middle.push('=');
        i++;
        j++;
      } else if (i < a.length && (j === b.length || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])) {
        // Deletions before insertions, as diff(1) shows a replaced line.
        middle.push('-');
        i++;
      } else {
        middle.push('+');
        j++;
      }
    }
  }
  const ops: LineOp[] = [];
  let l = 0;
  let r = 0;
  const push = (op: ' ' | '-' | '+', text: string) => {
    ops.push({ op, text, left: l, right: r });
    if (op !== '+') l++;
    if (op !== '-') r++;
  };
  for (let k = 0; k < head; k++) push(' ', left[k]);
  let ai = 0;
  let bi = 0;
  for (const step of middle) {
    if (step === '=') {
      push(' ', a[ai++]);
      bi++;
    } else if (step === '-') push('-', a[ai++]);
    else push('+', b[bi++]);
  }
  for (let k = left.length - tail; k < left.length; k++) push(' ', left[k]);
  return ops;
}
