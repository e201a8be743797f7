// The settings of `nsbackup backup`. The names are fixed: the chart, the docs and the checks use them.

import { dbConnectionSettings, dbTargetSettings } from '../dump/connection-settings.js';
import { adhocKeepDaysSetting } from '../retention/settings.js';
import {
  argv,
  bool,
  DNS_SUBDOMAIN,
  duration,
  int,
  list,
  oneOf,
  processTimeZone,
  str,
  timeZone,
  url,
  yamlFile,
} from '../config/index.js';
import { encodeDeltas, parseDeltas } from '../retention/index.js';
import { kubeSettings, namespaceSetting } from '../kube/index.js';
import { lockSettings } from '../lock/settings.js';
import { encryptionSettings } from '../crypto/index.js';
import { backupExportSetting, exportTuningSettings } from '../export/settings.js';
import { exportSecretsSetting } from '../export/secrets-policy.js';
import { s3Settings } from '../s3/index.js';
import { parseHooksFile } from './hooks.js';
import { volumeBackupSettings } from '../volumes/settings.js';

/** A Kubernetes object name (DNS subdomain). */
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** ISO 8601 deltas ("PT1H P1D P7D"), checked whatever NSBACKUP_RETAIN is: garbage is never just ignored. */
function deltasSetting(opts: { env: string; description: string }) {
  const plain = str(opts);
  return {
    ...plain,
    form: 'ISO 8601 durations separated by spaces, such as "PT1H P1D P7D"',
    invalidExamples: [...plain.invalidExamples, 'garbage', 'P1D P1H'],
    parse: (raw: string) => {
      const value = plain.parse(raw);
      encodeDeltas(parseDeltas(value));
      return value;
    },
  };
}

export const backupSettings = {
  ...namespaceSetting({
    defaultText: "the pod's namespace in-cluster, else the kubeconfig context's",
    description: 'Namespace to back up.',
  }),
  pvcs: list({
    env: 'NSBACKUP_PVC',
    flag: '--pvc',
    item: /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/,
    itemText: 'PVC names of at most 63 characters (the name is a label value on the snapshot)',
    description: 'PVCs to snapshot, comma-separated. Empty: no volume snapshot.',
  }),
  db: oneOf(['postgres', 'mysql', 'command', 'none'] as const, {
    env: 'NSBACKUP_DB',
    flag: '--db',
    required: true,
    description:
      'Database to dump before the snapshot: postgres, mysql (MySQL and MariaDB), command (any program whose ' +
      'stdout is the dump: NSBACKUP_DB_DUMP_COMMAND) or none. Required, so a database namespace never silently ' +
      'goes without a dump.',
  }),
  dumpCommand: argv({
    env: 'NSBACKUP_DB_DUMP_COMMAND',
    description:
      'For NSBACKUP_DB=command: the dump command run in the container, whose stdout is the dump, as a JSON ' +
      'array (e.g. ["redis-cli","--rdb","-"], ["sqlite3","/data/app.db",".dump"]). Each element is one argument; ' +
      'no shell is involved unless the command is one. A password goes through NSBACKUP_DB_COMMAND_PASSWORD_ENV.',
  }),
  ...dbTargetSettings({
    target: 'Where the dump runs: a Running and Ready pod of this workload.',
    container: 'Container the database runs in (the dump runs there, so client and server versions match).',
  }),
  dbNames: list({
    env: 'NSBACKUP_DB_NAMES',
    flag: '--db-names',
    description:
      'Databases to dump, comma-separated. Empty: all databases. For NSBACKUP_DB=command: the name of its one ' +
      'dump (default command), in the dump file name.',
  }),
  ...dbConnectionSettings,
  dbGlobals: oneOf(['roles', 'with-passwords', 'off'] as const, {
    env: 'NSBACKUP_DB_GLOBALS',
    default: 'roles',
    description:
      'PostgreSQL: also dump the roles, their memberships and the tablespaces (pg_dumpall --globals-only) beside ' +
      'the databases, so a restore into a new server finds the owners its dump names. roles: without role ' +
      'passwords (any user can dump them); with-passwords: their hashes too (needs a superuser); off.',
  }),
  dumpDir: str({
    env: 'NSBACKUP_DUMP_DIR',
    pattern: /^\/\S*$/,
    patternText: 'an absolute path',
    defaultText: '/var/lib/postgresql/data for postgres, /var/lib/mysql for mysql; required for command',
    description: 'Directory in the container, on the snapshotted PVC, where the dump file is kept.',
  }),
  s3Dump: bool({
    env: 'NSBACKUP_S3_DUMP',
    default: false,
    description:
      'Also upload the dump file to the backup S3 folder, after the snapshots: the same bytes as the dump on the ' +
      'PVC (no second dump), encrypted with the backup key if set. Needs NSBACKUP_S3_BUCKET.',
  }),
  snapshotClass: str({
    env: 'NSBACKUP_SNAPSHOT_CLASS',
    pattern: NAME,
    patternText: 'a VolumeSnapshotClass name',
    maxLength: 253,
    defaultText: 'the cluster default class',
    description: 'VolumeSnapshotClass of the snapshots.',
  }),
  snapshotTimeout: duration({
    env: 'NSBACKUP_SNAPSHOT_TIMEOUT',
    default: 15 * 60_000,
    min: 1_000,
    description: 'How long to wait for each snapshot to become readyToUse.',
  }),
  diskThreshold: int({
    env: 'NSBACKUP_DISK_THRESHOLD',
    default: 90,
    min: 1,
    max: 100,
    description:
      'Fail before dumping when the dump directory is at least this full (percent used), or has less free ' +
      'space than the previous dump (the new one is written beside it until it replaces it).',
  }),
  retain: oneOf(['gfs', 'days', 'deltas'] as const, {
    env: 'NSBACKUP_RETAIN',
    default: 'gfs',
    description: 'Retention policy recorded on the snapshots: gfs, days or deltas.',
  }),
  timeZone: timeZone({
    env: 'TZ',
    default: processTimeZone,
    defaultText: "the process's time zone",
    description:
      'IANA time zone of the label dates on the snapshots (day, ISO week, month, year); the pruner must use the same.',
  }),
  retainDays: int({
    env: 'NSBACKUP_RETAIN_DAYS',
    // At least 1, as in the chart's schema: 0 would keep a snapshot for no day, which is surely a mistake.
    min: 1,
    max: 36_500,
    description: 'For retain=days: days to keep each snapshot.',
  }),
  ...adhocKeepDaysSetting,
  retainDeltas: deltasSetting({
    env: 'NSBACKUP_RETAIN_DELTAS',
    description: 'For retain=deltas: ISO 8601 durations such as "PT1H P1D P7D".',
  }),
  ...lockSettings,
  dryRun: bool({
    env: 'NSBACKUP_DRY_RUN',
    flag: '--dry-run',
    default: false,
    description: 'Run every check and print the plan; write nothing.',
  }),
  type: str({
    env: 'NSBACKUP_TYPE',
    flag: '--type',
    pattern: /^(scheduled|adhoc)$/,
    patternText: 'scheduled or adhoc',
    defaultText: 'adhoc when the Job carries cronjob.kubernetes.io/instantiate: manual, else scheduled',
    description: 'Backup type recorded on the snapshots.',
  }),
  jobName: str({
    env: 'NSBACKUP_JOB_NAME',
    pattern: NAME,
    patternText: 'a Job name',
    maxLength: 253,
    defaultText: 'the owner of this pod (NSBACKUP_POD_NAME or HOSTNAME)',
    description: 'The Job this backup runs as, to tell scheduled from ad-hoc runs.',
  }),
  podName: str({
    env: 'NSBACKUP_POD_NAME',
    pattern: DNS_SUBDOMAIN,
    patternText: 'a pod name',
    maxLength: 253,
    defaultText: '$HOSTNAME in-cluster',
    description: 'The pod this backup runs in (downward API), to find its Job.',
  }),
  // Secret: ping URLs carry their token in the path or query, or user:password@ (sent as basic auth).
  notifyUrl: url({
    env: 'NSBACKUP_NOTIFY_URL',
    secret: true,
    description:
      'GET after a successful backup (dead-man switch). A failing request is logged only, with scheme and host.',
  }),
  notifyFailureUrl: url({
    env: 'NSBACKUP_NOTIFY_FAILURE_URL',
    secret: true,
    description: 'GET after a failed backup. A failing request is logged only, with scheme and host.',
  }),
  hooks: yamlFile({
    env: 'NSBACKUP_HOOKS_FILE',
    contentText: 'pre/post hooks (target, container, command, onError)',
    validate: parseHooksFile,
    description: 'Commands run in a container before and after the snapshots (e.g. a flush).',
  }),
  hookTimeout: duration({
    env: 'NSBACKUP_HOOK_TIMEOUT',
    default: 5 * 60_000,
    min: 1_000,
    description:
      'Longest a pre or post hook may run; it then counts as failed. Post hooks get their own time even after ' +
      'SIGTERM, so an application a pre hook froze is always thawed.',
  }),
  clusterName: str({
    env: 'NSBACKUP_CLUSTER_NAME',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    maxLength: 253,
    defaultText: "the kubeconfig's cluster name",
    description: 'Cluster name in S3 keys (<prefix>/<cluster>/<namespace>/<backup id>/).',
  }),
  ...volumeBackupSettings,
  ...kubeSettings,
  ...s3Settings,
  ...backupExportSetting,
  ...exportTuningSettings,
  ...exportSecretsSetting,
  ...encryptionSettings,
};

export type BackupSettings = typeof backupSettings;
