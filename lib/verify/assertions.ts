// Assertions of `verify --level restore`: SQL files from a ConfigMap, each a query run in the scratch database after
// the dump loaded. Pure: which query runs where, and whether its answer passes.
//
// The rule: a query returns exactly one row of one column, and that value is truthy: not empty, not NULL, not
// false (`f`, `false`) and not a number equal to zero. `SELECT count(*) > 0 FROM orders` passes with t (PostgreSQL)
// or 1 (MySQL); `SELECT count(*) FROM orders` passes when there is at least one order.
import type { SqlDbKind } from '../dump/index.js';

export interface Assertion {
  /** The ConfigMap key (`orders.sql`). */
  name: string;
  sql: string;
  /** The database the query runs in; undefined: see defaultDatabase. */
  database?: string;
}

export interface AssertionResult {
  name: string;
  database?: string;
  ok: boolean;
  /** The single value the query returned (absent when it failed to run or returned a different shape). */
  value?: string;
  durationMs: number;
  problem?: string;
}

const DATABASE_LINE = /^\s*--\s*database:\s*(\S.*?)\s*$/m;

/**
 * The `*.sql` keys of a ConfigMap's data, sorted by name. A line `-- database: NAME` names the database the query
 * runs in; without one it runs in the default database.
 */
export function assertionsFromConfigMap(data: Record<string, string> | undefined): Assertion[] {
  return Object.entries(data ?? {})
    .filter(([name]) => name.endsWith('.sql'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, sql]) => {
      const database = DATABASE_LINE.exec(sql)?.[1];
      return { name, sql, ...(database ? { database } : {}) };
    });
}

/**
 * Where a query without `-- database:` runs: PostgreSQL the only restored database (several: it must say which);
 * MySQL the only database the dump holds, else none (the query names its tables as db.table).
 */
export function defaultDatabase(kind: SqlDbKind, restoredDatabases: string[]): string | undefined {
  if (kind === 'postgres') return restoredDatabases.length === 1 ? restoredDatabases[0] : undefined;
  const names = restoredDatabases.flatMap((d) => d.split(' ')).filter((d) => d && d !== 'all-databases');
  return names.length === 1 ? names[0] : undefined;
}

/** The unit separator the scratch script puts between PostgreSQL columns; MySQL's batch mode uses a tab. */
export const FIELD_SEPARATOR: Record<SqlDbKind, string> = { postgres: '\x1f', mysql: '\t' };

const FALSE_VALUES = new Set(['', 'f', 'false', 'null']);

/** Judges a query's output (rows on lines, columns split by the kind's separator). */
export function judgeOutput(
  kind: SqlDbKind,
  stdout: string,
): { ok: boolean; value?: string; problem?: string } {
  const rows = stdout.replace(/\n+$/, '').split('\n');
  if (stdout.replace(/\n+$/, '') === '' && kind === 'mysql')
    return { ok: false, problem: 'returned no rows, expected one row of one column' };
  if (rows.length !== 1)
    return { ok: false, problem: `returned ${rows.length} rows, expected one row of one column` };
  const fields = rows[0].split(FIELD_SEPARATOR[kind]);
  if (fields.length !== 1)
    return { ok: false, problem: `returned ${fields.length} columns, expected one row of one column` };
  const value = fields[0];
  const shown = value === '' ? 'NULL or empty' : value;
  if (FALSE_VALUES.has(value.trim().toLowerCase()))
    return { ok: false, value, problem: `returned ${shown}, which is not true` };
  if (value.trim() !== '' && Number.isFinite(Number(value)) && Number(value) === 0)
    return { ok: false, value, problem: `returned ${value}, which is zero` };
  return { ok: true, value };
}
