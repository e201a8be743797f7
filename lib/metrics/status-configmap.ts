// The run's status without Prometheus: a ConfigMap per namespace (NSBACKUP_STATUS_CONFIGMAP) that every command
// updates with its last attempt, result and, on success only, its last success, so `kubectl get cm nsbackup-status
// -o yaml`, `nsbackup status` and any monitoring that reads the API can see whether backups and verifies still run.
// A failure never overwrites the last success, as with the Pushgateway.
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import type { RunFacts } from './pushgateway.js';

/** The label `nsbackup status -A` finds the ConfigMaps by. */
export const STATUS_LABEL = 'nsbackup.io/status';
const MAX_ERROR_LENGTH = 500;

/** What one command's last runs were, as read back from the ConfigMap. */
export interface CommandStatus {
  lastAttempt?: string;
  lastResult?: 'succeeded' | 'failed';
  lastExitCode?: number;
  lastSuccess?: string;
  lastBackupId?: string;
  lastSuccessBackupId?: string;
  lastError?: string;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The keys of a merge patch for one run: `<command>.<field>`. A success sets lastSuccess and clears lastError; a
 * failure sets lastError (already redacted by the caller) and leaves lastSuccess alone.
 */
export function statusData(run: RunFacts, error?: string): Record<string, string | null> {
  const succeeded = run.exitCode === 0;
  const key = (field: keyof CommandStatus) => `${run.command}.${field}`;
  const backupId = typeof run.summary.backupId === 'string' ? run.summary.backupId : undefined;
  const data: Record<string, string | null> = {
    [key('lastAttempt')]: iso(run.finishedAt),
    [key('lastResult')]: succeeded ? 'succeeded' : 'failed',
    [key('lastExitCode')]: String(run.exitCode),
    [key('lastBackupId')]: backupId ?? null,
  };
  if (succeeded) {
    data[key('lastSuccess')] = iso(run.finishedAt);
    data[key('lastSuccessBackupId')] = backupId ?? null;
    data[key('lastError')] = null;
  } else {
    data[key('lastError')] = (error || `exit code ${run.exitCode}`).slice(0, MAX_ERROR_LENGTH);
  }
  return data;
}

/** Each command's status in a ConfigMap's data. */
export function parseStatus(data: Record<string, string> | undefined): Record<string, CommandStatus> {
  const byCommand: Record<string, CommandStatus> = {};
  for (const [key, value] of Object.entries(data ?? {})) {
    const dot = key.lastIndexOf('.');
    if (dot <= 0) continue;
    const [command, field] = [key.slice(0, dot), key.slice(dot + 1)];
    const status = (byCommand[command] ??= {});
    if (field === 'lastExitCode') status.lastExitCode = Number(value);
    else if (field === 'lastResult') status.lastResult = value === 'succeeded' ? 'succeeded' : 'failed';
    else if (
      field === 'lastAttempt' ||
      field === 'lastSuccess' ||
      field === 'lastBackupId' ||
      field === 'lastSuccessBackupId' ||
      field === 'lastError'
    )
      status[field] = value;
  }
  return byCommand;
}

/** Merges the run into the ConfigMap, creating it the first time (a concurrent first run: patched after all). */
export async function recordRunStatus(
  kube: KubeClient,
  namespace: string,
  name: string,
  run: RunFacts,
  error?: string,
): Promise<void> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  const data = statusData(run, error);
  const labels = { [STATUS_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'nsbackup' };
  try {
    await kube.mergePatch(`${path}/${encodeURIComponent(name)}`, { metadata: { labels }, data });
    return;
  } catch (e) {
    if (!(e instanceof KubeApiError && e.code === 404)) throw e;
  }
  const initial = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null)) as Record<
    string,
    string
  >;
  try {
    await kube.create(path, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels },
      data: initial,
    });
  } catch (e) {
    if (!(e instanceof KubeApiError && e.code === 409)) throw e;
    await kube.mergePatch(`${path}/${encodeURIComponent(name)}`, { metadata: { labels }, data });
  }
}

/** Every status ConfigMap in `namespace` (undefined: all namespaces), by namespace then command. */
export async function readStatuses(
  kube: KubeClient,
  namespace: string | undefined,
): Promise<Map<string, Record<string, CommandStatus>>> {
  const path = namespace
    ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`
    : '/api/v1/configmaps';
  const items = await kube.listAll<{ metadata: { namespace?: string }; data?: Record<string, string> }>(
    path,
    {
      labelSelector: `${STATUS_LABEL}=true`,
    },
  );
  const byNamespace = new Map<string, Record<string, CommandStatus>>();
  // Two ConfigMaps in one namespace (renamed by a values change): the newer run of each command wins.
  for (const item of items) {
    const ns = item.metadata.namespace ?? '';
    const merged = byNamespace.get(ns) ?? {};
    for (const [command, status] of Object.entries(parseStatus(item.data))) {
      const current = merged[command];
      if (!current || (status.lastAttempt ?? '') > (current.lastAttempt ?? '')) merged[command] = status;
    }
    byNamespace.set(ns, merged);
  }
  return byNamespace;
}
