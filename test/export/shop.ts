// A realistic application namespace `shop`, as a cluster holds it (controller-made objects included), for the
// export tests: seed it into the emulator with `cluster.seed(...shopObjects())`.

const ns = 'shop';
const owner = (kind: string, name: string, apiVersion = 'apps/v1') => [
  { apiVersion, kind, name, uid: `uid-${name}`, controller: true, blockOwnerDeletion: true },
];
const podSpec = (image: string) => ({ containers: [{ name: 'app', image }] });

export function shopObjects(): any[] {
  return [
    // The namespace's own labels and annotations are part of the backup (the server's name label is not).
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: ns,
        labels: { team: 'payments', 'pod-security.kubernetes.io/enforce': 'restricted' },
        annotations: { 'example.com/owner': 'payments@example.com' },
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'fast' },
      provisioner: 'csi.example.com',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'unused' },
      provisioner: 'csi.example.com',
    },
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
        scope: 'Namespaced',
        versions: [
          { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
        ],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: ns,
        labels: { app: 'web' },
        annotations: { 'deployment.kubernetes.io/revision': '2' },
      },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: podSpec('nginx:1.27') },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-7d9f8c', namespace: ns, ownerReferences: owner('Deployment', 'web') },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: podSpec('nginx:1.27') },
      },
    },
    ...['abcde', 'fghij'].map((suffix) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `web-7d9f8c-${suffix}`,
        namespace: ns,
        labels: { app: 'web' },
        ownerReferences: owner('ReplicaSet', 'web-7d9f8c'),
      },
      spec: podSpec('nginx:1.27'),
    })),
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: ns },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: podSpec('postgres:15') },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'db-0',
        namespace: ns,
        labels: { app: 'db' },
        ownerReferences: owner('StatefulSet', 'db'),
      },
      spec: podSpec('postgres:15'),
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'data-db-0',
        namespace: ns,
        labels: { app: 'db' },
        annotations: { 'pv.kubernetes.io/bind-completed': 'yes' },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        storageClassName: 'fast',
        volumeName: 'pvc-0a1b2c',
      },
      status: { phase: 'Bound', capacity: { storage: '1Gi' } },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pvc-0a1b2c' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'fast',
        persistentVolumeReclaimPolicy: 'Delete',
        csi: { driver: 'csi.example.com', volumeHandle: 'vol-0a1b2c' },
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data-db-0', namespace: ns },
      },
      status: { phase: 'Bound' },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pvc-elsewhere' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'fast' },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace: ns },
      spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web-public', namespace: ns },
      spec: {
        type: 'NodePort',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'legacy-db', namespace: ns },
      spec: { ports: [{ name: 'mysql', port: 3306 }] },
    },
    // Endpoints of a Service with a selector: the controller's. Those of the selector-less one: a user's.
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: ns },
      subsets: [{ addresses: [{ ip: '10.244.0.5' }], ports: [{ name: 'http', port: 8080 }] }],
    },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'legacy-db', namespace: ns },
      subsets: [{ addresses: [{ ip: '192.168.10.4' }], ports: [{ name: 'mysql', port: 3306 }] }],
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'web-x2k9v',
        namespace: ns,
        labels: {
          'kubernetes.io/service-name': 'web',
          'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        },
        ownerReferences: owner('Service', 'web', 'v1'),
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.0.5'] }],
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web', namespace: ns },
      spec: {
        rules: [
          {
            host: 'shop.example.com',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'web', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: ns },
      data: { mode: 'fast' },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-root-ca.crt', namespace: ns },
      data: { 'ca.crt': '-----BEGIN CERTIFICATE-----\n...' },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-password', namespace: ns },
      type: 'Opaque',
      data: { password: Buffer.from('s3cr3t-pa55').toString('base64') },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'web-token',
        namespace: ns,
        annotations: { 'kubernetes.io/service-account.name': 'web' },
      },
      type: 'kubernetes.io/service-account-token',
      data: { token: Buffer.from('eyJhbGciOi').toString('base64') },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } },
    // Names its token Secret (left out of the backup: dropped from the list) and a Secret of the user's (kept).
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'web', namespace: ns },
      secrets: [{ name: 'web-token' }, { name: 'db-password' }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'reader', namespace: ns },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'web-reader', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: ns }],
    },
    {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'blue', namespace: ns },
      spec: { color: 'blue', size: 3 },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', namespace: ns },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template: { spec: { ...podSpec('report:1'), restartPolicy: 'Never' } } } },
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'report-29000000',
        namespace: ns,
        ownerReferences: owner('CronJob', 'report', 'batch/v1'),
      },
      spec: { template: { spec: { ...podSpec('report:1'), restartPolicy: 'Never' } } },
    },
    // A Job of its own, still running, as the API server lists it: selector and pod labels generated from its uid.
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: ns, uid: 'uid-migrate-old' },
      spec: {
        backoffLimit: 2,
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'uid-migrate-old' } },
        template: {
          metadata: {
            labels: {
              app: 'migrate',
              'batch.kubernetes.io/controller-uid': 'uid-migrate-old',
              'batch.kubernetes.io/job-name': 'migrate',
              'controller-uid': 'uid-migrate-old',
              'job-name': 'migrate',
            },
          },
          spec: { ...podSpec('migrate:1'), restartPolicy: 'Never' },
        },
      },
      status: { active: 1 },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'nsbackup-manual-x1',
        namespace: ns,
        labels: { 'app.kubernetes.io/managed-by': 'nsbackup' },
      },
      spec: { template: { spec: { ...podSpec('nsbackup:1'), restartPolicy: 'Never' } } },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: ns },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: 5,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web-7d9f8c-abcde.17a1', namespace: ns },
      involvedObject: { kind: 'Pod', name: 'web-7d9f8c-abcde', namespace: ns },
      reason: 'Scheduled',
      message: 'Successfully assigned shop/web-7d9f8c-abcde to emulator-node-1',
      type: 'Normal',
    },
    {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'report-leader', namespace: ns },
      spec: { holderIdentity: 'report-1', leaseDurationSeconds: 15 },
    },
    // Being deleted (a finalizer holds it): going away, so not backed up.
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'retired',
        namespace: ns,
        deletionTimestamp: '2026-11-21T01:00:00Z',
        finalizers: ['example.com/hold'],
      },
      data: { mode: 'old' },
    },
    // Another namespace: never part of shop's export.
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'other' },
      data: { a: 'b' },
    },
  ];
}

/** What an export of `shop` must contain (cluster-scoped dependencies included), sorted. */
export const SHOP_EXPORT_PATHS = [
  '/api/v1/namespaces/shop',
  '/api/v1/namespaces/shop/configmaps/settings',
  '/api/v1/namespaces/shop/endpoints/legacy-db',
  '/api/v1/namespaces/shop/persistentvolumeclaims/data-db-0',
  '/api/v1/namespaces/shop/secrets/db-password',
  '/api/v1/namespaces/shop/serviceaccounts/web',
  '/api/v1/namespaces/shop/services/db',
  '/api/v1/namespaces/shop/services/legacy-db',
  '/api/v1/namespaces/shop/services/web',
  '/api/v1/namespaces/shop/services/web-public',
  '/api/v1/persistentvolumes/pvc-0a1b2c',
  '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com',
  '/apis/apps/v1/namespaces/shop/deployments/web',
  '/apis/apps/v1/namespaces/shop/statefulsets/db',
  '/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web',
  '/apis/batch/v1/namespaces/shop/cronjobs/report',
  '/apis/batch/v1/namespaces/shop/jobs/migrate',
  '/apis/example.com/v1/namespaces/shop/widgets/blue',
  '/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web',
  '/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/web-reader',
  '/apis/rbac.authorization.k8s.io/v1/namespaces/shop/roles/reader',
  '/apis/storage.k8s.io/v1/storageclasses/fast',
];
