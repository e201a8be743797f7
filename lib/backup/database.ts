// The database steps of the flow, backed by lib/dump's scripts run in the database container over `exec`.

import { checkDatabase, dumpDatabase, streamDumpToS3 } from '../dump/index.js';
import type { DumpContext, PasswordSource } from '../dump/index.js';
import type { Logger } from '../log.js';
import type { S3Store } from '../s3/index.js';
import type { DatabasePlan } from './plan.js';
import type { DatabaseOps, ExecFn } from './ports.js';
import type { PodTarget } from './target.js';

export function passwordSource(db: DatabasePlan): PasswordSource {
  if (db.password) return { from: 'value', value: db.password };
  if (db.passwordEnv) return { from: 'env', name: db.passwordEnv };
  return { from: 'none' };
}

export function databaseAdapter(exec: ExecFn, log: Logger, store?: S3Store): DatabaseOps {
  const context = (target: PodTarget, db: DatabasePlan, signal?: AbortSignal): DumpContext => ({
    exec,
    target: { namespace: target.namespace, pod: target.pod, container: target.container },
    db: { kind: db.kind, user: db.user, host: db.host, port: db.port, password: passwordSource(db) },
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
      const result = await dumpDatabase(context(target, db, signal), {
        dumpDir: db.dumpDir,
        thresholdPercent: db.diskThreshold,
        databases: db.names,
      });
      return { files: result.files, durationMs: result.durationMs };
    },
    streamToS3: store
      ? async (target, db, keyPrefix, databases, signal) => {
          // PostgreSQL streams one database per object; MySQL one stream for the list (or all databases).
          const groups = db.kind === 'postgres' ? databases.map((d) => [d]) : [db.names];
          const locations: string[] = [];
          for (const group of groups) {
            const name = db.kind === 'postgres' ? group[0] : group.length ? 'databases' : 'all-databases';
            const key = store.key(keyPrefix, `dump-${encodeURIComponent(name)}.sql.gz`);
            const streamed = await streamDumpToS3(context(target, db, signal), {
              store,
              key,
              databases: group,
            });
            log.info('dump streamed to S3', { key, sizeBytes: streamed.sizeBytes, sha256: streamed.sha256 });
            locations.push(store.url(key));
          }
          return locations;
        }
      : undefined,
  };
}
