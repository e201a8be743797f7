// What the dump code needs to know about the database and where it runs.
import type { ExecFn } from '../exec/types.js';

/** `command`: any program whose stdout is the dump (redis-cli --rdb -, mongodump --archive, sqlite3 DB .dump). */
export type DbKind = 'postgres' | 'mysql' | 'command';
/** The kinds whose dump is SQL a client loads (the ones verify's restore level can load into a scratch server). */
export type SqlDbKind = Exclude<DbKind, 'command'>;

/**
 * Where the password comes from. `value`: the Job holds it (e.g. read from a Secret); it is written to the
 * exec's stdin, never into the command. `env`: the database container already has it in a variable (the
 * usual POSTGRES_PASSWORD, MYSQL_ROOT_PASSWORD), referenced by name. `none`: the client's defaults (peer/socket
 * authentication, a .pgpass or my.cnf in the container).
 */
export type PasswordSource =
  { from: 'none' } | { from: 'value'; value: string } | { from: 'env'; name: string };

export interface DbConnection {
  kind: DbKind;
  /** Empty/undefined: the client's default (postgres: PGUSER or the OS user; mysql: the OS user). */
  user?: string;
  /** Empty/undefined: the local socket of the container. */
  host?: string;
  port?: number;
  password: PasswordSource;
  /**
   * Kind `command`: the argv run in the container, as given (never through a shell of ours): for a dump, the
   * command whose stdout is the dump; for a restore, the command that reads it on stdin.
   */
  command?: string[];
  /** Kind `command`: the variable the command gets the password in (e.g. REDISCLI_AUTH); needed with a password. */
  passwordVar?: string;
}

/** The container the commands run in (the database container, so that client and server versions match). */
export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
}

export interface DumpContext {
  exec: ExecFn;
  target: ExecTarget;
  db: DbConnection;
  signal?: AbortSignal;
}

export interface DumpFile {
  /** Absolute path of the dump inside the container. */
  path: string;
  /** The database (postgres), the listed databases joined by spaces or `all-databases` (mysql), the dump's name (command). */
  database: string;
  sizeBytes: number;
  /** Hex SHA-256 of the gzip file; undefined when the container has neither sha256sum nor openssl. */
  sha256?: string;
  /** The PostgreSQL globals (roles, memberships, tablespaces), not a database. */
  globals?: true;
}

export const DEFAULT_DISK_THRESHOLD_PERCENT = 90;
