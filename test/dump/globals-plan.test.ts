// Which statements of a pg_dumpall --globals-only dump are applied to a server that already has some roles.
import { describe, expect, it } from 'vitest';
import { membershipKey, planGlobals, splitStatements } from '../../lib/dump/index.js';

// The shape pg_dumpall 15.14 writes (its \restrict line included), with a comment that has a `;` and a line break.
const DUMP = String.raw`--
-- PostgreSQL database cluster dump
--

\restrict nSRFwqnvkO5akEpihqUq6Z1Yadlbgz5981

SET default_transaction_read_only = off;
SET standard_conforming_strings = on;

CREATE ROLE "We'ird""x";
ALTER ROLE "We'ird""x" WITH NOSUPERUSER INHERIT NOLOGIN;
CREATE ROLE app;
ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi';
COMMENT ON ROLE app IS 'line1
line2; it''s';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER PASSWORD 'SCRAM-SHA-256$4096:old';
/* a block /* nested */ comment; */
ALTER ROLE app SET search_path TO 'a', 'b';
GRANT readers TO app GRANTED BY postgres;
CREATE TABLESPACE fast OWNER app LOCATION '/mnt/fast';
GRANT ALL ON TABLESPACE fast TO app;
CREATE TABLESPACE "Slow" OWNER app LOCATION '/mnt/slow';

\unrestrict nSRFwqnvkO5akEpihqUq6Z1Yadlbgz5981
`;

describe('splitStatements', () => {
  it('keeps a role comment with a ; and a line break in one statement, and drops comments and psql meta-commands', () => {
    const statements = splitStatements(DUMP);
    expect(statements).toContain("COMMENT ON ROLE app IS 'line1\nline2; it''s'");
    expect(statements.some((s) => s.includes('restrict') || s.includes('nested') || s.startsWith('--'))).toBe(
      false,
    );
    expect(statements).toHaveLength(14);
  });

  it('refuses a dump cut off inside a string or a statement', () => {
    expect(() => splitStatements("COMMENT ON ROLE app IS 'cut")).toThrow(/unterminated string/);
    expect(() => splitStatements('CREATE ROLE app')).toThrow(/ends inside a statement/);
  });
});

describe('planGlobals', () => {
  it('creates the missing roles and tablespaces and leaves the existing ones alone, passwords included', () => {
    const plan = planGlobals(DUMP, {
      roles: new Set(['postgres', 'readers']),
      tablespaces: new Set(['fast']),
    });
    expect(plan.createdRoles).toEqual(['We\'ird"x', 'app']);
    expect(plan.existingRoles).toEqual(['postgres']);
    expect(plan.createdTablespaces).toEqual(['Slow']);
    expect(plan.existingTablespaces).toEqual(['fast']);
    // Nothing about postgres (its working password stays) nor the existing tablespace (its grant included).
    expect(plan.statements.filter((s) => /\bpostgres\b/.test(s))).toEqual([
      'GRANT readers TO app GRANTED BY postgres',
    ]);
    expect(plan.statements.some((s) => /TABLESPACE fast/.test(s))).toBe(false);
    expect(plan.statements).toContain("ALTER ROLE app SET search_path TO 'a', 'b'");
    expect(plan.statements).toContain(`CREATE TABLESPACE "Slow" OWNER app LOCATION '/mnt/slow'`);
  });

  it('matches an unquoted name case-insensitively and a quoted one exactly', () => {
    const plan = planGlobals('CREATE ROLE App;\nCREATE ROLE "App";\n', {
      roles: new Set(['app']),
      tablespaces: new Set(),
    });
    expect(plan.existingRoles).toEqual(['app']);
    expect(plan.createdRoles).toEqual(['App']);
    expect(plan.statements).toEqual(['CREATE ROLE "App"']);
  });

  it('applies nothing but session settings and memberships when every role and tablespace exists', () => {
    const plan = planGlobals(DUMP, {
      roles: new Set(['postgres', 'app', 'We\'ird"x']),
      tablespaces: new Set(['fast', 'Slow']),
    });
    expect(plan.createdRoles).toEqual([]);
    expect(plan.statements.every((s) => /^(SET|GRANT readers)/.test(s))).toBe(true);
  });

  it('leaves out memberships the server has: granting one again needs rights the app user restoring lacks', () => {
    const plan = planGlobals(DUMP, {
      roles: new Set(['postgres', 'app', 'We\'ird"x']),
      tablespaces: new Set(['fast', 'Slow']),
      memberships: new Set([membershipKey('readers', 'app')]),
    });
    expect(plan.existingMemberships).toEqual(['readers -> app']);
    expect(plan.statements.every((s) => s.startsWith('SET'))).toBe(true);
  });
});
