// `nsbackup restore-db`: a dump (from the PVC or from S3) fed into the database container. Replacing a database
// is not undoable, so it asks first on a terminal, and without one it needs --yes.

import { createInterface } from 'node:readline/promises';
import { defineCommand, runIfMain, type Command } from '../lib/command.js';
import { ConfigError } from '../lib/config/index.js';
import { podExec, type ExecFn } from '../lib/exec/index.js';
import { ExitCode, JobError } from '../lib/exit.js';
import { keyFrom } from '../lib/crypto/index.js';
import { clusterNameOf, connectOrConfigError } from '../lib/kube/index.js';
import { parseDumpSource, restoreDatabase, restoreDbConnection } from '../lib/restore/db.js';
import { restoreDbSettings } from '../lib/restore/settings.js';
import { storeFrom } from '../lib/s3/index.js';

export interface RestoreDbOverrides {
  exec?: ExecFn;
  /** Whether a person can answer (default: stdin and stderr are terminals). */
  isTTY?: boolean;
  /** Asks the question; default: readline on stdin/stderr, "yes" confirms. */
  ask?: (question: string) => Promise<string>;
}

async function askOnTerminal(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(`${question} Type yes to continue: `);
  } finally {
    rl.close();
  }
}

export function createRestoreDbCommand(
  overrides: RestoreDbOverrides = {},
): Command<typeof restoreDbSettings> {
  return defineCommand({
    name: 'restore-db',
    summary: 'Feed a database dump (from the PVC or from S3) into the database container',
    usage:
      'nsbackup restore-db [-n NS] --db postgres|mysql|command --db-target KIND/NAME --from <path|backup id|latest> [--yes] [--dry-run]',
    schema: restoreDbSettings,
    aliases: { '-n': '--namespace' },
    async run({ config, log, env, signal }) {
      let from;
      try {
        from = parseDumpSource(config.from);
      } catch (e) {
        throw new ConfigError([`--from (NSBACKUP_RESTORE_FROM): ${(e as Error).message}`]);
      }
      const db = restoreDbConnection(config);
      const isTTY = overrides.isTTY ?? Boolean(process.stdin.isTTY && process.stderr.isTTY);
      if (!config.yes && !config.dryRun && !isTTY) {
        throw new JobError(
          'restore-db replaces the data of a database: without a terminal to confirm on, pass --yes (NSBACKUP_YES=true)',
          ExitCode.badConfig,
        );
      }
      const kube = connectOrConfigError(config, env);
      const namespace = config.namespace || kube.defaultNamespace;
      const store = 'backupId' in from ? storeFrom(config, env, log) : undefined;
      const ask = overrides.ask ?? askOnTerminal;
      const result = await restoreDatabase({
        kube,
        log,
        exec: overrides.exec ?? podExec(kube, { log }),
        namespace,
        dbTarget: config.dbTarget,
        container: config.dbContainer || undefined,
        db,
        database: config.database || undefined,
        globals: config.globals,
        from,
        s3: store
          ? {
              store,
              cluster: clusterNameOf(config.clusterName, kube),
              sourceNamespace: namespace,
              key: keyFrom(config, namespace, log),
            }
          : undefined,
        dryRun: config.dryRun,
        confirm: async (what) => {
          if (config.yes) return true;
          return (await ask(what)).trim().toLowerCase() === 'yes';
        },
        signal,
      });
      return {
        summary: {
          namespace,
          target: result.target.ref,
          source: result.source,
          durationMs: result.durationMs,
          ...(result.globals
            ? {
                rolesCreated: result.globals.createdRoles,
                rolesKept: result.globals.existingRoles,
                tablespacesCreated: result.globals.createdTablespaces,
              }
            : {}),
          ...(result.checked ? { dryRun: true, checked: result.checked } : {}),
        },
      };
    },
  });
}

export const command = createRestoreDbCommand();

runIfMain(command, import.meta.url);
