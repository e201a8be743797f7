// Settings of the volume data path (restic to S3). The names are the chart's: do not rename them.

import { duration, int, list, oneOf, pem, secret, str } from '../config/index.js';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The Secret holding the repository password (key RESTIC_PASSWORD), in the namespace the work happens in. */
export const resticSecretSetting = {
  resticSecret: str({
    env: 'NSBACKUP_RESTIC_SECRET',
    pattern: NAME,
    patternText: 'a Secret name',
    description:
      "Secret (in the namespace) whose key RESTIC_PASSWORD is the password of the namespace's restic repository. " +
      'Read by the mover Jobs by reference; never logged, never an argument.',
  }),
};

export const volumeBackupSettings = {
  pvcData: list({
    env: 'NSBACKUP_PVC_DATA',
    item: /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/,
    itemText: 'PVC names, each also in NSBACKUP_PVC',
    description:
      "PVCs whose files are also copied to S3 with restic, from a clone of this run's VolumeSnapshot (so off the " +
      'cluster and point-in-time). Each must be in NSBACKUP_PVC. Needs NSBACKUP_S3_BUCKET, NSBACKUP_RESTIC_SECRET ' +
      'and NSBACKUP_MOVER_IMAGE.',
  }),
  pvcDataDirect: list({
    env: 'NSBACKUP_PVC_DATA_DIRECT',
    item: /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/,
    itemText: 'PVC names, none also in NSBACKUP_PVC_DATA',
    description:
      'PVCs whose files are copied to S3 with restic from the live claim itself, mounted read-only in the mover ' +
      'Job: for storage without CSI snapshots (NFS, other ReadWriteMany volumes). Not point-in-time (files may ' +
      'change while restic reads them). No VolumeSnapshot needed, need not be in NSBACKUP_PVC. A ReadWriteOnce ' +
      "claim a running pod mounts is read on that pod's node; a ReadWriteOncePod claim in use fails. Needs the " +
      'same settings as NSBACKUP_PVC_DATA.',
  }),
  ...resticSecretSetting,
  s3Secret: str({
    env: 'NSBACKUP_S3_SECRET',
    pattern: NAME,
    patternText: 'a Secret name',
    defaultText: "none: the mover uses the node's or the service account's S3 credentials",
    description: 'Secret with the S3 keys the mover Jobs take (by reference, NSBACKUP_S3_SECRET_KEYS).',
  }),
  s3SecretKeys: list({
    env: 'NSBACKUP_S3_SECRET_KEYS',
    item: /^AWS_[A-Z0-9_]+=[-._a-zA-Z0-9]+$/,
    itemText: 'VARIABLE=key pairs (AWS_* variables)',
    default: ['AWS_ACCESS_KEY_ID=AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY=AWS_SECRET_ACCESS_KEY'],
    description:
      "Which key of NSBACKUP_S3_SECRET each of the mover's AWS_* variables comes from (the chart's s3.secret.keys).",
  }),
  moverImage: str({
    env: 'NSBACKUP_MOVER_IMAGE',
    description:
      "Image of the mover Jobs: nsbackup's own image (it has restic). The chart sets its own image.",
  }),
  moverPullPolicy: str({
    env: 'NSBACKUP_MOVER_PULL_POLICY',
    pattern: /^(Always|IfNotPresent|Never)$/,
    patternText: 'Always, IfNotPresent or Never',
    defaultText: "the cluster's default",
    description: 'imagePullPolicy of the mover Jobs.',
  }),
  moverUid: int({
    env: 'NSBACKUP_MOVER_UID',
    min: 1,
    default: 1000,
    description:
      'User the backup mover reads the volume as (never root). It must be able to read every file: use the ' +
      "application's user (999 for the postgres image) or its fsGroup.",
  }),
  moverGid: int({
    env: 'NSBACKUP_MOVER_GID',
    min: 1,
    default: 1000,
    description: 'Group the backup mover runs as (the volume group of an fsGroup).',
  }),
  moverMemory: int({
    env: 'NSBACKUP_MOVER_MEMORY',
    min: 128,
    default: 1024,
    description:
      "Memory limit of a mover Job's container, in MiB (requested: a quarter of it). restic gets 80 % of it as its " +
      'soft limit (GOMEMLIMIT), so it collects garbage harder instead of being killed.',
  }),
  moverStartTimeout: duration({
    env: 'NSBACKUP_MOVER_START_TIMEOUT',
    default: 10 * 60_000,
    min: 1_000,
    description:
      "How long a mover Job's pod may take to start (scheduling, image pull): one that is not running by then " +
      '(a ResourceQuota refusing it, no node for it) fails the run with the reason, instead of at NSBACKUP_MOVER_TIMEOUT.',
  }),
  moverTimeout: duration({
    env: 'NSBACKUP_MOVER_TIMEOUT',
    default: 6 * 3_600_000,
    min: 10_000,
    description: "Longest one volume's upload may take (the mover Job's activeDeadlineSeconds).",
  }),
};

/** What a restore of volume data from S3 needs (`restore --pvcs-from-s3`, `restore-pvc --from s3`): the mover Job. */
export const volumeRestoreSettings = {
  ...resticSecretSetting,
  s3Secret: volumeBackupSettings.s3Secret,
  s3SecretKeys: volumeBackupSettings.s3SecretKeys,
  moverImage: volumeBackupSettings.moverImage,
  moverPullPolicy: volumeBackupSettings.moverPullPolicy,
  moverTimeout: volumeBackupSettings.moverTimeout,
  moverMemory: volumeBackupSettings.moverMemory,
  moverStartTimeout: volumeBackupSettings.moverStartTimeout,
};

/** Volume data in the pruner's run (mark-and-delete). */
export const volumePruneSettings = {
  ...resticSecretSetting,
  resticMemory: str({
    env: 'NSBACKUP_RESTIC_MEMORY',
    pattern: /^\d+(B|KiB|MiB|GiB)$/,
    patternText: 'a size such as 400MiB',
    defaultText: "restic's own (no limit)",
    description:
      "Soft memory limit of restic prune (GOMEMLIMIT): keep it below the pruner container's limit. The peak is " +
      'reported in the summary line.',
  }),
};

/** Settings of `nsbackup volume-mover`, the command a mover Job runs (set by the Job, not by users). */
export const moverSettings = {
  operation: oneOf(['backup', 'restore'] as const, {
    env: 'NSBACKUP_MOVER_OPERATION',
    required: true,
    description: 'backup: the mount path to a new snapshot; restore: a snapshot into the mount path.',
  }),
  repository: str({
    env: 'NSBACKUP_MOVER_REPOSITORY',
    required: true,
    pattern: /^s3:\S+$/,
    patternText: 'an s3: repository',
    description: "The namespace's restic repository.",
  }),
  namespace: str({
    env: 'NSBACKUP_MOVER_NAMESPACE',
    required: true,
    description: 'Namespace tag of the snapshot.',
  }),
  pvc: str({ env: 'NSBACKUP_MOVER_PVC', required: true, description: 'PVC tag of the snapshot.' }),
  backupId: str({
    env: 'NSBACKUP_MOVER_BACKUP_ID',
    required: true,
    description: 'Backup tag of the snapshot.',
  }),
  path: str({
    env: 'NSBACKUP_MOVER_PATH',
    default: '/data',
    pattern: /^\/\S*$/,
    patternText: 'an absolute path',
    description: 'Where the volume is mounted.',
  }),
  snapshot: str({
    env: 'NSBACKUP_MOVER_SNAPSHOT',
    pattern: /^[0-9a-f]{8,64}$/,
    patternText: 'a restic snapshot id',
    description: 'restore: the snapshot to restore.',
  }),
  caPem: pem({
    env: 'NSBACKUP_MOVER_CA_PEM',
    description: "The S3 endpoint's private CA (PEM text, public), from the run's NSBACKUP_S3_CA_FILE.",
  }),
  password: secret({
    env: 'RESTIC_PASSWORD',
    required: true,
    description: 'The repository password (from the Secret, by reference).',
  }),
};
