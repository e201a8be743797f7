// Pure: what of a `pg_dumpall --globals-only` dump to apply to a server that already has roles and tablespaces.
// A new server always has its bootstrap superuser, often the application's role too (an operator or the image's
// POSTGRES_USER made it): replaying `CREATE ROLE` for those stops psql, and replaying their `ALTER ROLE ... PASSWORD`
// would change a working password. So every statement about an existing role or tablespace is left out, and only
// what is missing is created. A membership the server already has is left out too: granting it again needs a
// superuser or ADMIN OPTION, which a restore into the same server as the application's own user does not have.

/** The roles and tablespaces the target server already has. */
export interface ExistingGlobals {
  roles: ReadonlySet<string>;
  tablespaces: ReadonlySet<string>;
  /** Memberships as `role\0member`. */
  memberships?: ReadonlySet<string>;
}

/** The key of a membership in {@link ExistingGlobals.memberships}. */
export const membershipKey = (role: string, member: string) => `${role}\0${member}`;

export interface GlobalsPlan {
  /** The statements to run, in the dump's order, each without its `;`. */
  statements: string[];
  createdRoles: string[];
  existingRoles: string[];
  createdTablespaces: string[];
  existingTablespaces: string[];
  /** Memberships the server already had, as `role -> member`. */
  existingMemberships: string[];
}

type Subject = { kind: 'role' | 'tablespace'; name: string } | undefined;

const IDENT = String.raw`("(?:[^"]|"")*"|[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)`;
const ROLE_STATEMENTS = [
  new RegExp(String.raw`^CREATE\s+ROLE\s+${IDENT}`, 'i'),
  new RegExp(String.raw`^ALTER\s+ROLE\s+${IDENT}`, 'i'),
  new RegExp(String.raw`^COMMENT\s+ON\s+ROLE\s+${IDENT}`, 'i'),
  new RegExp(String.raw`^SECURITY\s+LABEL\s+(?:FOR\s+\S+\s+)?ON\s+ROLE\s+${IDENT}`, 'i'),
];
const TABLESPACE_STATEMENTS = [
  new RegExp(String.raw`^CREATE\s+TABLESPACE\s+${IDENT}`, 'i'),
  new RegExp(String.raw`^ALTER\s+TABLESPACE\s+${IDENT}`, 'i'),
  new RegExp(String.raw`^COMMENT\s+ON\s+TABLESPACE\s+${IDENT}`, 'i'),
  new RegExp(String.raw`^SECURITY\s+LABEL\s+(?:FOR\s+\S+\s+)?ON\s+TABLESPACE\s+${IDENT}`, 'i'),
  new RegExp(String.raw`^(?:GRANT|REVOKE)\s[^;]*?\sON\s+TABLESPACE\s+${IDENT}`, 'i'),
];

/** The name an identifier of the dump stands for: quoted as written, unquoted folded to lower case. */
function identifierName(token: string): string {
  return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token.toLowerCase();
}

const MEMBERSHIP = new RegExp(String.raw`^GRANT\s+${IDENT}\s+TO\s+${IDENT}(\s|$)`, 'i');

function subjectOf(statement: string): Subject {
  if (/^ALTER\s+ROLE\s+ALL\s/i.test(statement)) return undefined;
  for (const re of ROLE_STATEMENTS) {
    const m = re.exec(statement);
    if (m) return { kind: 'role', name: identifierName(m[1]) };
  }
  for (const re of TABLESPACE_STATEMENTS) {
    const m = re.exec(statement);
    if (m) return { kind: 'tablespace', name: identifierName(m[1]) };
  }
  return undefined;
}

/**
 * The SQL statements of a psql script, without comments and without psql's meta-commands (`\restrict`, `\connect`
 * lines, which pg_dumpall 15.14 and later writes): quotes, quoted identifiers, dollar quotes and comments are
 * followed, so a `;` or a line break inside a role's comment never splits a statement.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  const atStatementStart = () => current.trim() === '';
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      current += '\n';
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      current += ' ';
    } else if (c === '\\' && atStatementStart()) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === "'" || c === '"') {
      const escapes = c === "'" && /[Ee]$/.test(current) && !/[A-Za-z0-9_$][Ee]$/.test(current);
      let j = i + 1;
      for (;;) {
        if (j >= sql.length)
          throw new Error(`unterminated ${c === "'" ? 'string' : 'identifier'} in the globals dump`);
        if (escapes && sql[j] === '\\') j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      current += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '$' && !/[A-Za-z0-9_$]$/.test(current)) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (!tag) {
        current += c;
        i++;
        continue;
      }
      const end = sql.indexOf(tag[0], i + tag[0].length);
      if (end === -1) throw new Error('unterminated dollar quote in the globals dump');
      current += sql.slice(i, end + tag[0].length);
      i = end + tag[0].length;
    } else if (c === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
      i++;
    } else {
      current += c;
      i++;
    }
  }
  if (current.trim())
    throw new Error(`the globals dump ends inside a statement: ${current.trim().slice(0, 80)}`);
  return statements;
}

/** The globals dump's statements for `existing`: what is already there is left alone. */
export function planGlobals(sql: string, existing: ExistingGlobals): GlobalsPlan {
  const plan: GlobalsPlan = {
    statements: [],
    createdRoles: [],
    existingRoles: [],
    createdTablespaces: [],
    existingTablespaces: [],
    existingMemberships: [],
  };
  for (const statement of splitStatements(sql)) {
    const membership = MEMBERSHIP.exec(statement);
    if (membership) {
      const [role, member] = [identifierName(membership[1]), identifierName(membership[2])];
      if (existing.memberships?.has(membershipKey(role, member))) {
        plan.existingMemberships.push(`${role} -> ${member}`);
        continue;
      }
    }
    const subject = subjectOf(statement);
    if (subject) {
      const isCreate = /^CREATE\s/i.test(statement);
      const exists =
        subject.kind === 'role' ? existing.roles.has(subject.name) : existing.tablespaces.has(subject.name);
      if (isCreate) {
        const list =
          subject.kind === 'role'
            ? exists
              ? plan.existingRoles
              : plan.createdRoles
            : exists
              ? plan.existingTablespaces
              : plan.createdTablespaces;
        list.push(subject.name);
      }
      if (exists) continue;
    }
    plan.statements.push(statement);
  }
  return plan;
}

/** The plan as one psql script. */
export function globalsScript(plan: GlobalsPlan): string {
  return plan.statements.map((s) => `${s};\n`).join('');
}
