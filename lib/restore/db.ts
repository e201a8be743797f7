// `nsbackup restore-db`: feeds a dump into the database container with psql / mysql (lib/dump's restoreDump):
// from a file in the container (the dump a backup left on the PVC), or from a backup in S3, whose file is
// downloaded to a temporary file and checked against the manifest before a single byte reaches the database.
// PostgreSQL's globals (roles, memberships, tablespaces), when the backup has them, are applied first: the dump's
// `OWNER TO app` needs the role.

import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { resolveTarget, type PodTarget } from '../exec/target.js';
import { checkRestore, readGlobalsBeside, restoreDump, type DbConnection } from '../dump/index.js';
import { commandConnectionProblems } from '../dump/connection-settings.js';
import { ConfigError } from '../config/index.js';
import type { ExecFn } from '../exec/index.js';
import { JobError } from '../exit.js';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import { type BackupManifest, type ManifestFile } from '../resources/index.js';
import { createDecryptStream, createMeterStream, type EncryptionKey } from '../crypto/index.js';
import type { S3Store } from '../s3/index.js';
import { backupFolder, checkKey, downloadVerified, readManifest, resolveBackup } from './source.js';
import {
  applyGlobals,
  planGlobalsOnly,
  readStoredSql,
  withGlobalsNote,
  type GlobalsOutcome,
} from './db-globals.js';

/** The restore-db settings that say how to reach the database (see restoreDbSettings). */
export interface RestoreDbConnectionConfig {
  db: DbConnection['kind'];
  dbUser: string;
  dbHost: string;
  dbPort: number;
  dbPassword: string;
  dbPasswordEnv: string;
  dbCommandPasswordEnv: string;
  restoreCommand: string[];
}

/**
 * The connection from the settings, or a ConfigError listing every problem (exit 2, nothing touched): a command
 * needs its restore command, and a variable for a password; the command settings belong to --db command only.
 */
export function restoreDbConnection(config: RestoreDbConnectionConfig): DbConnection {
  const problems: string[] = [];
  if (config.dbPassword && config.dbPasswordEnv) {
    problems.push('NSBACKUP_DB_PASSWORD and NSBACKUP_DB_PASSWORD_ENV are both set: choose one');
  }
  const password: DbConnection['password'] = config.dbPassword
    ? { from: 'value', value: config.dbPassword }
    : config.dbPasswordEnv
      ? { from: 'env', name: config.dbPasswordEnv }
      : { from: 'none' };
  if (config.db === 'command') {
    if (!config.restoreCommand.length) {
      problems.push(
        '--db command needs NSBACKUP_DB_RESTORE_COMMAND, the command that reads the dump on stdin, as a JSON array ' +
          '(e.g. ["sqlite3","/data/app.db"])',
      );
    }
    if (password.from !== 'none' && !config.dbCommandPasswordEnv) {
      problems.push(
        '--db command with a password needs NSBACKUP_DB_COMMAND_PASSWORD_ENV, the variable the command reads it from',
      );
    }
    problems.push(...commandConnectionProblems(config, '--db command'));
  } else {
    if (config.restoreCommand.length) {
      problems.push(`NSBACKUP_DB_RESTORE_COMMAND is set but --db is ${config.db}, not command`);
    }
    if (config.dbCommandPasswordEnv) {
      problems.push(`NSBACKUP_DB_COMMAND_PASSWORD_ENV is set but --db is ${config.db}, not command`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  if (config.db === 'command') {
    return {
      kind: 'command',
      password,
      command: config.restoreCommand,
      passwordVar: config.dbCommandPasswordEnv || undefined,
    };
  }
  return {
    kind: config.db,
    user: config.dbUser || (config.db === 'postgres' ? 'postgres' : 'root'),
    host: config.dbHost || undefined,
    port: config.dbPort || undefined,
    password,
  };
}

/** A path in the container (starts with `/`), or a backup id / `latest` in S3. */
export type DumpSourceRef = { path: string } | { backupId: string };

export function parseDumpSource(from: string): DumpSourceRef {
  if (from.startsWith('/')) return { path: from };
  if (/^(latest|[A-Za-z0-9][A-Za-z0-9._-]*)$/.test(from)) return { backupId: from };
  throw new Error(`"${from}" is neither an absolute path in the container nor a backup id or latest`);
}

/** The dump of the manifest to restore: the one of `database`, else the only one. */
export function chooseDump(manifest: BackupManifest, database: string | undefined): ManifestFile {
  const dumps = manifest.files.filter((f) => f.contents === 'dump');
  if (!dumps.length) throw new JobError(`backup ${manifest.backupId} holds no database dump`);
  const named = database ? dumps.find((d) => d.database === database) : undefined;
  if (named) return named;
  if (dumps.length === 1) return dumps[0];
  throw new JobError(
    `backup ${manifest.backupId} holds dumps of ${dumps.map((d) => d.database).join(', ')}; say which with --database`,
  );
}

export interface RestoreDbInput {
  kube: KubeClient;
  log: Logger;
  exec: ExecFn;
  namespace: string;
  dbTarget: string;
  container?: string;
  db: DbConnection;
  /** The database to restore into (PostgreSQL: required). */
  database?: string;
  /** PostgreSQL: apply the backup's roles, memberships and tablespaces first (the missing ones). */
  globals: boolean;
  from: DumpSourceRef;
  /** For a backup in S3. */
  s3?: { store: S3Store; cluster: string; sourceNamespace: string; key?: EncryptionKey };
  /** Check what the restore needs (the dump, the client or command, the server) and stop before restoring. */
  dryRun?: boolean;
  /** Asked (with a description of what happens) before anything is written; false stops. */
  confirm: (what: string) => Promise<boolean>;
  signal?: AbortSignal;
}

export interface RestoreDbResult {
  target: PodTarget;
  source: string;
  durationMs: number;
  /** What the globals step did; undefined when it did not run (MySQL, turned off, none in the backup). */
  globals?: GlobalsOutcome;
  /** A dry run: what was checked in the container (tool and where or which version), nothing restored. */
  checked?: { tool: string; version: string }[];
}

export async function restoreDatabase(input: RestoreDbInput): Promise<RestoreDbResult> {
  const { log } = input;
  if (input.db.kind === 'postgres' && !input.database) {
    throw new JobError('PostgreSQL needs the database to restore into: --database NAME', 2);
  }
  const target = await resolveTarget(input.kube, input.namespace, input.dbTarget, input.container);
  const ctx = { exec: input.exec, target, db: input.db, signal: input.signal };
  const where = `${target.ref} (pod ${target.pod}, container ${target.container})`;
  const into =
    input.db.kind === 'command'
      ? `restore command ${input.db.command?.[0]} in ${where}`
      : `${input.db.kind} database ${input.database ?? '(named in the dump)'} in ${where}`;
  const wantGlobals = input.globals && input.db.kind === 'postgres';

  if ('path' in input.from) {
    const source = `${input.from.path} in the container`;
    const globalsSql = wantGlobals ? await readGlobalsBeside(ctx, input.from.path) : undefined;
    if (input.dryRun) {
      const { versions } = await checkRestore(ctx, { source: input.from, database: input.database });
      const globals = await planGlobalsOnly(ctx, globalsSql, input.database, log);
      return { target, source, durationMs: 0, checked: versions, globals };
    }
    if (
      !(await input.confirm(
        `Restore ${source} into the ${into}? Its current data is replaced.${withGlobalsNote(globalsSql !== undefined)}`,
      ))
    ) {
      throw new JobError('not confirmed: nothing was restored');
    }
    const globals = wantGlobals ? await applyGlobals(ctx, globalsSql, input.database!, log) : undefined;
    // psql reads the file in the container: the periodic lines say it is alive and for how long.
    const progress = log.progress('restore-db', { unit: 'files' });
    try {
      const { durationMs } = await restoreDump(ctx, {
        source: { path: input.from.path },
        database: input.database,
      });
      progress.add(1);
      return { target, source, durationMs, globals };
    } finally {
      progress.done();
    }
  }

  if (!input.s3) throw new JobError('a backup id needs NSBACKUP_S3_BUCKET (where the backups are)', 2);
  const { store, cluster, sourceNamespace, key } = input.s3;
  const { backupId, warnings } = await resolveBackup(store, {
    cluster,
    namespace: sourceNamespace,
    backupId: input.from.backupId,
  });
  for (const warning of warnings) log.warn(warning);
  const folder = backupFolder(store, cluster, sourceNamespace, backupId);
  const manifest = await readManifest(store, folder);
  const keyWarning = checkKey(manifest, key);
  if (keyWarning) log.warn(keyWarning);
  const dump = chooseDump(manifest, input.database);
  const source = store.url(folder + dump.name);
  if (input.dryRun) {
    // The manifest and the dump's entry, not its bytes: a dry run downloads nothing (the globals neither).
    const { versions } = await checkRestore(ctx, { source: 'stream', database: input.database });
    return { target, source, durationMs: 0, checked: versions };
  }
  const dir = await mkdtemp(join(tmpdir(), 'nsbackup-restore-db-'));
  try {
    const { file } = await downloadVerified(store, folder, manifest, dump.name, dir);
    log.info('dump downloaded and verified', { source, sizeBytes: dump.size, sha256: dump.sha256 });
    const globalsFile = wantGlobals ? manifest.files.find((f) => f.contents === 'globals') : undefined;
    const globalsSql = globalsFile
      ? await readStoredSql(
          (await downloadVerified(store, folder, manifest, globalsFile.name, dir)).file,
          manifest.encryption ? key : undefined,
        )
      : undefined;
    if (
      !(await input.confirm(
        `Restore ${source} (database ${dump.database}) into the ${into}? Its current data is replaced.${withGlobalsNote(globalsSql !== undefined)}`,
      ))
    ) {
      throw new JobError('not confirmed: nothing was restored');
    }
    const globals = wantGlobals ? await applyGlobals(ctx, globalsSql, input.database!, log) : undefined;
    const progress = log.progress('restore-db', { unit: 'bytes', total: dump.size });
    // Counted by a pass-through (a 'data' listener would start the flow before restoreDump reads: bytes lost).
    const counted = createMeterStream({ onBytes: progress.add });
    let stream: Readable = createReadStream(file)
      .on('error', (error) => counted.destroy(error))
      .pipe(counted);
    if (manifest.encryption) stream = stream.pipe(createDecryptStream(key!));
    try {
      const { durationMs } = await restoreDump(ctx, { source: { stream }, database: input.database });
      return { target, source, durationMs, globals };
    } finally {
      progress.done();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
