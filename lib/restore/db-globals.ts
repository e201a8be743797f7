// restore-db's PostgreSQL globals step: the backup's roles, memberships and tablespaces applied before the dump
// (the dump's `OWNER TO app` needs the role), or in a dry run only planned; the stored file read back for it.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { createDecryptStream, type EncryptionKey } from '../crypto/index.js';
import { restoreGlobals, type DumpContext, type GlobalsRestore } from '../dump/index.js';
import type { Logger } from '../log.js';

/** What the globals step did, or would do. */
export type GlobalsOutcome = Omit<GlobalsRestore, 'statements'>;

const withoutStatements = ({ statements: _, ...rest }: GlobalsRestore) => rest;

export async function applyGlobals(
  ctx: DumpContext,
  sql: string | undefined,
  database: string,
  log: Logger,
): Promise<GlobalsOutcome | undefined> {
  if (sql === undefined) {
    log.info('the backup holds no PostgreSQL globals: roles and tablespaces are left as they are');
    return undefined;
  }
  const applied = withoutStatements(await restoreGlobals(ctx, { sql, database }));
  log.info('PostgreSQL globals applied', {
    createdRoles: applied.createdRoles,
    existingRoles: applied.existingRoles,
    createdTablespaces: applied.createdTablespaces,
    existingTablespaces: applied.existingTablespaces,
  });
  return applied;
}

/** A dry run with the globals at hand (beside a dump in the container): which roles would be created. */
export async function planGlobalsOnly(
  ctx: DumpContext,
  sql: string | undefined,
  database: string | undefined,
  log: Logger,
): Promise<GlobalsOutcome | undefined> {
  if (sql === undefined || !database) return undefined;
  const plan = withoutStatements(await restoreGlobals(ctx, { sql, database, dryRun: true }));
  log.info('PostgreSQL globals: a restore would create', {
    createdRoles: plan.createdRoles,
    createdTablespaces: plan.createdTablespaces,
  });
  return plan;
}

export const withGlobalsNote = (wanted: boolean) =>
  wanted ? ' The roles and tablespaces it is missing are created from the backup first.' : '';

/** A small stored SQL file (the globals), decrypted when the backup is encrypted, decompressed. */
export async function readStoredSql(file: string, key: EncryptionKey | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  await pipeline(
    createReadStream(file),
    ...(key ? [createDecryptStream(key)] : []),
    createGunzip(),
    async function (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) chunks.push(chunk);
    },
  );
  return Buffer.concat(chunks).toString('utf8');
}
