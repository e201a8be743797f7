// `nsbackup backup`: an application-consistent backup of one namespace (dump, then VolumeSnapshots), run by a
// CronJob per namespace. The flow is lib/backup/flow.ts; this file wires settings and adapters to it.

import { defineCommand, runIfMain } from '../lib/command.js';
import type { Command } from '../lib/command.js';
import { podExec } from '../lib/exec/index.js';
import { ExitCode } from '../lib/exit.js';
import { clusterNameOf, connectOrConfigError } from '../lib/kube/index.js';
import { acquireNodeLock } from '../lib/lock/index.js';
import { storeFrom } from '../lib/s3/index.js';
import { backupSettings } from '../lib/backup/settings.js';
import type { BackupSettings } from '../lib/backup/settings.js';
import { runBackup } from '../lib/backup/flow.js';
import type { BackupDeps } from '../lib/backup/flow.js';
import { httpGetNotifier } from '../lib/backup/notify.js';
import { planBackup } from '../lib/backup/plan.js';
import { databaseAdapter } from '../lib/backup/database.js';
import { backupExportStep } from '../lib/export/backup-step.js';
import { keyFrom } from '../lib/export/command-support.js';

/** What tests (and the demo) may replace: the clock, randomness, polling and the adapters. */
export type BackupOverrides = Partial<
  Pick<
    BackupDeps,
    | 'exec'
    | 'database'
    | 'exportResources'
    | 'acquireLock'
    | 'notifier'
    | 'now'
    | 'random'
    | 'sleep'
    | 'pollMs'
  >
>;

export function createBackupCommand(overrides: BackupOverrides = {}): Command<BackupSettings> {
  return defineCommand({
    name: 'backup',
    summary: 'Back up one namespace: database dump, then a VolumeSnapshot per PVC with retention labels',
    schema: backupSettings,
    async run({ config, log, env, signal, out }) {
      const plan = planBackup(config, env);
      const kube = connectOrConfigError(config, env);
      const exec = overrides.exec ?? podExec(kube);
      const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST);
      const clusterName = clusterNameOf(config.clusterName, kube);
      const store = storeFrom(config, env, log);
      // One key for everything the backup stores: a dump in clear beside encrypted manifests would defeat the key.
      const encryptionKey = store ? keyFrom(config, plan.namespace || kube.defaultNamespace, log) : undefined;
      const report = await runBackup(plan, {
        kube,
        log,
        out,
        signal,
        exec,
        database:
          overrides.database ??
          (plan.database ? databaseAdapter(exec, log, store, encryptionKey) : undefined),
        // With a bucket, the namespace's resources go to the backup's S3 folder (lib/export).
        exportResources:
          overrides.exportResources ??
          (store && config.exportEnabled
            ? backupExportStep({
                kube,
                store,
                cluster: clusterName,
                log,
                encryptionKey,
                concurrency: config.exportConcurrency,
                clusterDependencies: config.exportClusterDependencies,
                exclude: config.exportExclude,
              })
            : undefined),
        s3KeyPrefix: store
          ? (backupId) => [clusterName, plan.namespace || kube.defaultNamespace, backupId].join('/')
          : undefined,
        acquireLock: overrides.acquireLock ?? acquireNodeLock,
        notifier: overrides.notifier ?? httpGetNotifier(),
        typeInputs: {
          explicit: config.type,
          jobName: config.jobName,
          podName: config.podName || (inCluster ? (env.HOSTNAME ?? '') : ''),
          inCluster: inCluster || Boolean(config.podName),
        },
        now: overrides.now ?? (() => new Date()),
        random: overrides.random ?? Math.random,
        sleep: overrides.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
        pollMs: overrides.pollMs ?? 2_000,
      });
      const summary = {
        backupId: report.backupId,
        namespace: report.namespace,
        type: report.type,
        dryRun: report.dryRun,
        snapshots: report.snapshots.map((s) => `${s.name}:${s.outcome}`),
        dumpBytes: report.dump?.files.reduce((n, f) => n + f.sizeBytes, 0),
        s3: report.s3Locations.length ? report.s3Locations : undefined,
        error: report.error?.message,
      };
      return { exitCode: report.error?.exitCode ?? ExitCode.ok, summary };
    },
  });
}

export const command = createBackupCommand();

runIfMain(command, import.meta.url);
