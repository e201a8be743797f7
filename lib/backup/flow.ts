// One backup run, as small steps in a fixed order:
//   checks (namespace, PVCs, exec targets, backup type) -> node lock -> database check -> pre hooks -> dump
//   -> S3 (dump stream, resource export) -> VolumeSnapshots -> wait until cut -> post hooks -> wait until ready
//   -> discard failed snapshots -> release lock -> notify.
// Nothing is written before every check passed. Each step's I/O is injected (BackupDeps).

import { ExitCode, JobError } from '../exit.js';
import type { KubeClient } from '../kube/index.js';
import { volumeSnapshotPath } from '../kube/index.js';
import type { BackupType } from '../labels.js';
import type { NodeLock, NodeLockOptions } from '../lock/index.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { detectBackupType } from './backup-type.js';
import type { TypeInputs } from './backup-type.js';
import { checkNamespace, checkPvcs } from './checks.js';
import { backupIdFor, snapshotNameFor } from './naming.js';
import { notify } from './notify.js';
import type { Notifier } from './notify.js';
import type { BackupPlan } from './plan.js';
import type { DatabaseOps, ExecFn, ExportResources, StoredDump } from './ports.js';
import { snapshotAnnotations, snapshotLabels, volumeSnapshotManifest } from './snapshot-labels.js';
import type { DumpFacts } from './snapshot-labels.js';
import { resolveHookTargets, runHooks } from './run-hooks.js';
import { listSnapshotRecords, settleSnapshots, waitForSnapshots } from './snapshots.js';
import { resolveTarget } from './target.js';

export interface BackupDeps {
  kube: KubeClient;
  log: Logger;
  /** Where the dry-run plan is printed. */
  out: (text: string) => void;
  signal?: AbortSignal;
  exec: ExecFn;
  database?: DatabaseOps;
  exportResources?: ExportResources;
  /** `<cluster>/<namespace>/<backup id>` under the store's prefix, when S3 is configured. */
  s3KeyPrefix?: (backupId: string) => string;
  acquireLock: (opts: NodeLockOptions) => Promise<NodeLock>;
  notifier: Notifier;
  typeInputs: Omit<TypeInputs, 'namespaces'>;
  now: () => Date;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Interval of snapshot status polls. */
  pollMs: number;
}

export type SnapshotOutcome = 'planned' | 'ready' | 'deleted' | 'labelled-failed' | 'left';

export interface SnapshotReport {
  name: string;
  pvc: string;
  labels: Record<string, string>;
  outcome: SnapshotOutcome;
  error?: string;
}

export interface BackupReport {
  backupId: string;
  namespace: string;
  type?: BackupType;
  dryRun: boolean;
  snapshots: SnapshotReport[];
  dump?: DumpFacts;
  s3Locations: string[];
  /** Set when the run failed; its exitCode is the process's. */
  error?: JobError;
  /** Problems that did not stop the run but make it a failure (a post hook, a snapshot that failed). */
  failures: string[];
}

export async function runBackup(plan: BackupPlan, deps: BackupDeps): Promise<BackupReport> {
  const namespace = plan.namespace || deps.kube.defaultNamespace;
  const startedAt = deps.now();
  const report: BackupReport = {
    backupId: backupIdFor(startedAt, deps.random),
    namespace,
    dryRun: plan.dryRun,
    snapshots: [],
    s3Locations: [],
    failures: [],
  };
  const log = deps.log.child({ namespace, backupId: report.backupId });
  let lock: NodeLock | undefined;
  try {
    // 1. Checks: read-only.
    await checkNamespace(deps.kube, namespace);
    await checkPvcs(deps.kube, namespace, plan.pvcs);
    const dbTarget = plan.database
      ? await resolveTarget(deps.kube, namespace, plan.database.target, plan.database.container)
      : undefined;
    const hookTargets = await resolveHookTargets(deps.kube, namespace, plan, dbTarget);
    const detected = await detectBackupType(deps.kube, {
      ...deps.typeInputs,
      namespaces: [deps.kube.defaultNamespace, namespace],
    });
    report.type = detected.type;
    log.info('checks passed', {
      pvcs: plan.pvcs,
      dbTarget: dbTarget && `${dbTarget.pod}/${dbTarget.container}`,
      type: detected.type,
      typeFrom: detected.reason,
    });

    // 2. Node lock (skipped in a dry run).
    if (plan.lock) lock = await deps.acquireLock({ ...plan.lock, log, signal: deps.signal });

    // 3. Database check: tools, server, free space. It writes no Kubernetes object and no dump (at most it
    //    creates a missing dump directory in the container), so it runs in a dry run too.
    if (plan.database && dbTarget) {
      if (!deps.database) throw new JobError(`no database adapter for ${plan.database.kind}`);
      await deps.database.check(dbTarget, plan.database, deps.signal);
      log.info('database check passed', { db: plan.database.kind, pod: dbTarget.pod });
    }

    if (plan.dryRun) {
      report.snapshots = await planSnapshots(
        plan,
        deps,
        namespace,
        report.backupId,
        detected.type,
        'planned',
      );
      deps.out(formatPlan(report, plan));
      return report;
    }

    // 4..7. Pre hooks, dump, S3, snapshots; post hooks whenever pre hooks started (or, without pre hooks,
    // once the snapshots are taken).
    let preHooksStarted = false;
    let snapshotsTaken = false;
    const names: string[] = [];
    let deadline = 0;
    let stepError: unknown;
    try {
      preHooksStarted = plan.hooks.pre.length > 0;
      await runHooks('pre', plan.hooks.pre, hookTargets, deps, log);

      if (plan.database && dbTarget) {
        report.dump = await deps.database!.dump(dbTarget, plan.database, deps.signal);
        log.info('dump written', {
          files: report.dump.files.map((f) => ({ path: f.path, sizeBytes: f.sizeBytes, sha256: f.sha256 })),
          durationSeconds: Math.round(report.dump.durationMs / 100) / 10,
        });
      }
      const keyPrefix = deps.s3KeyPrefix?.(report.backupId);
      const storedDumps: StoredDump[] = [];
      if (keyPrefix && plan.s3Dump && plan.database && dbTarget) {
        if (!deps.database?.streamToS3)
          throw new JobError('NSBACKUP_S3_DUMP is on but no S3 store is configured');
        const databases = report.dump?.files.map((f) => f.database) ?? plan.database.names;
        storedDumps.push(
          ...(await deps.database.streamToS3(dbTarget, plan.database, keyPrefix, databases, deps.signal)),
        );
        report.s3Locations.push(...storedDumps.map((d) => d.location));
      }
      if (keyPrefix && deps.exportResources) {
        const exported = await deps.exportResources({
          namespace,
          backupId: report.backupId,
          keyPrefix,
          dumps: storedDumps.map(({ location: _location, ...dump }) => dump),
          signal: deps.signal,
        });
        report.s3Locations.push(exported.location);
        // The dump and the volumes are still worth snapshotting; the run fails at the end, naming what is missing.
        if (exported.unreadable.length) {
          report.failures.push(
            `resource export incomplete, could not read: ${exported.unreadable.join('; ')} ` +
              '(grant get/list on these types, or leave them out with NSBACKUP_EXPORT_EXCLUDE)',
          );
        }
      }

      if (plan.pvcs.length) {
        // The last safe point: a compromised lock or a stop signal ends the run before the first snapshot.
        lock?.assertHeld('creating snapshots');
        if (deps.signal?.aborted) throw deps.signal.reason;
        report.snapshots = await planSnapshots(
          plan,
          deps,
          namespace,
          report.backupId,
          detected.type,
          'ready',
        );
        const annotations = snapshotAnnotations({
          config: { ...plan.recordedConfig, namespace },
          version: VERSION,
          dump: report.dump,
          s3Location: report.s3Locations.join(',') || undefined,
        });
        // One budget for both waits, from the moment the first snapshot exists.
        deadline = deps.now().getTime() + plan.snapshotTimeoutMs;
        for (const snap of report.snapshots) {
          await deps.kube.create(
            volumeSnapshotPath(namespace),
            volumeSnapshotManifest({
              namespace,
              name: snap.name,
              pvc: snap.pvc,
              snapshotClass: plan.snapshotClass,
              labels: snap.labels,
              annotations,
            }),
          );
          names.push(snap.name);
          log.info('snapshot created', { snapshot: snap.name, pvc: snap.pvc, labels: snap.labels });
        }
        // Post hooks may resume the application once every point in time is taken (status.creationTime).
        await waitForSnapshots(deps.kube, namespace, names, waitOptions(deps, plan, deadline, 'cut'));
      }
      snapshotsTaken = true;
    } catch (e) {
      stepError = e; // thrown after the post hooks and the snapshots' verdict
    }
    if (preHooksStarted || (snapshotsTaken && plan.hooks.post.length)) {
      try {
        await runHooks('post', plan.hooks.post, hookTargets, deps, log);
      } catch (e) {
        report.failures.push((e as Error).message);
      }
    }
    // Only snapshots that exist are reported; those created before a failure still get their verdict.
    report.snapshots = report.snapshots.filter((s) => names.includes(s.name));

    // 8. Every snapshot that was created ends ready, or discarded, whatever else failed.
    if (names.length) {
      const waited = waitOptions(deps, plan, deadline, 'ready');
      report.failures.push(...(await settleSnapshots(deps.kube, namespace, report.snapshots, waited, log)));
    }
    if (stepError) throw stepError;
    if (report.failures.length) throw new JobError(report.failures.join('; '));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const extra = report.failures.filter((f) => f !== message);
    report.error =
      e instanceof JobError && !extra.length
        ? e
        : new JobError([message, ...extra].join('; '), e instanceof JobError ? e.exitCode : ExitCode.failed);
  } finally {
    await lock?.release();
  }
  if (!plan.dryRun) {
    const url = report.error ? plan.notifyFailureUrl : plan.notifyUrl;
    await notify(deps.notifier, url, report.error ? 'failure' : 'success', log);
  }
  return report;
}

function waitOptions(deps: BackupDeps, plan: BackupPlan, deadline: number, until: 'cut' | 'ready') {
  return {
    until,
    deadline,
    deadlineBudgetMs: plan.snapshotTimeoutMs,
    pollMs: deps.pollMs,
    sleep: deps.sleep,
    now: () => deps.now().getTime(),
    signal: deps.signal,
  };
}

/** Names and labels of this run's snapshots; GFS periods judged per PVC against its existing snapshots. */
async function planSnapshots(
  plan: BackupPlan,
  deps: BackupDeps,
  namespace: string,
  backupId: string,
  type: BackupType,
  outcome: SnapshotOutcome,
): Promise<SnapshotReport[]> {
  if (!plan.pvcs.length) return [];
  const existing = await listSnapshotRecords(deps.kube, namespace, deps.log);
  const at = deps.now();
  return plan.pvcs.map((pvc) => ({
    name: snapshotNameFor(pvc, at, deps.random),
    pvc,
    outcome,
    labels: snapshotLabels({
      backupId,
      pvc,
      type,
      retain: plan.retain,
      createdAt: at.toISOString(),
      timeZone: plan.timeZone,
      existingOfSamePvc: existing.filter((r) => r.pvc === pvc),
    }),
  }));
}

/** The dry run's output: what would be created, one snapshot per line with its labels. */
export function formatPlan(report: BackupReport, plan: BackupPlan): string {
  const lines = [
    `dry run: backup ${report.backupId} of namespace ${report.namespace} (type ${report.type}, retain ${plan.retain.policy})`,
    plan.database
      ? `  dump: ${plan.database.kind} in ${plan.database.target} to ${plan.database.dumpDir}`
      : '  dump: none',
    ...report.snapshots.map(
      (s) =>
        `  VolumeSnapshot ${s.name} of PVC ${s.pvc}: ${Object.entries(s.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
    ),
    ...(report.snapshots.length ? [] : ['  no VolumeSnapshot (NSBACKUP_PVC is empty)']),
    ...plan.hooks.pre.map((h) => `  pre hook: ${h.name}`),
    ...plan.hooks.post.map((h) => `  post hook: ${h.name}`),
  ];
  return lines.join('\n');
}
