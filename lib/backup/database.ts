// The database steps of the flow, backed by lib/dump's scripts run in the database container over `exec`.

import { createHash } from 'node:crypto';
import { checkDatabase, dumpDatabase, dumpGlobals, uploadDumpFile } from '../dump/index.js';
import { dumpFileName, globalsFileName, type DumpFormat } from '../resources/backup-files.js';
import type { EncryptionKey } from '../crypto/index.js';
import type { DumpContext, PasswordSource } from '../dump/index.js';
import type { Logger } from '../log.js';
import type { S3Store } from '../s3/index.js';
import type { DatabasePlan } from './plan.js';
import type { DatabaseOps, ExecFn, StoredDump } from './ports.js';
import type { PodTarget } from '../exec/target.js';

export function passwordSource(db: DatabasePlan): PasswordSource {
  if (db.password) return { from: 'value', value: db.password };
  if (db.passwordEnv) return { from: 'env', name: db.passwordEnv };
  return { from: 'none' };
}

/** File name of a dump in the backup folder; names that cannot be a file name get a stable digest instead. */
export function storedDumpName(database: string, encrypted: boolean, format: DumpFormat = 'sql'): string {
  const safe = /^[A-Za-z0-9_.-]+$/.test(database)
    ? database
    : `db-${createHash('sha256').update(database).digest('hex').slice(0, 16)}`;
  return dumpFileName(safe, encrypted, format);
}

export function databaseAdapter(
  exec: ExecFn,
  log: Logger,
  store?: S3Store,
  encryptionKey?: EncryptionKey,
): DatabaseOps {
  const context = (target: PodTarget, db: DatabasePlan, signal?: AbortSignal): DumpContext => ({
    exec,
    target: { namespace: target.namespace, pod: target.pod, container: target.container },
    db: {
      kind: db.kind,
      user: db.user,
      host: db.host,
      port: db.port,
      password: passwordSource(db),
      command: db.command,
      passwordVar: db.commandPasswordEnv,
    },
    signal,
  });
  return {
    async check(target, db, signal) {
      const result = await checkDatabase(context(target, db, signal), {
        dumpDir: db.dumpDir,
        thresholdPercent: db.diskThreshold,
        databases: db.names,
      });
      log.info('database tools', {
        versions: result.versions.map((v) => v.version),
        diskUsedPercent: result.diskUsedPercent,
      });
    },
    async dump(target, db, signal) {
      // The dump runs in the container in one exec: the periodic lines say it is alive and for how long.
      const progress = log.progress('dump', { unit: 'files' });
      try {
        const result = await dumpDatabase(context(target, db, signal), {
          dumpDir: db.dumpDir,
          thresholdPercent: db.diskThreshold,
          databases: db.names,
        });
        progress.add(result.files.length);
        if (db.globals === 'off') return { files: result.files, durationMs: result.durationMs };
        const started = performance.now();
        const globals = await dumpGlobals(context(target, db, signal), {
          dumpDir: db.dumpDir,
          thresholdPercent: db.diskThreshold,
          withPasswords: db.globals === 'with-passwords',
        });
        progress.add(1);
        return {
          files: [...result.files, globals],
          durationMs: result.durationMs + Math.round(performance.now() - started),
        };
      } finally {
        progress.done();
      }
    },
    uploadDumps: store
      ? async (target, db, keyPrefix, dump, signal) => {
          const stored: StoredDump[] = [];
          for (const file of dump.files) {
            // PostgreSQL: one file per database and the globals; MySQL: one file for the list (or all databases);
            // a command: its one dump, by its name.
            const database =
              db.kind === 'mysql' ? (db.names.length ? 'databases' : 'all-databases') : file.database;
            const name = file.globals
              ? globalsFileName(Boolean(encryptionKey))
              : storedDumpName(database, Boolean(encryptionKey), db.kind === 'command' ? 'raw' : 'sql');
            const key = store.key(keyPrefix, name);
            const progress = log.progress('dump upload', { unit: 'bytes', total: file.sizeBytes });
            const uploaded = await uploadDumpFile(context(target, db, signal), {
              store,
              key,
              file,
              dumpDir: db.dumpDir,
              encryptionKey,
              onBytes: progress.add,
            }).finally(progress.done);
            log.info('dump uploaded to S3', {
              key,
              sizeBytes: uploaded.sizeBytes,
              sha256: uploaded.sha256,
              encrypted: Boolean(encryptionKey),
            });
            stored.push({
              location: store.url(key),
              database,
              name,
              size: uploaded.sizeBytes,
              sha256: uploaded.sha256,
              ...(file.globals ? { globals: true as const } : {}),
            });
          }
          return stored;
        }
      : undefined,
  };
}
