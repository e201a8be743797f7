// From the loaded settings to the plan of one run: defaults that depend on other settings, and the rules
// that span several settings (a ConfigError lists them all: exit 2, nothing touched).

import { ConfigError } from '../config/index.js';
import type { ConfigOf } from '../config/index.js';
import { encodeDeltas, parseDeltas } from '../retention/index.js';
import type { HooksFile } from './hooks.js';
import type { BackupSettings } from './settings.js';
import type { RetainSpec } from './snapshot-labels.js';
import { parseTarget } from '../exec/target.js';
import { dumpFileName } from '../dump/argv.js';
import type { GlobalsMode } from '../dump/globals.js';
import { commandConnectionProblems } from '../dump/connection-settings.js';
import type { LockRequest } from '../lock/index.js';
import { lockRequestOf } from '../lock/settings.js';

export type BackupConfig = ConfigOf<BackupSettings>;
export type DbKind = 'postgres' | 'mysql' | 'command';

export interface DatabasePlan {
  kind: DbKind;
  target: string;
  container?: string;
  /** postgres/mysql: the databases; command: at most one, the dump's name. */
  names: string[];
  /** Empty for a command (its argv says how to connect). */
  user: string;
  host?: string;
  port?: number;
  /** Set when the Job holds the password (sent over stdin). */
  password?: string;
  /** Name of the container variable that holds the password. */
  passwordEnv?: string;
  /** Kind command: the dump command's argv. */
  command?: string[];
  /** Kind command: the variable the command gets the password in. */
  commandPasswordEnv?: string;
  dumpDir: string;
  diskThreshold: number;
  /** PostgreSQL: dump the roles, memberships and tablespaces beside the databases. */
  globals: GlobalsMode;
}

export interface BackupPlan {
  /** Empty until the kube client supplies the default. */
  namespace: string;
  pvcs: string[];
  /** PVCs whose files go to S3 with restic, from this run's snapshots (NSBACKUP_PVC_DATA). */
  volumeData: string[];
  /** PVCs whose files go to S3 with restic, from the live claim mounted read-only (NSBACKUP_PVC_DATA_DIRECT). */
  volumeDirect: string[];
  database?: DatabasePlan;
  retain: RetainSpec;
  /** Days an ad-hoc backup's snapshots are kept at least (0: no floor). */
  adhocKeepDays: number;
  timeZone: string;
  snapshotClass?: string;
  snapshotTimeoutMs: number;
  dryRun: boolean;
  /** The node lock (none in a dry run); a lease request's empty namespace is the namespace backed up. */
  lock?: Omit<LockRequest, 'log' | 'signal'>;
  hooks: HooksFile;
  /** Each hook's time limit (NSBACKUP_HOOK_TIMEOUT). */
  hookTimeoutMs: number;
  notifyUrl: string;
  notifyFailureUrl: string;
  s3Dump: boolean;
  s3: boolean;
  /** The non-secret settings, recorded on every snapshot. */
  recordedConfig: Record<string, unknown>;
}

/** A command's dump directory has no default: where the application keeps its data is its own business. */
export const DEFAULT_DUMP_DIR: Record<Exclude<DbKind, 'command'>, string> = {
  postgres: '/var/lib/postgresql/data',
  mysql: '/var/lib/mysql',
};
export const DEFAULT_DB_USER: Record<Exclude<DbKind, 'command'>, string> = {
  postgres: 'postgres',
  mysql: 'root',
};

export function planBackup(config: BackupConfig, env: NodeJS.ProcessEnv): BackupPlan {
  const problems: string[] = [];
  const db = config.db;
  let database: DatabasePlan | undefined;
  if (db !== 'none') {
    if (!config.dbTarget) {
      problems.push(
        `NSBACKUP_DB=${db} needs NSBACKUP_DB_TARGET (deployment/NAME, statefulset/NAME or pod/NAME)`,
      );
    }
    if (config.dbPassword && config.dbPasswordEnv) {
      problems.push('NSBACKUP_DB_PASSWORD and NSBACKUP_DB_PASSWORD_ENV are both set: choose one');
    }
    problems.push(...sharedDumpFiles(db, config.dbNames));
    problems.push(...(db === 'command' ? commandProblems(config) : commandSettingsWithout(config)));
    database = {
      kind: db,
      target: config.dbTarget,
      container: config.dbContainer || undefined,
      names: config.dbNames,
      user: db === 'command' ? '' : config.dbUser || DEFAULT_DB_USER[db],
      host: config.dbHost || undefined,
      port: config.dbPort || undefined,
      password: config.dbPassword || undefined,
      passwordEnv: config.dbPasswordEnv || undefined,
      ...(db === 'command'
        ? { command: config.dumpCommand, commandPasswordEnv: config.dbCommandPasswordEnv || undefined }
        : {}),
      dumpDir: config.dumpDir || (db === 'command' ? '' : DEFAULT_DUMP_DIR[db]),
      diskThreshold: config.diskThreshold,
      globals: db === 'postgres' ? config.dbGlobals : 'off',
    };
  } else {
    problems.push(...commandSettingsWithout(config));
  }

  let retain: RetainSpec = { policy: 'gfs' };
  if (config.retain === 'days') {
    if (!env.NSBACKUP_RETAIN_DAYS?.trim()) problems.push('NSBACKUP_RETAIN=days needs NSBACKUP_RETAIN_DAYS');
    retain = { policy: 'days', days: config.retainDays };
  } else if (config.retain === 'deltas') {
    if (!config.retainDeltas)
      problems.push('NSBACKUP_RETAIN=deltas needs NSBACKUP_RETAIN_DELTAS (e.g. "PT1H P1D P7D")');
    else {
      try {
        encodeDeltas(parseDeltas(config.retainDeltas));
      } catch (e) {
        problems.push(`NSBACKUP_RETAIN_DELTAS: ${(e as Error).message}`);
      }
    }
    retain = { policy: 'deltas', deltas: config.retainDeltas };
  }

  // TZ is a declared setting (validated by loadConfig, listed in --help and the README).
  const timeZone = config.timeZone;

  const hooks = config.hooks ?? { pre: [], post: [] };
  for (const [i, hook] of [
    ...hooks.pre.map((h) => ['pre', h] as const),
    ...hooks.post.map((h) => ['post', h] as const),
  ].entries()) {
    if (!hook[1].target && !database) {
      problems.push(
        `NSBACKUP_HOOKS_FILE: ${hook[0]} hook "${hook[1].name}" has no target and NSBACKUP_DB=none (#${i})`,
      );
    }
  }
  if (config.s3Dump && !config.s3Bucket) problems.push('NSBACKUP_S3_DUMP needs NSBACKUP_S3_BUCKET');
  if (config.s3Dump && !database) problems.push('NSBACKUP_S3_DUMP needs a database (NSBACKUP_DB is none)');
  if (config.s3Dump && !config.exportEnabled) {
    // The manifest that lists (and checksums) the dump is written by the export step; without it restore-db and
    // retention would see an unfinished backup.
    problems.push(
      'NSBACKUP_S3_DUMP needs NSBACKUP_EXPORT=true (the manifest listing the dump is written by the export)',
    );
  }
  if (config.pvcData.length) {
    const missing = config.pvcData.filter((pvc) => !config.pvcs.includes(pvc));
    if (missing.length) {
      problems.push(
        `NSBACKUP_PVC_DATA: ${missing.join(', ')} not in NSBACKUP_PVC (the files are read from the run's snapshot of the PVC)`,
      );
    }
  }
  problems.push(...volumeDataProblems(config));
  if (!config.pvcs.length && !database && !config.s3Bucket) {
    problems.push(
      'nothing to back up: NSBACKUP_PVC is empty, NSBACKUP_DB=none and NSBACKUP_S3_BUCKET is unset',
    );
  }
  if (database?.target) {
    try {
      parseTarget(database.target);
    } catch (e) {
      problems.push(`NSBACKUP_DB_TARGET: ${(e as Error).message}`);
    }
  }
  const lock = lockRequestOf(config, config.podName || env.HOSTNAME || '');
  problems.push(...lock.problems);
  if (problems.length) throw new ConfigError(problems);

  return {
    namespace: config.namespace,
    pvcs: config.pvcs,
    volumeData: config.pvcData,
    volumeDirect: config.pvcDataDirect,
    database,
    retain,
    adhocKeepDays: config.adhocKeepDays,
    timeZone,
    snapshotClass: config.snapshotClass || undefined,
    snapshotTimeoutMs: config.snapshotTimeout,
    dryRun: config.dryRun,
    lock: config.dryRun ? undefined : lock.request,
    hooks,
    hookTimeoutMs: config.hookTimeout,
    notifyUrl: config.notifyUrl,
    notifyFailureUrl: config.notifyFailureUrl,
    s3Dump: config.s3Dump,
    s3: Boolean(config.s3Bucket),
    recordedConfig: recordedConfig(config, database, retain, timeZone),
  };
}

/** What a snapshot records about the run that made it: enough to restore and to audit, no secrets, no URLs. */
function recordedConfig(
  config: BackupConfig,
  database: DatabasePlan | undefined,
  retain: RetainSpec,
  timeZone: string,
): Record<string, unknown> {
  return {
    namespace: config.namespace || undefined,
    pvcs: config.pvcs,
    ...(config.pvcData.length ? { pvcData: config.pvcData } : {}),
    ...(config.pvcDataDirect.length ? { pvcDataDirect: config.pvcDataDirect } : {}),
    db: config.db,
    ...(database
      ? {
          dbTarget: database.target,
          dbContainer: database.container,
          dbNames: database.names,
          dbUser: database.user || undefined,
          dbPasswordFrom: database.password
            ? 'job'
            : database.passwordEnv
              ? `env:${database.passwordEnv}`
              : 'none',
          // The program only: an argument may be something the user should not have put there (redis-cli -a).
          ...(database.command ? { dbCommand: database.command[0] } : {}),
          dumpDir: database.dumpDir,
        }
      : {}),
    retain,
    timeZone,
    snapshotClass: config.snapshotClass || undefined,
    s3Bucket: config.s3Bucket || undefined,
    s3Prefix: config.s3Bucket ? config.s3Prefix : undefined,
  };
}

/**
 * Both ways of copying volume data need the bucket, the repository's password and the mover's image. A PVC is copied
 * one way only: two restic snapshots of one PVC in one backup would leave a restore to guess which one is meant.
 */
export function volumeDataProblems(config: {
  pvcData: readonly string[];
  pvcDataDirect: readonly string[];
  s3Bucket: string;
  resticSecret: string;
  moverImage: string;
}): string[] {
  const problems: string[] = [];
  const both = config.pvcDataDirect.filter((pvc) => config.pvcData.includes(pvc));
  for (const pvc of both)
    problems.push(
      `PVC ${pvc} is in both NSBACKUP_PVC_DATA (from a snapshot) and NSBACKUP_PVC_DATA_DIRECT (from the live claim): choose one`,
    );
  for (const [name, list] of [
    ['NSBACKUP_PVC_DATA', config.pvcData],
    ['NSBACKUP_PVC_DATA_DIRECT', config.pvcDataDirect],
  ] as const) {
    if (!list.length) continue;
    if (!config.s3Bucket) problems.push(`${name} needs NSBACKUP_S3_BUCKET`);
    if (!config.resticSecret)
      problems.push(`${name} needs NSBACKUP_RESTIC_SECRET (the Secret with RESTIC_PASSWORD)`);
    if (!config.moverImage)
      problems.push(`${name} needs NSBACKUP_MOVER_IMAGE (nsbackup's image, which has restic)`);
  }
  return problems;
}

/**
 * PostgreSQL writes one file per database, named after it with unsafe characters replaced: two names that map to
 * one file (`a b` and `a_b`) would overwrite each other's dump. Also a name listed twice.
 */
export function sharedDumpFiles(kind: DbKind, names: readonly string[]): string[] {
  if (kind !== 'postgres') return [];
  const byFile = new Map<string, string[]>();
  for (const name of names) {
    const file = dumpFileName('postgres', [name]);
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  return [...byFile]
    .filter(([, same]) => same.length > 1)
    .map(
      ([file, same]) =>
        `NSBACKUP_DB_NAMES: ${same.map((n) => `"${n}"`).join(' and ')} would be dumped to the same file ${file}`,
    );
}

/** A dump's name for a command becomes part of file names, here and in S3. */
const COMMAND_DUMP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** NSBACKUP_DB=command: the settings it needs, and the connection settings that belong in its argv instead. */
export function commandProblems(config: BackupConfig): string[] {
  const problems: string[] = [];
  if (!config.dumpCommand.length) {
    problems.push(
      'NSBACKUP_DB=command needs NSBACKUP_DB_DUMP_COMMAND, the command whose stdout is the dump, as a JSON array ' +
        '(e.g. ["redis-cli","--rdb","-"])',
    );
  }
  if (!config.dumpDir) {
    problems.push(
      'NSBACKUP_DB=command needs NSBACKUP_DUMP_DIR, a directory in the container on a snapshotted PVC (e.g. /data/nsbackup)',
    );
  }
  if (config.dbNames.length > 1) {
    problems.push('NSBACKUP_DB_NAMES: a command writes one dump; give at most one name for it');
  } else if (config.dbNames.length && !COMMAND_DUMP_NAME.test(config.dbNames[0])) {
    problems.push(
      `NSBACKUP_DB_NAMES: "${config.dbNames[0].slice(0, 80)}" cannot name a dump file (letters, digits, . _ -; at most 63)`,
    );
  }
  problems.push(...commandConnectionProblems(config, 'NSBACKUP_DB=command'));
  if ((config.dbPassword || config.dbPasswordEnv) && !config.dbCommandPasswordEnv) {
    problems.push(
      'NSBACKUP_DB=command with a password needs NSBACKUP_DB_COMMAND_PASSWORD_ENV, the variable the command reads ' +
        'it from (e.g. REDISCLI_AUTH)',
    );
  }
  return problems;
}

/** The command settings with another NSBACKUP_DB: a mistake, not something to ignore. */
function commandSettingsWithout(config: BackupConfig): string[] {
  const problems: string[] = [];
  if (config.dumpCommand.length) {
    problems.push(`NSBACKUP_DB_DUMP_COMMAND is set but NSBACKUP_DB is ${config.db}, not command`);
  }
  if (config.dbCommandPasswordEnv) {
    problems.push(`NSBACKUP_DB_COMMAND_PASSWORD_ENV is set but NSBACKUP_DB is ${config.db}, not command`);
  }
  return problems;
}
