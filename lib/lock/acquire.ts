// Which backend takes the node lock: the Lease one when the request names a lease target, else the lock files.

import { acquireLeaseLock, type LeaseTarget } from './lease-lock.js';
import type { LeaseApi } from './lease-api.js';
import { acquireNodeLock, type NodeLockOptions } from './node-lock.js';
import type { NodeLock } from './types.js';

/** A node lock request; `dir` is the file backend's and unused when `lease` is set. */
export interface LockRequest extends NodeLockOptions {
  lease?: LeaseTarget;
}

/**
 * `api` is called only for a lease request, so a file lock needs no API client. `defaultNamespace` holds the Leases
 * of a request that names no namespace (NSBACKUP_LOCK_NAMESPACE unset): the namespace backed up.
 */
export function lockAcquirer(
  api: () => LeaseApi,
  defaultNamespace: string,
): (req: LockRequest) => Promise<NodeLock> {
  return ({ lease, ...req }) =>
    lease
      ? acquireLeaseLock({ ...req, ...lease, namespace: lease.namespace || defaultNamespace, api: api() })
      : acquireNodeLock(req);
}
