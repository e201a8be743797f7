// `nsbackup restore-pvc <snapshot> --as <pvc>`: a PVC from a VolumeSnapshot, optionally switched into a
// scaled-down workload. The work is lib/restore/pvc.ts.

import { defineCommand, runIfMain } from '../lib/command.js';
import { bool, str } from '../lib/config/index.js';
import { connectOrConfigError, kubeSettings } from '../lib/kube/index.js';
import { restorePvc } from '../lib/restore/pvc.js';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export const restorePvcSettings = {
  snapshot: str({
    env: 'NSBACKUP_RESTORE_SNAPSHOT',
    required: true,
    pattern: NAME,
    patternText: 'a VolumeSnapshot name',
    maxLength: 253,
    description: 'The VolumeSnapshot to restore (first argument).',
  }),
  as: str({
    env: 'NSBACKUP_RESTORE_PVC',
    flag: '--as',
    required: true,
    pattern: NAME,
    patternText: 'a PVC name',
    maxLength: 63,
    description: 'Name of the new PersistentVolumeClaim.',
  }),
  namespace: str({
    env: 'NSBACKUP_NAMESPACE',
    flag: '--namespace',
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    patternText: 'a namespace name',
    maxLength: 63,
    defaultText: "the kubeconfig context's namespace",
    description: 'Namespace of the snapshot and the new claim.',
  }),
  storageClass: str({
    env: 'NSBACKUP_RESTORE_STORAGE_CLASS',
    flag: '--storage-class',
    defaultText: "the source claim's, else the cluster default",
    description: 'StorageClass of the new claim.',
  }),
  replaceIn: str({
    env: 'NSBACKUP_RESTORE_REPLACE_IN',
    flag: '--replace-in',
    pattern: /^(deployment|deploy|statefulset|sts)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    patternText: 'deployment/NAME or statefulset/NAME',
    description: 'Switch this workload (scaled to 0) from the old claim to the new one.',
  }),
  claim: str({
    env: 'NSBACKUP_RESTORE_CLAIM',
    flag: '--claim',
    pattern: NAME,
    patternText: 'a PVC name',
    maxLength: 63,
    defaultText: "the snapshot's source claim",
    description: 'With --replace-in: the claim the workload uses now.',
  }),
  dryRun: bool({
    env: 'NSBACKUP_DRY_RUN',
    flag: '--dry-run',
    default: false,
    description: 'Send the writes with dryRun=All; nothing is stored.',
  }),
  ...kubeSettings,
};

export const command = defineCommand({
  name: 'restore-pvc',
  summary: 'Create a PVC from a VolumeSnapshot, optionally switching a scaled-down workload to it',
  usage: 'nsbackup restore-pvc <snapshot> --as <pvc> [-n NS] [--replace-in deployment/NAME|statefulset/NAME]',
  schema: restorePvcSettings,
  positional: ['snapshot'],
  aliases: { '-n': '--namespace' },
  async run({ config, log, env }) {
    const kube = connectOrConfigError(config, env);
    const namespace = config.namespace || kube.defaultNamespace;
    const result = await restorePvc({
      kube,
      log,
      namespace,
      snapshot: config.snapshot,
      as: config.as,
      storageClass: config.storageClass || undefined,
      replaceIn: config.replaceIn || undefined,
      claim: config.claim || undefined,
      dryRun: config.dryRun,
    });
    return {
      summary: {
        namespace,
        pvc: config.as,
        snapshot: config.snapshot,
        size: (result.pvc.spec as any).resources.requests.storage,
        created: result.created,
        ...(result.workload ? { workload: result.workload } : {}),
        dryRun: config.dryRun,
      },
    };
  },
});

runIfMain(command, import.meta.url);
