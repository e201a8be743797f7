// The restore report (k8s-snap's shape): what was created, updated, found already there, left out (with the
// reason) and what failed (with the error, cut to 300 characters), with counts.

import type { VolumeOutcome } from '../volumes/restore-step.js';

export interface ReportEntry {
  /** API path in the target cluster (in the backup, for excluded objects). */
  path: string;
  /** API path in the backup, when it differs (namespace mapping). */
  sourcePath?: string;
  /** `Kind.group` (`Deployment.apps`, `ConfigMap`). */
  kind: string;
  namespace?: string;
  name: string;
  /** Excluded: why. alreadyExisted: `skip` or `identical`. Created: why the restore added an object not in the backup. */
  reason?: string;
  /** Excluded: by the restore preferences, or because the cluster regenerates the object. */
  rule?: 'preferences' | 'regenerated';
  /** Failed: the API server's (or connection's) message, at most 300 characters. */
  error?: string;
}

export interface RestoreReport {
  backupId: string;
  /** `s3://bucket/prefix/...` or the folder restored from. */
  source: string;
  /**
   * How the run that wrote the backup ended (S3 only): `latest` is always `succeeded`; a backup named by id whose
   * run failed or recorded no outcome is restored, with a warning.
   */
  outcome?: 'succeeded' | 'failed' | 'missing';
  /** What the backup does not contain (its manifest's notExported): types excluded or unreadable at export. */
  notExported: { what: string; reason: string }[];
  sourceNamespace: string;
  namespaceMapping: Record<string, string>;
  dryRun: boolean;
  startedAt: string;
  completedAt?: string;
  created: ReportEntry[];
  updated: ReportEntry[];
  alreadyExisted: ReportEntry[];
  excluded: ReportEntry[];
  failed: ReportEntry[];
  /**
   * Dry run only: objects the server could not check because what they need is created by the restore itself
   * (their namespace, or the CRD of a custom resource).
   */
  notChecked: ReportEntry[];
  /** Things a user should know that are not failures (a PVC that could not get its snapshot). */
  warnings: string[];
  /** --pvcs-from-s3: each volume of the backup, restored (or, dry run, would be) or skipped (claim not created). */
  volumes?: VolumeOutcome[];
  counts: {
    created: number;
    updated: number;
    alreadyExisted: number;
    excluded: number;
    /** Of the excluded: by the preferences (the rest are objects the cluster regenerates). */
    excludedByPreferences: number;
    failed: number;
    notChecked: number;
  };
}

export const MAX_ERROR_LENGTH = 300;

export function cutError(message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_ERROR_LENGTH ? `${flat.slice(0, MAX_ERROR_LENGTH - 3)}...` : flat;
}

export function emptyReport(input: {
  backupId: string;
  source: string;
  outcome?: RestoreReport['outcome'];
  notExported?: RestoreReport['notExported'];
  sourceNamespace: string;
  namespaceMapping: Record<string, string>;
  dryRun: boolean;
  startedAt?: Date;
}): RestoreReport {
  return {
    backupId: input.backupId,
    source: input.source,
    ...(input.outcome ? { outcome: input.outcome } : {}),
    notExported: input.notExported ?? [],
    sourceNamespace: input.sourceNamespace,
    namespaceMapping: input.namespaceMapping,
    dryRun: input.dryRun,
    startedAt: (input.startedAt ?? new Date()).toISOString(),
    created: [],
    updated: [],
    alreadyExisted: [],
    excluded: [],
    failed: [],
    notChecked: [],
    warnings: [],
    counts: {
      created: 0,
      updated: 0,
      alreadyExisted: 0,
      excluded: 0,
      excludedByPreferences: 0,
      failed: 0,
      notChecked: 0,
    },
  };
}

const byPath = (a: ReportEntry, b: ReportEntry) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Sorts every list (parallel creation finishes in any order) and fills in the counts. */
export function finishReport(report: RestoreReport): RestoreReport {
  for (const list of [
    report.created,
    report.updated,
    report.alreadyExisted,
    report.excluded,
    report.failed,
    report.notChecked,
  ]) {
    list.sort(byPath);
  }
  report.completedAt = new Date().toISOString();
  report.counts = {
    created: report.created.length,
    updated: report.updated.length,
    alreadyExisted: report.alreadyExisted.length,
    excluded: report.excluded.length,
    excludedByPreferences: report.excluded.filter((e) => e.rule === 'preferences').length,
    failed: report.failed.length,
    notChecked: report.notChecked.length,
  };
  return report;
}

/** At most this many objects are named per list in the summary line; the report file has them all. */
const NAMED_IN_SUMMARY = 10;

/** `kind namespace/name` of the first entries of a list, and how many more: a count alone names nothing. */
function named(entries: readonly ReportEntry[]): string[] {
  const names = entries
    .slice(0, NAMED_IN_SUMMARY)
    .map((e) => `${e.kind} ${e.namespace ? `${e.namespace}/` : ''}${e.path.split('/').pop()}`);
  if (entries.length > NAMED_IN_SUMMARY)
    names.push(`and ${entries.length - NAMED_IN_SUMMARY} more (see the report)`);
  return names;
}

/**
 * The summary line's fields: counts, the objects behind the counts a person acts on (already there, failed, not
 * checked), and a backup that is not whole (its run failed, types it does not hold) says so.
 */
export function summaryOf(report: RestoreReport): Record<string, unknown> {
  return {
    backupId: report.backupId,
    ...(report.outcome && report.outcome !== 'succeeded' ? { backupOutcome: report.outcome } : {}),
    dryRun: report.dryRun,
    ...report.counts,
    ...(report.alreadyExisted.length ? { alreadyExistedObjects: named(report.alreadyExisted) } : {}),
    ...(report.failed.length ? { failedObjects: named(report.failed) } : {}),
    ...(report.notChecked.length ? { notCheckedObjects: named(report.notChecked) } : {}),
    ...(report.notExported.length ? { notInBackup: report.notExported.map((n) => n.what) } : {}),
    ...(report.warnings.length ? { warnings: report.warnings.length } : {}),
  };
}
