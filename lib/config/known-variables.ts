// Every NSBACKUP_* variable some command reads. A variable of that prefix that none reads is a typo
// (NSBACKUP_NAMSPACE), and ignoring it would back up the pod's own namespace and report success: refused before
// anything runs, in every command. One list for all commands, because the chart gives a Job's container
// variables another command reads too, and so that a command need not load the others' modules to check.
// test/foundation/known-variables.test.ts fails when this list and the commands' schemas differ.

export const KNOWN_VARIABLES: ReadonlySet<string> = new Set([
  'NSBACKUP_ADHOC_KEEP_DAYS',
  'NSBACKUP_ALL_NAMESPACES',
  'NSBACKUP_LIST_CALENDAR',
  'NSBACKUP_SNAPSHOT',
  'NSBACKUP_MAX_AGE',
  'NSBACKUP_MAX_VERIFY_AGE',
  'NSBACKUP_PUSHGATEWAY_URL',
  'NSBACKUP_BACKUP_ID',
  'NSBACKUP_CHECK_SLICE',
  'NSBACKUP_CHECK_SLICES',
  'NSBACKUP_CLUSTER_NAME',
  'NSBACKUP_DB',
  'NSBACKUP_DB_COMMAND_PASSWORD_ENV',
  'NSBACKUP_DB_CONTAINER',
  'NSBACKUP_DB_DUMP_COMMAND',
  'NSBACKUP_DB_GLOBALS',
  'NSBACKUP_DB_HOST',
  'NSBACKUP_DB_NAMES',
  'NSBACKUP_DB_PASSWORD',
  'NSBACKUP_DB_PASSWORD_ENV',
  'NSBACKUP_DB_PORT',
  'NSBACKUP_DB_RESTORE_COMMAND',
  'NSBACKUP_DB_TARGET',
  'NSBACKUP_DB_USER',
  'NSBACKUP_DELETE_GRACE',
  'NSBACKUP_DELETE_PAUSE',
  'NSBACKUP_DIFF_FORMAT',
  'NSBACKUP_DIFF_FROM',
  'NSBACKUP_DISK_THRESHOLD',
  'NSBACKUP_DRY_RUN',
  'NSBACKUP_DUMP_DIR',
  'NSBACKUP_ENCRYPTION_KEY',
  'NSBACKUP_ENCRYPTION_KEY_FILE',
  'NSBACKUP_ETCDCTL',
  'NSBACKUP_ETCDUTL',
  'NSBACKUP_ETCD_BACKUP',
  'NSBACKUP_ETCD_CACERT',
  'NSBACKUP_ETCD_CERT',
  'NSBACKUP_ETCD_DISTRIBUTION',
  'NSBACKUP_ETCD_ENDPOINT',
  'NSBACKUP_ETCD_INITIAL_ADVERTISE_PEER_URLS',
  'NSBACKUP_ETCD_INITIAL_CLUSTER',
  'NSBACKUP_ETCD_KEY',
  'NSBACKUP_ETCD_MAX_SNAPSHOT_AGE',
  'NSBACKUP_ETCD_NAME',
  'NSBACKUP_ETCD_OWN_SNAPSHOT',
  'NSBACKUP_ETCD_RESTORE_DIR',
  'NSBACKUP_ETCD_WORK_DIR',
  'NSBACKUP_EXPORT',
  'NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES',
  'NSBACKUP_EXPORT_CONCURRENCY',
  'NSBACKUP_EXPORT_DIR',
  'NSBACKUP_EXPORT_EXCLUDE',
  'NSBACKUP_EXPORT_SECRETS',
  'NSBACKUP_FORCE',
  'NSBACKUP_HOOKS_FILE',
  'NSBACKUP_HOOK_TIMEOUT',
  'NSBACKUP_JOB_NAME',
  'NSBACKUP_KEEP_DAILY',
  'NSBACKUP_KEEP_MONTHLY',
  'NSBACKUP_KEEP_WEEKLY',
  'NSBACKUP_KEEP_YEARLY',
  'NSBACKUP_KUBECONFIG',
  'NSBACKUP_KUBE_CONTEXT',
  'NSBACKUP_LIST_ETCD',
  'NSBACKUP_LOCK',
  'NSBACKUP_LOCK_BACKEND',
  'NSBACKUP_LOCK_DIR',
  'NSBACKUP_LOCK_NAMESPACE',
  'NSBACKUP_LOCK_SLOTS',
  'NSBACKUP_LOCK_STALE',
  'NSBACKUP_LOCK_TIMEOUT',
  'NSBACKUP_LOG_FORMAT',
  'NSBACKUP_LOG_LEVEL',
  'NSBACKUP_MAX_DELETE_COUNT',
  'NSBACKUP_MAX_DELETE_SHARE',
  'NSBACKUP_MOVER_BACKUP_ID',
  'NSBACKUP_MOVER_CA_PEM',
  'NSBACKUP_MOVER_GID',
  'NSBACKUP_MOVER_IMAGE',
  'NSBACKUP_MOVER_MEMORY',
  'NSBACKUP_MOVER_NAMESPACE',
  'NSBACKUP_MOVER_OPERATION',
  'NSBACKUP_MOVER_PATH',
  'NSBACKUP_MOVER_PULL_POLICY',
  'NSBACKUP_MOVER_PVC',
  'NSBACKUP_MOVER_REPOSITORY',
  'NSBACKUP_MOVER_SNAPSHOT',
  'NSBACKUP_MOVER_START_TIMEOUT',
  'NSBACKUP_MOVER_TIMEOUT',
  'NSBACKUP_MOVER_UID',
  'NSBACKUP_NAMESPACE',
  'NSBACKUP_NAMESPACE_MAPPING',
  'NSBACKUP_NODE_NAME',
  'NSBACKUP_NOTIFY_FAILURE_URL',
  'NSBACKUP_NOTIFY_URL',
  'NSBACKUP_OUTPUT',
  'NSBACKUP_PKI_DIR',
  'NSBACKUP_PKI_FILES',
  'NSBACKUP_POD_NAME',
  'NSBACKUP_PVC',
  'NSBACKUP_RANCHER_DIR',
  'NSBACKUP_PVC_DATA',
  'NSBACKUP_PVC_DATA_DIRECT',
  'NSBACKUP_RESTIC_MEMORY',
  'NSBACKUP_RESTIC_SECRET',
  'NSBACKUP_RESTORE_BACKUP',
  'NSBACKUP_RESTORE_CLAIM',
  'NSBACKUP_RESTORE_CONCURRENCY',
  'NSBACKUP_RESTORE_CRD_TIMEOUT',
  'NSBACKUP_RESTORE_DATABASE',
  'NSBACKUP_RESTORE_FROM',
  'NSBACKUP_RESTORE_GLOBALS',
  'NSBACKUP_RESTORE_FROM_DIR',
  'NSBACKUP_RESTORE_PREFERENCES',
  'NSBACKUP_RESTORE_PVC',
  'NSBACKUP_RESTORE_PVCS_FROM_S3',
  'NSBACKUP_RESTORE_PVCS_FROM_SNAPSHOTS',
  'NSBACKUP_RESTORE_REPLACE_IN',
  'NSBACKUP_RESTORE_REPORT',
  'NSBACKUP_RESTORE_SIZE',
  'NSBACKUP_RESTORE_SNAPSHOT',
  'NSBACKUP_RESTORE_SOURCE_NAMESPACE',
  'NSBACKUP_RESTORE_SOURCE_PVC',
  'NSBACKUP_RESTORE_STORAGE_CLASS',
  'NSBACKUP_RETAIN',
  'NSBACKUP_RETAIN_DAYS',
  'NSBACKUP_RETAIN_DELTAS',
  'NSBACKUP_S3_BUCKET',
  'NSBACKUP_S3_CA_FILE',
  'NSBACKUP_S3_DUMP',
  'NSBACKUP_S3_ENDPOINT',
  'NSBACKUP_S3_FORCE_PATH_STYLE',
  'NSBACKUP_S3_PREFIX',
  'NSBACKUP_S3_REGION',
  'NSBACKUP_S3_SECRET',
  'NSBACKUP_S3_SECRET_KEYS',
  'NSBACKUP_SNAPSHOT_CLASS',
  'NSBACKUP_SNAPSHOT_TIMEOUT',
  'NSBACKUP_STATUS_CONFIGMAP',
  'NSBACKUP_TYPE',
  'NSBACKUP_VERIFY_ASSERTIONS_CONFIGMAP',
  'NSBACKUP_VERIFY_DATA_SUBSET',
  'NSBACKUP_VERIFY_LEVEL',
  'NSBACKUP_VERIFY_MEMORY',
  'NSBACKUP_VERIFY_NAMESPACE',
  'NSBACKUP_VERIFY_REHEARSAL_NAMESPACE',
  'NSBACKUP_VERIFY_START_TIMEOUT',
  'NSBACKUP_VERIFY_TIMEOUT',
  'NSBACKUP_YES',
]);

/** Edits (insert, delete, substitute, swap two neighbours) from one name to the other. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The known name a misspelt one most likely meant, if one is close enough to say so. */
export function closestVariable(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const known of KNOWN_VARIABLES) {
    const d = distance(name, known);
    if (!best || d < best.distance) best = { name: known, distance: d };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 5)) ? best.name : undefined;
}

/**
 * One problem line per NSBACKUP_* variable in `env` that no command reads, nor `alsoKnown` (the running command's
 * own settings); the value is never shown.
 */
export function unknownVariableProblems(env: NodeJS.ProcessEnv, alsoKnown: Iterable<string> = []): string[] {
  const own = new Set(alsoKnown);
  return Object.keys(env)
    .filter((name) => name.startsWith('NSBACKUP_') && !KNOWN_VARIABLES.has(name) && !own.has(name))
    .sort()
    .map((name) => {
      const meant = closestVariable(name);
      return `${name} is not a setting of nsbackup${meant ? `; did you mean ${meant}?` : ''}`;
    });
}
