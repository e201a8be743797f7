// Objects as a real API server returns them for a small shop namespace (status, managedFields, uids...).
import type { KubeObject } from '../../lib/resources/index.js';

export const deployment = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: '6f1c6a8e-0000-4000-8000-000000000001',
    resourceVersion: '48213',
    generation: 3,
    creationTimestamp: '2024-05-01T10:00:00Z',
    labels: { app: 'web' },
    annotations: {
      'deployment.kubernetes.io/revision': '3',
      'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"apps/v1","kind":"Deployment"}',
    },
    managedFields: [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'apps/v1',
        time: '2024-05-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
    ],
  },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { creationTimestamp: null, labels: { app: 'web' } },
      spec: {
        serviceAccountName: 'web',
        containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }],
      },
    },
  },
  status: { replicas: 3, readyReplicas: 3, observedGeneration: 3 },
});

export const replicaSet = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: {
    name: 'web-7d9f8c',
    namespace: 'shop',
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        uid: 'u1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  },
  spec: { replicas: 3 },
});

export const headlessService = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'db', namespace: 'shop', uid: 'u-db', resourceVersion: '100' },
  spec: {
    clusterIP: 'None',
    clusterIPs: ['None'],
    selector: { app: 'db' },
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP', targetPort: 5432 }],
  },
  status: { loadBalancer: {} },
});

/** `http` was given nodePort 30080 by `kubectl create`; `metrics` got 31234 from the allocator. */
export const nodePortService = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u-web',
    managedFields: [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:spec': {
            'f:ports': {
              '.': {},
              'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:nodePort': {}, 'f:port': {} },
              'k:{"port":9090,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {} },
            },
            'f:type': {},
          },
        },
      },
    ],
  },
  spec: {
    type: 'NodePort',
    clusterIP: '10.96.12.34',
    clusterIPs: ['10.96.12.34'],
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30080 },
      { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 9090, nodePort: 31234 },
    ],
  },
});

export const boundPvc = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: {
    name: 'data-db-0',
    namespace: 'shop',
    uid: 'u-pvc',
    annotations: {
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
      'volume.beta.kubernetes.io/storage-provisioner': 'rancher.io/local-path',
      'volume.kubernetes.io/storage-provisioner': 'rancher.io/local-path',
      'volume.kubernetes.io/selected-node': 'node-a',
      'team.example.com/owner': 'shop',
    },
    finalizers: ['kubernetes.io/pvc-protection'],
  },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '1Gi' } },
    storageClassName: 'local-path',
    volumeMode: 'Filesystem',
    volumeName: 'pvc-3f1e',
  },
  status: { phase: 'Bound', capacity: { storage: '1Gi' } },
});

export const boundPv = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pvc-3f1e', annotations: { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' } },
  spec: {
    capacity: { storage: '1Gi' },
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'local-path',
    persistentVolumeReclaimPolicy: 'Delete',
    hostPath: { path: '/var/lib/local-path/pvc-3f1e' },
    claimRef: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      name: 'data-db-0',
      namespace: 'shop',
      uid: 'u-pvc',
      resourceVersion: '777',
    },
  },
  status: { phase: 'Bound' },
});

export const roleBinding = (): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: 'web-reader', namespace: 'shop' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
  subjects: [
    { kind: 'ServiceAccount', name: 'web', namespace: 'shop' },
    { kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' },
    { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' },
  ],
});

export const tokenSecret = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'web-token',
    namespace: 'shop',
    annotations: { 'kubernetes.io/service-account.name': 'web' },
  },
  type: 'kubernetes.io/service-account-token',
  data: { token: 'ZXlK' },
});

export const appSecret = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db-password', namespace: 'shop' },
  type: 'Opaque',
  data: { password: 'c2VjcmV0' },
});

export const configMap = (name = 'settings', data: Record<string, string> = { mode: 'on' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'shop' },
  data,
});

export const endpointsOf = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name, namespace: 'shop' },
  subsets: [{ addresses: [{ ip: '10.244.0.5' }], ports: [{ name: 'http', port: 80 }] }],
});

export const crd = (): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget' },
    scope: 'Namespaced',
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
  },
  status: { conditions: [{ type: 'Established', status: 'True' }] },
});

export const widget = (): KubeObject => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name: 'blue', namespace: 'shop', uid: 'u-w', resourceVersion: '5', generation: 1 },
  spec: { color: 'blue', size: 3 },
});

export const cronJob = (): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'report', namespace: 'shop' },
  spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never' } } } } },
});

/** Everything above plus what the cluster made by itself. */
export const shopNamespace = (): KubeObject[] => [
  deployment(),
  replicaSet(),
  headlessService(),
  nodePortService(),
  boundPvc(),
  roleBinding(),
  tokenSecret(),
  appSecret(),
  configMap(),
  endpointsOf('web'),
  crd(),
  widget(),
  cronJob(),
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kube-root-ca.crt', namespace: 'shop' },
    data: {},
  },
  { apiVersion: 'v1', kind: 'Event', metadata: { name: 'web.17a', namespace: 'shop' }, reason: 'Scheduled' },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'shop' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: 'shop' } },
];
