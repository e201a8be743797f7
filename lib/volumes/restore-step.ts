// The volume step of `nsbackup restore --pvcs-from-s3`: after the claims are created and before the workloads that
// mount them start, each PVC the backup copied with restic (its manifest's `volumes`) is filled from its snapshot
// (the very snapshot the manifest names, found by its namespace, PVC and backup tags). Only into a claim this restore
// created: an existing claim's data is never overwritten. Failures are the report's failures.

import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { ManifestVolume } from '../resources/manifest.js';
import type { S3Location } from '../s3/index.js';
import { openLocalRepository } from './local-repo.js';
import type { MoverSettings } from './mover-manifests.js';
import { repositoryUrl } from './repository.js';
import { restoreInto } from './restore-volume.js';

/** What happened to one volume of the backup: restored (or, dry run, would be) or skipped (claim not created). */
export interface VolumeOutcome {
  pvc: string;
  namespace: string;
  outcome: 'restored' | 'would restore' | 'skipped';
  files?: number;
  bytes?: number;
}

/**
 * The parts of the restore's report (lib/restore/report.ts) this step reads and writes: the claims the restore
 * created, and the step's warnings, failures and per-volume outcomes.
 */
export interface VolumeStepReport {
  created: { path: string }[];
  warnings: string[];
  failed: { path: string; kind: string; namespace?: string; name: string; error?: string }[];
  volumes?: VolumeOutcome[];
}

export interface VolumeRestoreContext {
  backupId: string;
  sourceNamespace: string;
  volumes: ManifestVolume[] | undefined;
  mapping: Record<string, string>;
  report: VolumeStepReport;
  dryRun: boolean;
}

export type RestoreVolumes = (ctx: VolumeRestoreContext) => Promise<void>;

export function volumeRestoreStep(opts: {
  kube: KubeClient;
  log: Logger;
  location: S3Location;
  cluster: string;
  secret: string;
  mover: MoverSettings;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}): RestoreVolumes {
  return async (ctx) => {
    const { report } = ctx;
    if (!ctx.volumes?.length) {
      report.warnings.push(
        `--pvcs-from-s3: backup ${ctx.backupId} holds no volume data (NSBACKUP_PVC_DATA was empty)`,
      );
      return;
    }
    const target = ctx.mapping[ctx.sourceNamespace] ?? ctx.sourceNamespace;
    const { repo } = await openLocalRepository({
      kube: opts.kube,
      log: opts.log,
      location: opts.location,
      cluster: opts.cluster,
      namespace: ctx.sourceNamespace,
      secret: opts.secret,
      secretNamespace: target,
      env: opts.env,
      signal: opts.signal,
    });
    report.volumes = [];
    for (const volume of ctx.volumes) {
      const claimPath = `/api/v1/namespaces/${target}/persistentvolumeclaims/${volume.pvc}`;
      const entry = { path: claimPath, kind: 'PersistentVolumeClaim', namespace: target, name: volume.pvc };
      const createdNow = report.created.some((e) => e.path === claimPath);
      if (!createdNow && !ctx.dryRun) {
        report.warnings.push(
          `volume data of PVC ${target}/${volume.pvc} not restored: the claim was not created by this restore (existing data is never overwritten)`,
        );
        report.volumes.push({ pvc: volume.pvc, namespace: target, outcome: 'skipped' });
        continue;
      }
      try {
        const found = await repo.snapshotsOf({
          namespace: ctx.sourceNamespace,
          pvc: volume.pvc,
          backupId: ctx.backupId,
        });
        const snapshot = found.find((s) => s.id === volume.resticSnapshotId);
        if (!snapshot)
          throw new Error(
            `its restic snapshot ${volume.resticSnapshotId.slice(0, 8)} is not in the repository`,
          );
        if (ctx.dryRun) {
          report.volumes.push({
            pvc: volume.pvc,
            namespace: target,
            outcome: 'would restore',
            files: volume.files,
            bytes: volume.bytesProcessed,
          });
          continue;
        }
        await restoreInto({
          kube: opts.kube,
          log: opts.log.child({ pvc: volume.pvc }),
          namespace: target,
          claimName: volume.pvc,
          repository: repositoryUrl(opts.location, opts.cluster, ctx.sourceNamespace),
          snapshot,
          mover: opts.mover,
          pollMs: 2_000,
          sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
          now: () => Date.now(),
          random: Math.random,
          signal: opts.signal,
        });
        report.volumes.push({
          pvc: volume.pvc,
          namespace: target,
          outcome: 'restored',
          files: volume.files,
          bytes: volume.bytesProcessed,
        });
        opts.log.info('volume data restored', { pvc: volume.pvc, namespace: target, files: volume.files });
      } catch (e) {
        report.failed.push({
          ...entry,
          error: `volume data not restored: ${(e as Error).message}`.slice(0, 300),
        });
      }
    }
  };
}
