// `nsbackup backup`: an application-consistent backup of one namespace (dump, then VolumeSnapshots), run by a
// CronJob per namespace. The flow is lib/backup/flow.ts; this file wires settings and adapters to it.

import { defineCommand, runIfMain } from '../lib/command.js';
import type { Command, ConfigErrorContext } from '../lib/command.js';
import { ConfigError, loadConfig } from '../lib/config/index.js';
import { decideSecrets, type SecretsDecision } from '../lib/export/secrets-policy.js';
import { podExec } from '../lib/exec/index.js';
import { ExitCode } from '../lib/exit.js';
import { clusterNameOf, connectOrConfigError } from '../lib/kube/index.js';
import type { KubeClient } from '../lib/kube/index.js';
import { leaseApi, lockAcquirer } from '../lib/lock/index.js';
import type { Logger } from '../lib/log.js';
import { probeStore, storeFrom } from '../lib/s3/index.js';
import type { S3Store } from '../lib/s3/index.js';
import { backupSettings } from '../lib/backup/settings.js';
import type { BackupSettings } from '../lib/backup/settings.js';
import { runBackup } from '../lib/backup/flow.js';
import type { BackupDeps } from '../lib/backup/flow.js';
import { httpGetNotifier, notify } from '../lib/backup/notify.js';
import type { Notifier } from '../lib/backup/notify.js';
import { planBackup } from '../lib/backup/plan.js';
import type { BackupConfig, BackupPlan } from '../lib/backup/plan.js';
import type { BackupFolder } from '../lib/backup/ports.js';
import { databaseAdapter } from '../lib/backup/database.js';
import { backupExportStep } from '../lib/export/backup-step.js';
import { keyFrom } from '../lib/crypto/index.js';
import { writeOutcome } from '../lib/resources/outcome.js';
import { backupFolderOf } from '../lib/export/s3-export.js';
import type { EncryptionKey } from '../lib/crypto/index.js';
import { volumeBackupStep } from '../lib/volumes/backup-wiring.js';

/** What tests (and the demo) may replace: the clock, randomness, polling and the adapters. */
export type BackupOverrides = Partial<
  Pick<
    BackupDeps,
    | 'exec'
    | 'database'
    | 'exportResources'
    | 'backupVolumes'
    | 'writeOutcome'
    | 'checkStore'
    | 'acquireLock'
    | 'notifier'
    | 'now'
    | 'random'
    | 'sleep'
    | 'pollMs'
  >
>;

/** What is set up before the flow runs; any failure here is a failed run too (and pinged as one). */
interface Prepared {
  plan: BackupPlan;
  kube: KubeClient;
  clusterName: string;
  store?: S3Store;
  encryptionKey?: EncryptionKey;
  /** What the export does with Secrets (lib/export/secrets-policy.ts). */
  secrets: SecretsDecision;
}

function prepare(config: BackupConfig, env: NodeJS.ProcessEnv, log: Logger): Prepared {
  const plan = planBackup(config, env);
  const kube = connectOrConfigError(config, env);
  const clusterName = clusterNameOf(config.clusterName, kube);
  const store = storeFrom(config, env, log);
  // One key for everything the backup stores: a dump in clear beside encrypted manifests would defeat the key.
  const encryptionKey = store ? keyFrom(config, plan.namespace || kube.defaultNamespace, log) : undefined;
  let secrets: SecretsDecision;
  try {
    secrets = decideSecrets(config.exportSecrets, {
      encrypted: Boolean(encryptionKey),
      folder: false,
      exclude: config.exportExclude,
    });
  } catch (e) {
    throw new ConfigError([(e as Error).message]);
  }
  if (secrets.warning && store && config.exportEnabled) log.warn(secrets.warning);
  return { plan, kube, clusterName, store, encryptionKey, secrets };
}

/** The run's warnings for the summary line, or nothing when there are none. */
function warningsOf(run: string[], secrets: string | undefined): string[] | undefined {
  const all = secrets ? [...run, secrets] : run;
  return all.length ? all : undefined;
}

/** The two settings a failure ping needs, read on their own when the whole configuration could not be. */
const failurePingSettings = {
  notifyFailureUrl: backupSettings.notifyFailureUrl,
  dryRun: backupSettings.dryRun,
};

/**
 * A run whose configuration did not load is a failed run: ping NSBACKUP_NOTIFY_FAILURE_URL when that URL itself
 * reads (a dead-man's switch would otherwise only notice the missing success ping, hours later).
 */
async function pingConfigFailure(notifier: Notifier, { env, args, log }: ConfigErrorContext): Promise<void> {
  let settings;
  try {
    settings = loadConfig(failurePingSettings, { env, args: args && { ...args, positional: [] } });
  } catch {
    return; // the URL (or the dry-run flag) is what is wrong: there is nobody to tell
  }
  if (!settings.dryRun) await notify(notifier, settings.notifyFailureUrl, 'failure', log);
}

export function createBackupCommand(overrides: BackupOverrides = {}): Command<BackupSettings> {
  const notifier = overrides.notifier ?? httpGetNotifier();
  return defineCommand({
    name: 'backup',
    recordsStatus: true,
    summary: 'Back up one namespace: database dump, then a VolumeSnapshot per PVC with retention labels',
    usage: 'nsbackup backup [-n NAMESPACE] [--dry-run] [options]',
    schema: backupSettings,
    aliases: { '-n': '--namespace' },
    onConfigError: (ctx) => pingConfigFailure(notifier, ctx),
    async run({ config, log, env, signal, out }) {
      let prepared: Prepared;
      try {
        prepared = prepare(config, env, log);
      } catch (e) {
        if (!config.dryRun) await notify(notifier, config.notifyFailureUrl, 'failure', log);
        throw e;
      }
      const { plan, kube, clusterName, store, encryptionKey, secrets } = prepared;
      const exec = overrides.exec ?? podExec(kube, { log });
      const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST);
      const now = overrides.now ?? (() => new Date());
      const random = overrides.random ?? Math.random;
      const sleep = overrides.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
      const pollMs = overrides.pollMs ?? 2_000;
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
                exclude: secrets.exclude,
              })
            : undefined),
        backupVolumes:
          overrides.backupVolumes ??
          volumeBackupStep({ config, kube, log, clusterName, pollMs, sleep, now, random }),
        s3Folder: store
          ? (namespace, backupId): BackupFolder => {
              const folderKey = backupFolderOf(store, clusterName, namespace, backupId);
              return {
                keyPrefix: [clusterName, namespace, backupId].join('/'),
                folderKey,
                location: store.url(folderKey),
              };
            }
          : undefined,
        checkStore:
          overrides.checkStore ??
          (store
            ? (namespace, write) =>
                probeStore(store, store.key(clusterName, namespace) + '/', { write, now: new Date() })
            : undefined),
        writeOutcome:
          overrides.writeOutcome ??
          (store ? (folder, outcome) => writeOutcome(store, folder.folderKey, outcome) : undefined),
        acquireLock:
          overrides.acquireLock ??
          lockAcquirer(() => leaseApi(kube), plan.namespace || kube.defaultNamespace),
        notifier,
        typeInputs: {
          explicit: config.type,
          jobName: config.jobName,
          podName: config.podName || (inCluster ? (env.HOSTNAME ?? '') : ''),
          inCluster: inCluster || Boolean(config.podName),
        },
        now,
        random,
        sleep,
        pollMs,
      });
      const summary = {
        backupId: report.backupId,
        namespace: report.namespace,
        type: report.type,
        dryRun: report.dryRun,
        snapshots: report.snapshots.map((s) => `${s.name}:${s.outcome}`),
        dumpBytes: report.dump?.files.reduce((n, f) => n + f.sizeBytes, 0),
        volumes: report.volumes.length
          ? report.volumes.map((v) => `${v.pvc}:${v.resticSnapshotId.slice(0, 8)}:+${v.bytesAdded}B`)
          : undefined,
        s3: report.s3Locations.length ? report.s3Locations : undefined,
        error: report.error?.message,
        warnings: warningsOf(
          report.warnings,
          secrets.warning && store && config.exportEnabled ? secrets.warning : undefined,
        ),
      };
      return { exitCode: report.error?.exitCode ?? ExitCode.ok, summary };
    },
  });
}

export const command = createBackupCommand();

runIfMain(command, import.meta.url);
