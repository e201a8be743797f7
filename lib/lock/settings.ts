// The node lock's settings, shared by the commands that take it (backup, mark-and-delete), and the rule that
// turns them into a lock request. The names are fixed: the chart, the docs and the checks use them.

import { bool, DNS_LABEL, DNS_SUBDOMAIN, duration, int, oneOf, str } from '../config/index.js';
import type { LockRequest } from './acquire.js';
import { defaultSlotCount } from './slots.js';

export const lockSettings = {
  lock: bool({
    env: 'NSBACKUP_LOCK',
    default: true,
    description: 'Take a node lock slot so only a few backups run at once per node.',
  }),
  lockBackend: oneOf(['file', 'lease'] as const, {
    env: 'NSBACKUP_LOCK_BACKEND',
    default: 'file',
    description:
      'Where the node lock slots are: file (lock files in NSBACKUP_LOCK_DIR, a hostPath in the chart) or lease ' +
      '(coordination.k8s.io Leases in NSBACKUP_LOCK_NAMESPACE, for Pod Security levels that refuse a hostPath; ' +
      'needs NSBACKUP_NODE_NAME).',
  }),
  lockDir: str({
    env: 'NSBACKUP_LOCK_DIR',
    // Two runs share slots only through the same directory: a relative one depends on where each started.
    pattern: /^\/\S*$/,
    patternText: 'an absolute path',
    invalid: ['locks', './locks'],
    default: '/tmp/nsbackup-locks',
    description: 'Directory of the lock slots (a hostPath in the chart, so the limit is per node).',
  }),
  lockNamespace: str({
    env: 'NSBACKUP_LOCK_NAMESPACE',
    pattern: DNS_LABEL,
    patternText: 'a namespace name',
    maxLength: 63,
    defaultText: "the namespace backed up (mark-and-delete: the pod's)",
    description:
      'With NSBACKUP_LOCK_BACKEND=lease: namespace of the Leases. Backups share slots only through the same ' +
      'namespace: one shared by every backed-up namespace makes the limit per node cluster-wide.',
  }),
  nodeName: str({
    env: 'NSBACKUP_NODE_NAME',
    pattern: DNS_SUBDOMAIN,
    patternText: 'a node name',
    maxLength: 253,
    description:
      'The node this pod runs on (downward API fieldRef spec.nodeName); names the lease lock slots. Required by ' +
      'NSBACKUP_LOCK_BACKEND=lease.',
  }),
  lockSlots: int({
    env: 'NSBACKUP_LOCK_SLOTS',
    min: 1,
    max: 1024,
    default: () => defaultSlotCount(),
    defaultText: 'node CPUs / 2, at least 1',
    description: 'Backups that may run at once on one node.',
  }),
  lockTimeout: duration({
    env: 'NSBACKUP_LOCK_TIMEOUT',
    default: 3_600_000,
    description: 'Give up (exit 3) when no lock slot frees up for this long.',
  }),
  lockStale: duration({
    env: 'NSBACKUP_LOCK_STALE',
    default: 60_000,
    min: 2_000,
    description: 'A slot whose holder stopped refreshing it (it died) is reclaimed after this long.',
  }),
};

export interface LockConfig {
  lock: boolean;
  lockBackend: 'file' | 'lease';
  lockDir: string;
  lockNamespace: string;
  nodeName: string;
  lockSlots: number;
  lockTimeout: number;
  lockStale: number;
}

/**
 * The lock a run takes (undefined: none), or the configuration problems that keep it from taking one. A lease
 * request with an empty namespace means the namespace backed up, which only the caller knows once connected.
 * `pod` is the pod's name (NSBACKUP_POD_NAME or $HOSTNAME), for the Lease's holder identity.
 */
export function lockRequestOf(
  config: LockConfig,
  pod: string,
): { request?: Omit<LockRequest, 'log' | 'signal'>; problems: string[] } {
  if (!config.lock) return { problems: [] };
  if (config.lockBackend === 'lease' && !config.nodeName) {
    return {
      problems: [
        'NSBACKUP_LOCK_BACKEND=lease needs NSBACKUP_NODE_NAME, the name of the node this pod runs on (downward ' +
          'API: valueFrom.fieldRef.fieldPath spec.nodeName); or set NSBACKUP_LOCK=false',
      ],
    };
  }
  return {
    problems: [],
    request: {
      dir: config.lockDir,
      slots: config.lockSlots,
      timeoutMs: config.lockTimeout,
      staleMs: config.lockStale,
      ...(config.lockBackend === 'lease'
        ? { lease: { namespace: config.lockNamespace, node: config.nodeName, pod } }
        : {}),
    },
  };
}
