// `nsbackup restore-pvc <snapshot> --as <pvc>`: a PVC from a VolumeSnapshot, optionally switched into a
// scaled-down workload. The work is lib/restore/pvc.ts.
// `nsbackup restore-pvc --from s3 --pvc <source pvc> --backup <id|latest> --as <pvc>`: a new PVC filled from the
// source namespace's restic repository, in any cluster and namespace (lib/volumes/restore-volume.ts).

import { defineCommand, runIfMain } from '../lib/command.js';
import type { RunContext } from '../lib/command.js';
import { bool, ConfigError, oneOf, str } from '../lib/config/index.js';
import { clusterNameOf } from '../lib/kube/index.js';
import { s3LocationFrom, s3Settings } from '../lib/s3/index.js';
import { openLocalRepository } from '../lib/volumes/local-repo.js';
import { repositoryUrl } from '../lib/volumes/repository.js';
import { restorePvcFromS3 } from '../lib/volumes/restore-volume.js';
import { restoreMoverSettingsOf } from '../lib/volumes/backup-wiring.js';
import { volumeRestoreSettings } from '../lib/volumes/settings.js';
import { connectOrConfigError, kubeSettings, namespaceSetting } from '../lib/kube/index.js';
import { restorePvc } from '../lib/restore/pvc.js';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export const restorePvcSettings = {
  from: oneOf(['snapshot', 's3'] as const, {
    env: 'NSBACKUP_RESTORE_FROM',
    flag: '--from',
    default: 'snapshot',
    description:
      "snapshot: a VolumeSnapshot in the namespace; s3: the files the backup copied to the namespace's restic " +
      'repository (NSBACKUP_PVC_DATA), from any cluster.',
  }),
  snapshot: str({
    env: 'NSBACKUP_RESTORE_SNAPSHOT',
    pattern: NAME,
    patternText: 'a VolumeSnapshot name',
    maxLength: 253,
    description: 'The VolumeSnapshot to restore (first argument); with --from snapshot, required.',
  }),
  sourcePvc: str({
    env: 'NSBACKUP_RESTORE_SOURCE_PVC',
    flag: '--pvc',
    pattern: NAME,
    patternText: 'a PVC name',
    description: '--from s3: the PVC whose files to restore, as it was named in the backed-up namespace.',
  }),
  sourceNamespace: str({
    env: 'NSBACKUP_RESTORE_SOURCE_NAMESPACE',
    flag: '--source-namespace',
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    patternText: 'a namespace name',
    defaultText: 'the target namespace',
    description: '--from s3: the namespace that was backed up (its repository and tags).',
  }),
  backup: str({
    env: 'NSBACKUP_RESTORE_BACKUP',
    flag: '--backup',
    default: 'latest',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'a backup id or latest',
    description: "--from s3: the backup whose copy to restore, or latest (the PVC's newest copy).",
  }),
  size: str({
    env: 'NSBACKUP_RESTORE_SIZE',
    flag: '--size',
    pattern: /^\d+(\.\d+)?([KMGTPE]i?|k)?$/,
    patternText: 'a quantity such as 10Gi',
    defaultText: "the snapshot's data plus a tenth, in whole GiB, at least 1Gi",
    description: '--from s3: size of the new claim.',
  }),
  clusterName: str({
    env: 'NSBACKUP_CLUSTER_NAME',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    defaultText: "the kubeconfig's cluster name",
    description: '--from s3: the cluster name the backup wrote under (<prefix>/<cluster>/...).',
  }),
  ...volumeRestoreSettings,
  ...s3Settings,
  as: str({
    env: 'NSBACKUP_RESTORE_PVC',
    flag: '--as',
    required: true,
    pattern: NAME,
    patternText: 'a PVC name',
    maxLength: 63,
    description: 'Name of the new PersistentVolumeClaim.',
  }),
  ...namespaceSetting({
    defaultText: "the kubeconfig context's namespace",
    description: 'Namespace of the snapshot and the new claim.',
  }),
  storageClass: str({
    env: 'NSBACKUP_RESTORE_STORAGE_CLASS',
    flag: '--storage-class',
    defaultText: "the source claim's, else the cluster default",
    description: 'StorageClass of the new claim.',
  }),
  replaceIn: str({
    env: 'NSBACKUP_RESTORE_REPLACE_IN',
    flag: '--replace-in',
    pattern: /^(deployment|deploy|statefulset|sts)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    patternText: 'deployment/NAME or statefulset/NAME',
    description: 'Switch this workload (scaled to 0) from the old claim to the new one.',
  }),
  claim: str({
    env: 'NSBACKUP_RESTORE_CLAIM',
    flag: '--claim',
    pattern: NAME,
    patternText: 'a PVC name',
    maxLength: 63,
    defaultText: "the snapshot's source claim",
    description: 'With --replace-in: the claim the workload uses now.',
  }),
  dryRun: bool({
    env: 'NSBACKUP_DRY_RUN',
    flag: '--dry-run',
    default: false,
    description: 'Send the writes with dryRun=All; nothing is stored.',
  }),
  ...kubeSettings,
};

export const command = defineCommand({
  name: 'restore-pvc',
  summary: 'Create a PVC from a VolumeSnapshot, optionally switching a scaled-down workload to it',
  usage:
    'nsbackup restore-pvc <snapshot> --as <pvc> [-n NS] [--replace-in deployment/NAME|statefulset/NAME]\n' +
    '       nsbackup restore-pvc --from s3 --pvc <pvc> [--backup <id|latest>] [--source-namespace NS] --as <pvc> [-n NS] [--dry-run]',
  schema: restorePvcSettings,
  positional: ['snapshot'],
  aliases: { '-n': '--namespace' },
  async run(ctx) {
    const { config, log, env } = ctx;
    if (config.from === 's3') return restoreFromS3(ctx);
    if (!config.snapshot)
      throw new ConfigError([
        'restore-pvc needs the VolumeSnapshot to restore (first argument), or --from s3',
      ]);
    const kube = connectOrConfigError(config, env);
    const namespace = config.namespace || kube.defaultNamespace;
    const result = await restorePvc({
      kube,
      log,
      namespace,
      snapshot: config.snapshot,
      as: config.as,
      storageClass: config.storageClass || undefined,
      replaceIn: config.replaceIn || undefined,
      claim: config.claim || undefined,
      dryRun: config.dryRun,
    });
    return {
      summary: {
        namespace,
        pvc: config.as,
        snapshot: config.snapshot,
        size: (result.pvc.spec as any).resources.requests.storage,
        created: result.created,
        ...(result.workload ? { workload: result.workload } : {}),
        dryRun: config.dryRun,
      },
    };
  },
});

/** `--from s3`: checks the settings it needs (exit 2 before anything is read), then restores. */
async function restoreFromS3({ config, log, env, signal, out }: RunContext<typeof restorePvcSettings>) {
  const problems: string[] = [];
  const location = s3LocationFrom(config);
  if (!location) problems.push('--from s3 needs NSBACKUP_S3_BUCKET');
  if (!config.sourcePvc)
    problems.push('--from s3 needs --pvc (NSBACKUP_RESTORE_SOURCE_PVC): the PVC to restore');
  if (!config.resticSecret)
    problems.push(
      '--from s3 needs NSBACKUP_RESTIC_SECRET: a Secret in the target namespace with RESTIC_PASSWORD',
    );
  if (!config.moverImage && !config.dryRun)
    problems.push("--from s3 needs NSBACKUP_MOVER_IMAGE (nsbackup's image, which has restic)");
  if (config.replaceIn || config.snapshot)
    problems.push('--from s3 restores into a new claim only: no snapshot argument, no --replace-in');
  if (problems.length) throw new ConfigError(problems);
  const kube = connectOrConfigError(config, env);
  const namespace = config.namespace || kube.defaultNamespace;
  const sourceNamespace = config.sourceNamespace || namespace;
  const cluster = clusterNameOf(config.clusterName, kube);
  const { repo } = await openLocalRepository({
    kube,
    log,
    location: location!,
    cluster,
    namespace: sourceNamespace,
    secret: config.resticSecret,
    secretNamespace: namespace,
    env,
    signal,
  });
  const result = await restorePvcFromS3({
    kube,
    log,
    namespace,
    repo,
    repository: repositoryUrl(location!, cluster, sourceNamespace),
    source: { namespace: sourceNamespace, pvc: config.sourcePvc },
    backup: config.backup,
    as: config.as,
    size: config.size || undefined,
    storageClass: config.storageClass || undefined,
    dryRun: config.dryRun,
    out,
    mover: restoreMoverSettingsOf(config),
    pollMs: 2_000,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: () => Date.now(),
    random: Math.random,
    signal,
  });
  return {
    summary: {
      namespace,
      pvc: config.as,
      from: `${sourceNamespace}/${config.sourcePvc}`,
      backupId: result.snapshot.backupId,
      resticSnapshot: result.snapshot.id.slice(0, 8),
      files: result.files,
      bytes: result.bytes,
      size: result.size,
      created: result.created,
      dryRun: config.dryRun,
    },
  };
}

runIfMain(command, import.meta.url);
