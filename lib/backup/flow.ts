// One backup run, as small steps in a fixed order:
//   checks (namespace, PVCs, exec targets, backup type) -> node lock -> exec targets again -> database check
//   -> pre hooks -> dump -> VolumeSnapshots -> wait until cut -> post hooks -> volume data (restic, from the
//   snapshots once ready) -> S3 (dump files, resource export, whose manifest lists the volume data)
//   -> wait until ready -> discard failed snapshots -> snapshots labelled succeeded (with their periods) or failed
//   -> outcome to S3 -> release lock -> notify.
// A snapshot is created `in-progress` and without period labels: a run killed after it leaves one that list shows
// as interrupted and retention never counts (lib/retention/outcome.ts).
// The application is held (pre to post hooks) only for the dump and the snapshots' point in time. S3 comes after:
// an S3 problem fails the run, but the snapshots are good copies of the volumes and stay (labelled as a failed
// run's: never counted as a backup, swept by retention after the grace unless pinned).
// Nothing is written before every check passed. Each step's I/O is injected (BackupDeps).

import { ExitCode, JobError } from '../exit.js';
import { corePath, type KubeClient } from '../kube/index.js';
import { Annotations, Labels } from '../labels.js';
import type { BackupType } from '../labels.js';
import type { LockRequest, NodeLock } from '../lock/index.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { detectBackupType } from './backup-type.js';
import type { TypeInputs } from './backup-type.js';
import { checkNamespace, checkPvcs, unmountedPvcs } from './checks.js';
import { backupIdFor, snapshotNameFor } from '../naming.js';
import { notify } from './notify.js';
import type { Notifier } from './notify.js';
import { backupOutcomeOf } from './outcome.js';
import type { BackupPlan } from './plan.js';
import type {
  BackupFolder,
  BackupVolumes,
  DatabaseOps,
  ExecFn,
  ExportResources,
  VolumeRecord,
  WriteOutcome,
} from './ports.js';
import { storeInS3 } from './s3-step.js';
import { snapshotAnnotations, snapshotLabels, volumeSnapshotManifest } from './snapshot-labels.js';
import type { DumpFacts } from './snapshot-labels.js';
import type { Hook } from './hooks.js';
import { resolveHookTargets, runHooks } from './run-hooks.js';
import {
  completionLabels,
  createSnapshot,
  creationLabels,
  failedRunLabels,
  labelRunOutcome,
  listSnapshotRecords,
  settleSnapshots,
  waitForSnapshots,
} from '../snapshots/lifecycle.js';
import { resolveTarget } from '../exec/target.js';
import type { PodTarget } from '../exec/target.js';

export interface BackupDeps {
  kube: KubeClient;
  log: Logger;
  /** Where the dry-run plan is printed. */
  out: (text: string) => void;
  signal?: AbortSignal;
  exec: ExecFn;
  database?: DatabaseOps;
  exportResources?: ExportResources;
  /** Copies the files of NSBACKUP_PVC_DATA's PVCs from this run's snapshots to S3 (lib/volumes). */
  backupVolumes?: BackupVolumes;
  /** The backup's S3 folder (`<prefix>/<cluster>/<namespace>/<backup id>/`), when S3 is configured. */
  s3Folder?: (namespace: string, backupId: string) => BackupFolder;
  /** Records how the run ended in its S3 folder; a failure to record it fails the run. */
  writeOutcome?: WriteOutcome;
  /**
   * Checks the S3 store before anything is written (reads only when `write` is false: a dry run). Throws a
   * configuration error naming the settings.
   */
  checkStore?: (namespace: string, write: boolean) => Promise<void>;
  /** Takes the node lock (lib/lock: the file or the Lease backend, as the request says). */
  acquireLock: (opts: LockRequest) => Promise<NodeLock>;
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
  /** Its labels once the run succeeded (the GFS periods are written only then). */
  labels: Record<string, string>;
  outcome: SnapshotOutcome;
  /** What its `nsbackup.io/outcome` label says at the end of the run (in-progress: it could not be labelled). */
  run?: 'in-progress' | 'succeeded' | 'failed';
  error?: string;
}

export interface BackupReport {
  backupId: string;
  namespace: string;
  type?: BackupType;
  dryRun: boolean;
  snapshots: SnapshotReport[];
  dump?: DumpFacts;
  /** Volume data stored with restic, per PVC. */
  volumes: VolumeRecord[];
  /** What was stored in S3 (`s3://` locations). */
  s3Locations: string[];
  /** The backup's S3 folder, when the run used one (the snapshots point at it, the outcome is recorded there). */
  s3Folder?: string;
  /** Set when the run failed; its exitCode is the process's. */
  error?: JobError;
  /** Every failure of the run, the one that stopped it first (a post hook, a snapshot, S3, ...). */
  failures: string[];
  /** What a person should know that did not fail the run (a PVC no pod mounts). */
  warnings: string[];
}

/** Thrown at the end of a run that went through every step but collected failures (report.failures). */
class CollectedFailures extends JobError {}

interface Targets {
  db?: PodTarget;
  hooks: Map<Hook, PodTarget>;
}

/** One run's state, shared by its steps. */
interface Run {
  plan: BackupPlan;
  deps: BackupDeps;
  namespace: string;
  report: BackupReport;
  log: Logger;
  /** Where S3 holds this backup: only with something to store there (the export, or the dump upload). */
  folder?: BackupFolder;
  lock?: NodeLock;
  /** Epoch ms: the run labels its snapshots succeeded before this or not at all (Annotations.completeBy). */
  completeBy?: number;
  /** Every snapshot whose create was sent (a create that failed may still have stored it): the outcome lists them. */
  attempted: string[];
}

/**
 * How long after its first snapshot a run may still label them succeeded: the snapshot timeout plus a day for the
 * post hooks and the S3 uploads. After it, the snapshots of a run that is still `in-progress` show as interrupted
 * and retention removes them; the run itself then labels them failed instead.
 */
export const COMPLETION_WINDOW_MS = 24 * 3_600_000;

export async function runBackup(plan: BackupPlan, deps: BackupDeps): Promise<BackupReport> {
  const namespace = plan.namespace || deps.kube.defaultNamespace;
  const startedAt = deps.now();
  const report: BackupReport = {
    backupId: backupIdFor(startedAt, deps.random),
    namespace,
    dryRun: plan.dryRun,
    snapshots: [],
    volumes: [],
    s3Locations: [],
    failures: [],
    warnings: [],
  };
  const run: Run = {
    plan,
    deps,
    namespace,
    report,
    attempted: [],
    log: deps.log.child({ namespace, backupId: report.backupId }),
    folder:
      deps.s3Folder &&
      (deps.exportResources || plan.s3Dump || plan.volumeData.length || plan.volumeDirect.length)
        ? deps.s3Folder(namespace, report.backupId)
        : undefined,
  };
  try {
    await runSteps(run);
  } catch (e) {
    if (!(e instanceof CollectedFailures))
      report.failures.unshift(e instanceof Error ? e.message : String(e));
    report.error =
      e instanceof JobError && report.failures.length === 1
        ? e
        : new JobError(report.failures.join('; '), e instanceof JobError ? e.exitCode : ExitCode.failed);
  }
  try {
    await labelSnapshotsWithOutcome(run);
    if (report.s3Folder) {
      const succeeded = !report.error;
      await recordOutcome(run, startedAt);
      // The run failed after all (its outcome could not be recorded): its snapshots must not say succeeded.
      if (succeeded && report.error) await labelSnapshotsWithOutcome(run);
    }
  } finally {
    await run.lock?.release();
  }
  if (!plan.dryRun) {
    const url = report.error ? plan.notifyFailureUrl : plan.notifyUrl;
    await notify(deps.notifier, url, report.error ? 'failure' : 'success', run.log);
  }
  return report;
}

async function runSteps(run: Run): Promise<void> {
  const { plan, deps, namespace, report, log } = run;
  // 1. Checks: read-only.
  await checkNamespace(deps.kube, namespace);
  await checkPvcs(deps.kube, namespace, plan.pvcs);
  if (plan.pvcs.length) {
    const pods = await deps.kube.listAll(corePath('pods', namespace));
    for (const pvc of unmountedPvcs(pods, plan.pvcs)) {
      const warning =
        `PVC ${namespace}/${pvc} is mounted by no pod: its snapshot may not hold what the application uses ` +
        '(after restore-pvc --replace-in, point NSBACKUP_PVC / backup.pvcs at the new claim)';
      report.warnings.push(warning);
      log.warn(warning);
    }
  }
  let targets = await resolveTargets(run);
  const detected = await detectBackupType(deps.kube, {
    ...deps.typeInputs,
    namespaces: [deps.kube.defaultNamespace, namespace],
  });
  report.type = detected.type;
  // The store, before the lock, the dump and the snapshots: a wrong bucket, region or endpoint is a configuration
  // error of this run, not a failure found after the snapshots (and a dry run finds it too, by reading).
  if (run.folder && deps.checkStore) {
    await deps.checkStore(namespace, !plan.dryRun);
    log.info(plan.dryRun ? 'S3 store answers' : 'S3 store answers and is writable', {
      location: run.folder.location,
    });
  }
  log.info('checks passed', {
    pvcs: plan.pvcs,
    dbTarget: targets.db && `${targets.db.pod}/${targets.db.container}`,
    type: detected.type,
    typeFrom: detected.reason,
  });

  // 2. Node lock (skipped in a dry run). Its wait can last up to NSBACKUP_LOCK_TIMEOUT, long enough for a
  //    rollout to replace the pods found above: they are looked up again once the slot is ours.
  if (plan.lock) {
    run.lock = await deps.acquireLock({ ...plan.lock, log, signal: deps.signal });
    targets = await resolveTargets(run);
  }

  // 3. Database check: tools, server, free space. It writes nothing (not even a missing dump directory), so it
  //    runs in a dry run too.
  if (plan.database && targets.db) {
    if (!deps.database) throw new JobError(`no database adapter for ${plan.database.kind}`);
    await deps.database.check(targets.db, plan.database, deps.signal);
    log.info('database check passed', { db: plan.database.kind, pod: targets.db.pod });
  }

  if (plan.dryRun) {
    report.snapshots = await planSnapshots(run, detected.type, 'planned');
    deps.out(formatPlan(report, plan));
    return;
  }
  await capture(run, targets, detected.type);
}

/** Where the dump and each hook run. */
async function resolveTargets(run: Run): Promise<Targets> {
  const { plan, deps, namespace } = run;
  const db = plan.database
    ? await resolveTarget(deps.kube, namespace, plan.database.target, plan.database.container)
    : undefined;
  return { db, hooks: await resolveHookTargets(deps.kube, namespace, plan, db) };
}

/**
 * 4..9. Pre hooks, dump, snapshots until cut; post hooks whenever pre hooks ran (or, without pre hooks, once the
 * snapshots are cut); then S3 and the snapshots' verdict.
 */
async function capture(run: Run, targets: Targets, type: BackupType): Promise<void> {
  const { plan, deps, namespace, report, log } = run;
  let preHooksRan = false;
  let snapshotsCut = false;
  const created: string[] = [];
  let deadline = 0;
  let stepError: unknown;
  try {
    if (plan.hooks.pre.length) {
      deps.signal?.throwIfAborted();
      preHooksRan = true;
      await runHooks(
        'pre',
        plan.hooks.pre,
        targets.hooks,
        { exec: deps.exec, now: deps.now, timeoutMs: plan.hookTimeoutMs, signal: deps.signal },
        log,
      );
    }

    if (plan.database && targets.db) {
      report.dump = await deps.database!.dump(targets.db, plan.database, deps.signal);
      log.info('dump written', {
        files: report.dump.files.map((f) => ({ path: f.path, sizeBytes: f.sizeBytes, sha256: f.sha256 })),
        durationSeconds: Math.round(report.dump.durationMs / 100) / 10,
      });
    }

    if (plan.pvcs.length) {
      // The last safe point: a compromised lock or a stop signal ends the run before the first snapshot.
      run.lock?.assertHeld('creating snapshots');
      deps.signal?.throwIfAborted();
      report.snapshots = await planSnapshots(run, type, 'ready');
      // The folder is known from the backup id: the snapshots name it before anything is uploaded.
      if (run.folder) report.s3Folder = run.folder.location;
      const annotations = snapshotAnnotations({
        config: { ...plan.recordedConfig, namespace },
        version: VERSION,
        dump: report.dump,
        s3Location: run.folder?.location,
      });
      // One budget for both waits, from the moment the first snapshot exists.
      deadline = deps.now().getTime() + plan.snapshotTimeoutMs;
      run.completeBy = deadline + COMPLETION_WINDOW_MS;
      annotations[Annotations.completeBy] = new Date(run.completeBy).toISOString();
      for (const snap of report.snapshots) {
        const manifest = volumeSnapshotManifest({
          namespace,
          name: snap.name,
          pvc: snap.pvc,
          snapshotClass: plan.snapshotClass,
          labels: creationLabels(snap.labels),
          annotations,
        });
        run.attempted.push(snap.name);
        await createSnapshot(deps.kube, namespace, manifest, report.backupId, log, deps.sleep);
        created.push(snap.name);
        snap.run = 'in-progress';
        log.info('snapshot created', {
          snapshot: snap.name,
          pvc: snap.pvc,
          labels: manifest.metadata.labels,
        });
      }
      // Post hooks may resume the application once every point in time is taken (status.creationTime).
      await waitForSnapshots(deps.kube, namespace, created, waitOptions(deps, plan, deadline, 'cut'));
    }
    snapshotsCut = true;
  } catch (e) {
    stepError = e; // thrown after the post hooks and the snapshots' verdict
  }

  if (preHooksRan || (snapshotsCut && plan.hooks.post.length)) {
    try {
      // Without the run's stop signal: a SIGTERM must not leave the application frozen.
      await runHooks(
        'post',
        plan.hooks.post,
        targets.hooks,
        { exec: deps.exec, now: deps.now, timeoutMs: plan.hookTimeoutMs },
        log,
      );
    } catch (e) {
      report.failures.push((e as Error).message);
    }
  }
  // Only snapshots that exist are reported; those created before a failure still get their verdict.
  report.snapshots = report.snapshots.filter((s) => created.includes(s.name));

  // Volume data before the export, so that the manifest lists it; from the snapshots, once each is ready, then
  // from the live claims (after the post hooks: such a copy is not of the hooks' point in time anyway).
  if (!stepError && (plan.volumeData.length || plan.volumeDirect.length))
    await storeVolumeData(run, deadline);

  if (!stepError && run.folder) {
    report.s3Folder = run.folder.location;
    try {
      const stored = await storeInS3({
        plan,
        folder: run.folder,
        namespace,
        backupId: report.backupId,
        dump: report.dump,
        dbTarget: targets.db,
        database: deps.database,
        exportResources: deps.exportResources,
        volumes: report.volumes,
        signal: deps.signal,
      });
      report.s3Locations.push(...stored.locations);
      report.failures.push(...stored.failures);
    } catch (e) {
      report.failures.push(`storing the backup in ${run.folder.location} failed: ${(e as Error).message}`);
    }
  }

  // Every snapshot that was created ends ready, or discarded, whatever else failed.
  if (created.length) {
    const waited = waitOptions(deps, plan, deadline, 'ready');
    report.failures.push(...(await settleSnapshots(deps.kube, namespace, report.snapshots, waited, log)));
  }
  if (stepError) throw stepError;
  if (report.failures.length) throw new CollectedFailures(report.failures.join('; '));
}

/**
 * Writes how the run ended onto each of its snapshots that is still there: succeeded with its GFS periods, or
 * failed without any. A success that cannot be written (or comes after the run's completeBy) fails the run, and
 * its snapshots are then labelled failed; one that cannot be labelled at all stays in-progress, which list and
 * retention take for interrupted once completeBy has passed.
 */
async function labelSnapshotsWithOutcome(run: Run): Promise<void> {
  const { deps, namespace, report, log } = run;
  const labelled = report.snapshots.filter((s) => s.run !== undefined && s.outcome !== 'deleted');
  if (!labelled.length) return;
  if (!report.error) {
    try {
      if (run.completeBy !== undefined && deps.now().getTime() > run.completeBy)
        throw new Error(
          `the run went on past its snapshots' ${Annotations.completeBy} (${new Date(run.completeBy).toISOString()})`,
        );
      for (const snap of labelled) {
        await labelRunOutcome(deps.kube, namespace, snap.name, completionLabels(snap.labels));
        snap.run = 'succeeded';
      }
      return;
    } catch (e) {
      report.failures.push(`labelling the snapshots succeeded failed: ${(e as Error).message}`);
      report.error = new JobError(report.failures.join('; '), ExitCode.failed);
    }
  }
  for (const snap of labelled) {
    if (snap.outcome === 'labelled-failed') snap.run = 'failed'; // discardSnapshot wrote failedRunLabels
    if (snap.run === 'failed') continue;
    try {
      await labelRunOutcome(deps.kube, namespace, snap.name, failedRunLabels());
      snap.run = 'failed';
    } catch (e) {
      log.error(
        `could not label the snapshot of this failed run ${Labels.outcome}=failed: it shows as in-progress ` +
          `until ${Annotations.completeBy}, then as interrupted`,
        { snapshot: snap.name, error: (e as Error).message },
      );
    }
  }
}

/**
 * Each PVC of NSBACKUP_PVC_DATA and NSBACKUP_PVC_DATA_DIRECT to the restic repository; every volume that is not
 * stored is a failure naming it.
 */
async function storeVolumeData(run: Run, deadline: number): Promise<void> {
  const { plan, deps, namespace, report } = run;
  const all = [...plan.volumeData, ...plan.volumeDirect];
  if (!deps.backupVolumes) {
    report.failures.push(
      `NSBACKUP_PVC_DATA / NSBACKUP_PVC_DATA_DIRECT (${all.join(', ')}): no volume mover is configured`,
    );
    return;
  }
  try {
    const stored = await deps.backupVolumes({
      namespace,
      backupId: report.backupId,
      pvcs: plan.volumeData,
      direct: plan.volumeDirect,
      snapshots: report.snapshots.map((s) => ({ pvc: s.pvc, name: s.name })),
      deadline,
      signal: deps.signal,
    });
    report.volumes.push(...stored.volumes);
    report.failures.push(...stored.failures);
  } catch (e) {
    report.failures.push(`volume data of ${all.join(', ')} not stored: ${(e as Error).message}`);
  }
}

/** The run's outcome in its folder; failing to record it fails the run (a reader would take it for unfinished). */
async function recordOutcome(run: Run, startedAt: Date): Promise<void> {
  const { deps, report } = run;
  if (!deps.writeOutcome || !run.folder) return;
  const outcome = backupOutcomeOf({
    backupId: report.backupId,
    failures: report.failures,
    failed: Boolean(report.error),
    startedAt,
    finishedAt: deps.now(),
    volumes: report.volumes,
    snapshots: run.attempted,
    type: report.type,
    retain: run.plan.retain,
    adhocKeepDays: run.plan.adhocKeepDays,
    timeZone: run.plan.timeZone,
  });
  try {
    await deps.writeOutcome(run.folder, outcome);
    run.log.info('outcome recorded', { outcome: outcome.outcome, location: run.folder.location });
  } catch (e) {
    report.failures.push(`recording the outcome in ${run.folder.location} failed: ${(e as Error).message}`);
    report.error = new JobError(report.failures.join('; '), report.error?.exitCode ?? ExitCode.failed);
  }
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
  run: Run,
  type: BackupType,
  outcome: SnapshotOutcome,
): Promise<SnapshotReport[]> {
  const { plan, deps, namespace } = run;
  const backupId = run.report.backupId;
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
      adhocKeepDays: plan.adhocKeepDays,
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
    ...plan.volumeData.map(
      (pvc) => `  volume data: PVC ${pvc}, from its snapshot, to the namespace's restic repository in S3`,
    ),
    ...plan.volumeDirect.map(
      (pvc) =>
        `  volume data: PVC ${pvc}, from the live claim mounted read-only (not point-in-time), to the namespace's restic repository in S3`,
    ),
    ...plan.hooks.pre.map((h) => `  pre hook: ${h.name}`),
    ...plan.hooks.post.map((h) => `  post hook: ${h.name}`),
  ];
  return lines.join('\n');
}
