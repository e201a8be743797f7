// Settings of the resource export, shared by `nsbackup export`, `nsbackup diff` and the backup's export step.

import { bool, int, list, str } from '../config/index.js';

/** How the export lists the namespace and what it adds; spread into every schema that exports. */
export const exportTuningSettings = {
  exportConcurrency: int({
    env: 'NSBACKUP_EXPORT_CONCURRENCY',
    default: 4,
    min: 1,
    max: 64,
    description: 'Resource types listed at the same time during an export.',
  }),
  exportExclude: list({
    env: 'NSBACKUP_EXPORT_EXCLUDE',
    item: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    itemText:
      'resource names, plural and lower case, with the API group for non-core types (secrets, certificates.cert-manager.io)',
    description:
      'Resource types the export leaves out on purpose (the manifest records them). Any other type the export ' +
      'may not read fails the backup (after its snapshots are taken), so nothing goes missing unnoticed.',
  }),

  exportClusterDependencies: bool({
    env: 'NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES',
    // false, as in the chart (export.clusterDependencies): one default, and reading cluster-scoped kinds is a
    // grant a namespace's backup does not have unless asked for.
    default: false,
    description:
      'Also export the cluster-scoped objects the namespace depends on: the PersistentVolumes bound to its ' +
      'PVCs, the StorageClasses they name and the CRDs of its custom resources, so that a restore into an ' +
      'empty cluster needs nothing but the backup. Needs get on those kinds: a forbidden one fails the backup like any type it may not read; one the cluster ' +
      'does not have is recorded in the manifest.',
  }),
};

/** The backup's switch for its export step (the chart sets it from export.enabled). */
export const backupExportSetting = {
  exportEnabled: bool({
    env: 'NSBACKUP_EXPORT',
    default: true,
    description:
      "Export the namespace's resources to the backup's S3 folder with every backup. Only with NSBACKUP_S3_BUCKET.",
  }),
};

export const clusterNameSetting = {
  clusterName: str({
    env: 'NSBACKUP_CLUSTER_NAME',
    flag: '--cluster',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    maxLength: 253,
    defaultText: "the kubeconfig's cluster name",
    description: 'Cluster name in S3 keys (<prefix>/<cluster>/<namespace>/<backup id>/).',
  }),
};
