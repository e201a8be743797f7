// Settings shared by retain, mark-and-delete and list. The names are the chart's: do not rename them.
import { bool, duration, int, num, processTimeZone, str, timeZone } from '../config/index.js';
import type { GfsKeep } from '../retention/index.js';

export const scopeSettings = {
  namespace: str({
    env: 'NSBACKUP_NAMESPACE',
    flag: '--namespace',
    description:
      "Namespace whose snapshots are handled. Empty: the pod's namespace, else the kubeconfig context's.",
  }),
  allNamespaces: bool({
    env: 'NSBACKUP_ALL_NAMESPACES',
    flag: '--all-namespaces',
    default: false,
    description:
      'Handle the snapshots of every namespace (cluster-wide install); wins over NSBACKUP_NAMESPACE.',
  }),
};

export const scopeAliases = { '-n': '--namespace', '-A': '--all-namespaces' };

/** The standard TZ variable defines "today" and the label periods; `:Europe/Berlin` (glibc form) is accepted. */
export const timeZoneSetting = {
  timeZone: timeZone({
    env: 'TZ',
    default: processTimeZone,
    defaultText: "the process's time zone",
    description: 'IANA time zone that defines days, weeks and months for labels and delete-after dates.',
  }),
};

export const dryRunSetting = {
  dryRun: bool({
    env: 'NSBACKUP_DRY_RUN',
    flag: '--dry-run',
    default: false,
    description: 'Print the plan and change nothing.',
  }),
};

export const keepSettings = {
  keepDaily: int({
    env: 'NSBACKUP_KEEP_DAILY',
    default: 7,
    min: 0,
    description: 'Daily labels kept per PVC.',
  }),
  keepWeekly: int({
    env: 'NSBACKUP_KEEP_WEEKLY',
    default: 4,
    min: 0,
    description: 'Weekly labels kept per PVC.',
  }),
  keepMonthly: int({
    env: 'NSBACKUP_KEEP_MONTHLY',
    default: 12,
    min: 0,
    description: 'Monthly labels kept per PVC.',
  }),
  keepYearly: int({
    env: 'NSBACKUP_KEEP_YEARLY',
    default: 0,
    min: 0,
    description:
      'Yearly labels kept per PVC (0: a yearly label keeps nothing and goes with the last label that keeps the ' +
      'snapshot; 12 monthly reach back a year).',
  }),
};

/** The keep counts of keepSettings, as the retention policies take them. */
export function gfsKeepOf(config: {
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  keepYearly: number;
}): GfsKeep {
  return {
    daily: config.keepDaily,
    weekly: config.keepWeekly,
    monthly: config.keepMonthly,
    yearly: config.keepYearly,
  };
}

export const markAndDeleteSettings = {
  deleteGrace: int({
    env: 'NSBACKUP_DELETE_GRACE',
    default: 1,
    min: 0,
    description: 'Days between marking a snapshot (delete-after) and the last day it survives.',
  }),
  deletePause: duration({
    env: 'NSBACKUP_DELETE_PAUSE',
    default: 5000,
    min: 0,
    description: 'Pause between two deletions, so the storage backend is not flooded.',
  }),
  maxDeleteShare: num({
    env: 'NSBACKUP_MAX_DELETE_SHARE',
    default: 0.5,
    min: 0,
    max: 1,
    description:
      "Safety valve: refuse the run when it would delete more than this share (0..1) of a PVC's snapshots.",
  }),
  maxDeleteCount: int({
    env: 'NSBACKUP_MAX_DELETE_COUNT',
    default: 20,
    min: 0,
    description:
      "Safety valve: refuse the run when it would delete more than this many of one PVC's snapshots.",
  }),
  force: bool({
    env: 'NSBACKUP_FORCE',
    flag: '--force',
    default: false,
    description: 'Delete even when the safety valve trips.',
  }),
  clusterName: str({
    env: 'NSBACKUP_CLUSTER_NAME',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    maxLength: 253,
    defaultText: "the kubeconfig's cluster name",
    description:
      'Cluster name in S3 keys (<prefix>/<cluster>/<namespace>/<backup id>/), for snapshots without an ' +
      "s3-location annotation. Must match the backup's.",
  }),
};

/** The namespace to work on, or undefined for all namespaces. */
export function scopeFrom(
  config: { namespace: string; allNamespaces: boolean },
  defaultNamespace: string,
): string | undefined {
  if (config.allNamespaces) return undefined;
  return config.namespace || defaultNamespace;
}
