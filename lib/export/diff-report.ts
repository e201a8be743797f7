// How `nsbackup diff` prints D's DiffResult: one line per differing object, then its changed fields
// (`text`), or unified diffs of the canonical YAML (`unified`), or the result as JSON (`json`).

import type { DiffResult, FieldChange } from '../resources/index.js';

export type DiffFormat = 'text' | 'unified' | 'json';

const MAX_FIELDS = 20;
const MAX_VALUE = 80;

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 3)}...` : text;
}

function fieldLine(change: FieldChange): string {
  return `    ${change.field}: ${show(change.backup)} -> ${show(change.live)}`;
}

export function formatDiff(result: DiffResult, format: DiffFormat): string {
  if (format === 'json') return `${JSON.stringify(result, null, 2)}\n`;
  const lines: string[] = [];
  for (const difference of result.differences) {
    const label = { added: 'added  ', removed: 'removed', changed: 'changed' }[difference.status];
    lines.push(`${label} ${difference.path}`);
    if (difference.status !== 'changed') continue;
    if (format === 'unified') {
      lines.push(difference.unified.replace(/\n$/, ''));
      continue;
    }
    for (const change of difference.changes.slice(0, MAX_FIELDS)) lines.push(fieldLine(change));
    if (difference.changes.length > MAX_FIELDS) {
      lines.push(`    ... and ${difference.changes.length - MAX_FIELDS} more fields`);
    }
  }
  const count = result.differences.length;
  lines.push(
    count === 0
      ? `no differences (${result.unchanged} objects equal)`
      : `${count} object${count === 1 ? '' : 's'} differ (added only live, removed only in the backup); ${result.unchanged} equal`,
  );
  return `${lines.join('\n')}\n`;
}
