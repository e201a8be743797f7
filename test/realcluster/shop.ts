// A tenant namespace as a user would write it, for the real control plane: nothing here is in the form the
// server stores (no status, no defaults), so what the server adds (defaulting, allocation, the namespace's own
// ServiceAccount, CRD pruning and defaults) is the server's doing, as on any cluster.
import type { LocalPostgres } from '../kit/index.js';

/** A 1Gi ReadWriteOnce claim, of the default StorageClass unless one is named. */
export function claim(namespace: string, name: string, storageClassName?: string): object {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace },
    spec: {
      ...(storageClassName ? { storageClassName } : {}),
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    },
  };
}

export const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: {
                  size: { type: 'integer', minimum: 1 },
                  color: { type: 'string', default: 'blue' },
                },
              },
            },
          },
        },
      },
    ],
  },
};

/** The shop: a PostgreSQL Deployment on a PVC, a web Service on a fixed node port, a StatefulSet with
 * volumeClaimTemplates, a private registry pulled through the namespace's default ServiceAccount, a Widget. */
export function shopManifests(ns: string, pg: LocalPostgres, nodePort: number): object[] {
  const labels = (app: string) => ({ app });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: 'shop' } } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'regcred', namespace: ns },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': '{"auths":{"registry.shop.test":{"auth":"dXNlcjpwYXNz"}}}' },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-password', namespace: ns },
      stringData: { password: pg.password },
    },
    // The namespace's own default ServiceAccount, changed the way tenants do: pulls from the private registry.
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: ns },
      imagePullSecrets: [{ name: 'regcred' }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: ns },
      data: { mode: 'live' },
    },
    claim(ns, 'data'),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'db', namespace: ns },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels('db') },
        template: {
          metadata: { labels: labels('db') },
          spec: {
            containers: [
              {
                name: 'postgres',
                image: 'postgres:15',
                // The server runs beside the node here; the container reaches it as a sidecar's port would be.
                env: [
                  { name: 'PATH', value: pg.env.PATH },
                  { name: 'PGHOST', value: pg.env.PGHOST },
                  { name: 'PGPORT', value: pg.env.PGPORT },
                  {
                    name: 'POSTGRES_PASSWORD',
                    valueFrom: { secretKeyRef: { name: 'db-password', key: 'password' } },
                  },
                ],
                volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
              },
            ],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { type: 'NodePort', selector: labels('web'), ports: [{ name: 'http', port: 80, nodePort }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'cache', namespace: ns },
      spec: { clusterIP: 'None', selector: labels('cache'), ports: [{ name: 'redis', port: 6379 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'cache', namespace: ns },
      spec: {
        serviceName: 'cache',
        replicas: 1,
        selector: { matchLabels: labels('cache') },
        template: {
          metadata: { labels: labels('cache') },
          spec: {
            containers: [
              {
                name: 'redis',
                image: 'redis:7',
                command: ['sh', '-c', 'echo warm > /data/state; exec sleep 3600'],
                volumeMounts: [{ name: 'cache-data', mountPath: '/data' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'cache-data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    },
    {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'gear', namespace: ns },
      // `color` is left to the CRD's default, which the server fills in.
      spec: { size: 3 },
    },
  ];
}
