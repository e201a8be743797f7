// What the verifier learns from a dump's plain SQL on its way through the integrity check, before the dump is
// loaded: whether it ends as the dump tool ends a finished dump (a dump cut short is found even when every
// statement in it parses), and, for PostgreSQL, the roles it names (a pg_dump of one database does not create
// them; the scratch server must have them for OWNER TO and GRANT to load), for MySQL the databases it switches to
// (the manifest names a MySQL dump only `databases` or `all-databases`). Pure, fed chunk by chunk.
import { StringDecoder } from 'node:string_decoder';
import type { SqlDbKind } from '../dump/index.js';

export interface DumpScan {
  /** The dump ends with the tool's completion comment. */
  complete: boolean;
  /** PostgreSQL: roles named by OWNER TO / GRANT ... TO / REVOKE ... FROM / FOR ROLE, sorted. */
  roles: string[];
  /**
   * MySQL: the databases the dump loads into, in dump order, from its `USE \`name\`;` lines (mysqldump
   * --databases / --all-databases writes one per database). The manifest records only `databases` for a list, so
   * this is where the verifier learns which database a query without `-- database:` runs in. PostgreSQL: [].
   */
  databases: string[];
}

/** pg_dump's last line is `-- PostgreSQL database dump complete`; mysqldump's `-- Dump completed on <date>`. */
const COMPLETION: Record<SqlDbKind, RegExp> = {
  postgres: /-- PostgreSQL database dump complete\s*(--\s*)?(\\unrestrict \S+\s*)?$/,
  mysql: /-- Dump completed( on [^\n]*)?\s*$/,
};

const ROLE_CLAUSE =
  /\b(?:OWNER TO|FOR ROLE|TO|FROM)\s+((?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)(?:\s*,\s*(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*))*)/g;
const IDENTIFIER = /"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)/g;
/** Roles every server has, and keywords that follow TO/FROM in a GRANT. */
const NOT_A_ROLE = new Set(['public', 'current_user', 'session_user', 'current_role', 'postgres', 'group']);

const USE_LINE = /^USE `((?:[^`]|``)+)`;\s*$/;

export function scanRoles(line: string): string[] {
  if (!/^(ALTER|GRANT|REVOKE)\b/.test(line)) return [];
  const roles: string[] = [];
  for (const m of line.matchAll(ROLE_CLAUSE)) {
    for (const id of m[1].matchAll(IDENTIFIER)) {
      const name = id[1] !== undefined ? id[1].replace(/""/g, '"') : id[2].toLowerCase();
      if (id[1] === undefined && NOT_A_ROLE.has(name)) continue;
      if (name.startsWith('pg_')) continue;
      roles.push(name);
    }
  }
  // `ALTER TABLE x RENAME TO y` and `ALTER ... SET SCHEMA` are no role clauses: only OWNER TO among ALTERs.
  if (line.startsWith('ALTER') && !/\b(OWNER TO|FOR ROLE)\b/.test(line)) return [];
  return roles;
}

/** Feeds decompressed dump bytes in; `result()` at the end. */
export function createDumpScanner(kind: SqlDbKind): { push(chunk: Buffer): void; result(): DumpScan } {
  const roles = new Set<string>();
  const databases = new Set<string>();
  const scanLine = (line: string) => {
    if (kind === 'postgres') for (const r of scanRoles(line)) roles.add(r);
    else if (line.startsWith('USE `')) {
      const m = USE_LINE.exec(line);
      if (m) databases.add(m[1].replace(/``/g, '`'));
    }
  };
  const decoder = new StringDecoder('utf8');
  let partial = '';
  let tail = '';
  return {
    push(chunk) {
      const decoded = decoder.write(chunk);
      const text = partial + decoded;
      tail = (tail + decoded).slice(-512);
      const lines = text.split('\n');
      partial = lines.pop()!.slice(-64 * 1024); // a huge COPY line is data, not a role clause
      for (const line of lines) scanLine(line);
    },
    result() {
      scanLine(partial);
      return { complete: COMPLETION[kind].test(tail), roles: [...roles].sort(), databases: [...databases] };
    },
  };
}
