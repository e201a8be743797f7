// The settings of `nsbackup restore`. Every flag is also an NSBACKUP_* variable, so the chart's restore Job and a
// laptop run read the same names.

import { argv, bool, duration, int, list, oneOf, str, yamlFile } from '../config/index.js';
import { dbConnectionSettings, dbTargetSettings } from '../dump/connection-settings.js';
import { encryptionSettings } from '../crypto/index.js';
import { kubeSettings, namespaceSetting } from '../kube/index.js';
import { validatePreferences, type RestorePreferences } from '../resources/index.js';
import { s3Settings } from '../s3/index.js';
import { volumeRestoreSettings } from '../volumes/settings.js';

const MAPPING_ITEM = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?=[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Where the backup is and which cluster's folder in S3 it is in (shared by restore and restore-db). */
export const backupSourceSettings = {
  ...namespaceSetting({
    defaultText: "the pod's namespace in-cluster, else the kubeconfig context's",
    description: 'The namespace that was backed up (its folder in S3).',
  }),
  backup: str({
    env: 'NSBACKUP_RESTORE_BACKUP',
    flag: '--backup',
    pattern: /^(latest|[A-Za-z0-9][A-Za-z0-9._-]*)$/,
    patternText: 'a backup id or latest',
    // Ids are `yyyyMMdd-HHmmss-xxxxxx`; a folder name S3 could hold is at most 1024 bytes of key: far below.
    maxLength: 128,
    description:
      'Backup to restore from S3: its id, or `latest` (the newest backup whose run succeeded). A named backup ' +
      'whose run failed or did not finish is restored with a warning.',
  }),
  clusterName: str({
    env: 'NSBACKUP_CLUSTER_NAME',
    flag: '--source-cluster',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    maxLength: 253,
    defaultText: "the kubeconfig's cluster name",
    description:
      'Cluster the backup was taken of, as named in S3 keys (<prefix>/<cluster>/<namespace>/<backup id>/). ' +
      'Set it when restoring into another cluster.',
  }),
  ...encryptionSettings,
  ...s3Settings,
};

export const restoreSettings = {
  ...backupSourceSettings,
  fromDir: str({
    env: 'NSBACKUP_RESTORE_FROM_DIR',
    flag: '--from-dir',
    description: 'Restore from a folder written by `nsbackup export --dir` instead of S3.',
  }),
  namespaceMapping: list({
    env: 'NSBACKUP_NAMESPACE_MAPPING',
    flag: '--namespace-mapping',
    item: MAPPING_ITEM,
    itemText: 'old=new namespace pairs',
    description:
      'Restore namespace old into new (repeat the flag, or comma-separate). RoleBinding subjects follow.',
  }),
  preferences: yamlFile<RestorePreferences>({
    env: 'NSBACKUP_RESTORE_PREFERENCES',
    flag: '--preferences',
    contentText: 'restore preferences (include/exclude, existing: skip|update, workloadsLast, ...)',
    validate: validatePreferences,
    description:
      'Restore preferences (see lib/resources/preferences.ts). Default: restore everything, skip existing.',
  }),
  dryRun: bool({
    env: 'NSBACKUP_DRY_RUN',
    flag: '--dry-run',
    default: false,
    description: 'Send every write with dryRun=All: the API server checks the whole plan, nothing is stored.',
  }),
  report: str({
    env: 'NSBACKUP_RESTORE_REPORT',
    flag: '--report',
    description:
      'Write the restore report (created, updated, alreadyExisted, excluded, failed) as JSON here.',
  }),
  concurrency: int({
    env: 'NSBACKUP_RESTORE_CONCURRENCY',
    flag: '--concurrency',
    min: 1,
    max: 256,
    default: 16,
    description: 'Objects created at once within one restore step.',
  }),
  pvcsFromSnapshots: bool({
    env: 'NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS',
    flag: '--pvcs-from-snapshots',
    // On by default: a restore that brings the claims back empty while their data sits in a snapshot is not what
    // anyone running a restore expects. Each claim restored empty is named in a warning either way.
    default: true,
    description:
      "PVCs get the backup's VolumeSnapshot of that PVC as dataSource (recreated from its content in another " +
      'namespace). A PVC whose snapshot is missing or may not be read is restored empty, with a warning naming ' +
      'it; false: every PVC is restored empty (each named in a warning).',
  }),
  pvcsFromS3: bool({
    env: 'NSBACKUP_RESTORE_PVCS_FROM_S3',
    flag: '--pvcs-from-s3',
    default: false,
    description:
      "PVCs the restore creates are filled from the backup's volume data in S3 (restic, NSBACKUP_PVC_DATA), by a " +
      'mover Job each, before the workloads start; works in any cluster. Never into a claim that already existed. ' +
      'Wins over --pvcs-from-snapshots.',
  }),
  ...volumeRestoreSettings,
  crdTimeout: duration({
    env: 'NSBACKUP_RESTORE_CRD_TIMEOUT',
    default: 60_000,
    min: 1_000,
    description: 'How long to wait for a restored CustomResourceDefinition to become Established.',
  }),
  ...kubeSettings,
};

export type RestoreSettings = typeof restoreSettings;

// --backup is restore's; restore-db names its source with --from.
const { backup: _backup, ...sourceSettings } = backupSourceSettings;

/** restore-db's settings: where the dump comes from and the database it goes into. */
export const restoreDbSettings = {
  ...sourceSettings,
  from: str({
    env: 'NSBACKUP_RESTORE_FROM',
    flag: '--from',
    required: true,
    description:
      'The dump: an absolute path in the database container (the PVC), or a backup id or latest in S3.',
  }),
  db: oneOf(['postgres', 'mysql', 'command'] as const, {
    env: 'NSBACKUP_DB',
    flag: '--db',
    required: true,
    description:
      'Database kind: postgres, mysql (MySQL and MariaDB) or command (the dump fed to NSBACKUP_DB_RESTORE_COMMAND).',
  }),
  restoreCommand: argv({
    env: 'NSBACKUP_DB_RESTORE_COMMAND',
    description:
      'For --db command: the command run in the container that reads the dump, decompressed, on stdin, as a JSON ' +
      'array (e.g. ["sqlite3","/data/app.db"]). Its output goes to stderr; a non-zero exit fails the restore.',
  }),
  dryRun: bool({
    env: 'NSBACKUP_DRY_RUN',
    flag: '--dry-run',
    default: false,
    description:
      'Check without restoring: the backup and its dump (S3: the manifest), the client or restore command in the ' +
      'container, the server (not for a command), a dump file in the container readable.',
  }),
  ...dbTargetSettings({
    required: true,
    target: 'Where the database runs: a Running and Ready pod of this workload.',
    container: 'Container the database runs in.',
  }),
  database: str({
    env: 'NSBACKUP_RESTORE_DATABASE',
    flag: '--database',
    description: 'Database to restore into (PostgreSQL: required; MySQL: the dump names its databases).',
  }),
  globals: bool({
    env: 'NSBACKUP_RESTORE_GLOBALS',
    flag: '--globals',
    default: true,
    description:
      "PostgreSQL: first create the roles, memberships and tablespaces of the backup's globals dump that the " +
      'server is missing; existing ones are left as they are. --globals=false skips it.',
  }),
  ...dbConnectionSettings,
  yes: bool({
    env: 'NSBACKUP_YES',
    flag: '--yes',
    default: false,
    description: 'Do not ask for confirmation (needed without a terminal).',
  }),
  ...kubeSettings,
};
