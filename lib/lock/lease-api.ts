// The node lock's Lease I/O: four requests on coordination.k8s.io/v1 Leases, each a thin call of the kube client.
// The chart's Role grants exactly these verbs (get, create, update, delete) on leases in the lock namespace.

import { groupPath, type KubeClient } from '../kube/index.js';
import type { Lease } from './lease-state.js';

export interface LeaseApi {
  get(namespace: string, name: string): Promise<Lease>;
  create(lease: Lease): Promise<Lease>;
  /** PUT with the body's resourceVersion: 409 Conflict when the Lease changed since it was read. */
  update(lease: Lease): Promise<Lease>;
  /** Deletes only the version we hold: 409 Conflict when the uid or resourceVersion differ. */
  delete(
    namespace: string,
    name: string,
    preconditions: { uid?: string; resourceVersion?: string },
  ): Promise<void>;
}

const leasePath = (namespace: string, name?: string) =>
  groupPath('coordination.k8s.io', 'v1', 'leases', namespace, name);

export function leaseApi(kube: KubeClient): LeaseApi {
  return {
    get: (namespace, name) => kube.get<Lease>(leasePath(namespace, name)),
    create: (lease) => kube.create<Lease>(leasePath(lease.metadata.namespace!), lease),
    update: (lease) =>
      kube.request<Lease>('PUT', leasePath(lease.metadata.namespace!, lease.metadata.name), { body: lease }),
    delete: async (namespace, name, preconditions) => {
      await kube.request('DELETE', leasePath(namespace, name), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions },
      });
    },
  };
}
