// `nsbackup restore` as a function: read and verify the backup, plan, write, report. The command in
// scripts/restore.ts only wires settings and adapters to it.

import { writeFile } from 'node:fs/promises';
import { ConfigError, type ConfigOf } from '../config/index.js';
import { clusterNameOf, type KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import { keyFrom } from '../crypto/index.js';
import { defaultPreferences, type PathedObject } from '../resources/index.js';
import type { S3Store } from '../s3/index.js';
import { applyPlan } from './apply.js';
import { discoveryPathResolver } from './discovery.js';
import { parseNamespaceMapping, planRestore } from './plan.js';
import { emptyReport, finishReport, type RestoreReport } from './report.js';
import type { RestoreSettings } from './settings.js';
import { emptyClaimWarnings, existingClaimSnapshots, snapshotSources } from './snapshots.js';
import { loadDirBackup, loadS3Backup, type LoadedBackup } from './source.js';
import type { RestoreVolumes } from '../volumes/restore-step.js';

export type RestoreConfig = ConfigOf<RestoreSettings>;

export interface RestoreDeps {
  kube: KubeClient;
  log: Logger;
  /** Needed for `--backup`. */
  store?: S3Store;
  signal?: AbortSignal;
  pollMs?: number;
  /** --pvcs-from-s3: fills the claims the restore created from the backup's volume data (lib/volumes). */
  restoreVolumes?: RestoreVolumes;
  /**
   * Changes the backup's objects before anything is planned (verify's rehearsal: only the namespace's own objects,
   * none of them running).
   */
  adjustItems?: (items: PathedObject[]) => PathedObject[];
}

/** Settings that only make sense together, checked before anything is read. */
export function checkRestoreConfig(
  config: RestoreConfig,
  hasStore: boolean,
): { mapping: Record<string, string> } {
  const problems: string[] = [];
  if (config.backup && config.fromDir)
    problems.push('--backup and --from-dir exclude each other: restore from one source');
  if (!config.backup && !config.fromDir)
    problems.push('say what to restore: --backup <id|latest> or --from-dir DIR');
  if (config.backup && !hasStore) problems.push('--backup needs NSBACKUP_S3_BUCKET (where the backups are)');
  if (config.pvcsFromS3) {
    if (!config.backup) problems.push('--pvcs-from-s3 needs --backup (the volume data is in S3)');
    if (!config.resticSecret)
      problems.push(
        '--pvcs-from-s3 needs NSBACKUP_RESTIC_SECRET: a Secret in the target namespace with RESTIC_PASSWORD',
      );
    if (!config.moverImage && !config.dryRun)
      problems.push("--pvcs-from-s3 needs NSBACKUP_MOVER_IMAGE (nsbackup's image, which has restic)");
  }
  let mapping: Record<string, string> = {};
  try {
    mapping = parseNamespaceMapping(config.namespaceMapping);
  } catch (e) {
    problems.push(`--namespace-mapping (NSBACKUP_NAMESPACE_MAPPING): ${(e as Error).message}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return { mapping };
}

export async function runRestore(config: RestoreConfig, deps: RestoreDeps): Promise<RestoreReport> {
  const { kube, log } = deps;
  const { mapping } = checkRestoreConfig(config, Boolean(deps.store));
  const preferences = config.preferences ?? defaultPreferences();
  const sourceNamespace = config.namespace || kube.defaultNamespace;
  // The key of the namespace that was backed up (a key file may hold one per namespace).
  const key = config.backup ? keyFrom(config, sourceNamespace, log) : undefined;
  const startedAt = new Date();

  let backup: LoadedBackup;
  if (config.backup) {
    const cluster = clusterNameOf(config.clusterName, kube);
    backup = await loadS3Backup(
      deps.store!,
      { cluster, namespace: sourceNamespace, backupId: config.backup },
      key,
    );
  } else {
    backup = await loadDirBackup(
      config.fromDir,
      discoveryPathResolver(kube, (m) => log.warn(m)),
    );
  }
  if (deps.adjustItems) backup = { ...backup, items: deps.adjustItems(backup.items) };
  log.info('backup read and verified', {
    backupId: backup.backupId,
    source: backup.source,
    objects: backup.items.length,
  });

  const report = emptyReport({
    backupId: backup.backupId,
    source: backup.source,
    outcome: backup.outcome,
    notExported: backup.manifest?.notExported,
    sourceNamespace,
    namespaceMapping: mapping,
    dryRun: config.dryRun,
    startedAt,
  });
  report.warnings.push(...backup.warnings);
  if (report.notExported.length) {
    report.warnings.push(
      `the backup does not contain: ${report.notExported.map((n) => `${n.what} (${n.reason})`).join('; ')}`,
    );
  }

  // Snapshots belong to backup runs: an export folder has none, its claims come back as the folder has them.
  const sources =
    // From S3 wins over the snapshots (on by default): the claims are filled by the movers instead.
    config.pvcsFromSnapshots && config.backup && !config.pvcsFromS3
      ? await snapshotSources(kube, {
          backupId: backup.backupId,
          items: backup.items,
          namespaceMapping: mapping,
        })
      : undefined;
  if (sources) report.warnings.push(...sources.warnings);
  else if (!config.pvcsFromS3)
    report.warnings.push(
      ...emptyClaimWarnings(
        backup.items,
        config.backup
          ? 'NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS=false'
          : 'an export folder holds no volume data',
      ),
    );
  const plan = planRestore(backup.items, {
    backupId: backup.backupId,
    preferences,
    namespaceMapping: mapping,
    pvcSources: sources?.pvcSources,
    extraObjects: sources?.extraObjects,
    existingSnapshots: await existingClaimSnapshots(kube, backup.items, mapping),
  });
  report.excluded.push(...plan.excluded);
  report.warnings.push(...plan.warnings);
  log.info('restore plan', {
    objects: plan.count,
    excluded: plan.excluded.length,
    steps: plan.steps.map((s) => `${s.name}:${s.items.length}`).join(' '),
    dryRun: config.dryRun,
  });
  for (const warning of report.warnings) log.warn(warning);

  try {
    await applyPlan(plan, report, {
      kube,
      log,
      dryRun: config.dryRun,
      concurrency: config.concurrency,
      crdTimeoutMs: config.crdTimeout,
      signal: deps.signal,
      pollMs: deps.pollMs,
      beforeWorkloads:
        config.pvcsFromS3 && deps.restoreVolumes
          ? () =>
              deps.restoreVolumes!({
                backupId: backup.backupId,
                sourceNamespace,
                volumes: backup.manifest?.volumes,
                mapping,
                report,
                dryRun: config.dryRun,
              })
          : undefined,
    });
  } finally {
    finishReport(report);
    if (config.report) await writeFile(config.report, `${JSON.stringify(report, null, 2)}\n`);
  }
  for (const failure of report.failed.slice(0, 20))
    log.error('not restored', { path: failure.path, error: failure.error });
  return report;
}
