// The volume data step as the backup command wires it: the repository of the namespace in the configured bucket,
// the mover's settings from the backup's. Returns undefined when NSBACKUP_PVC_DATA and NSBACKUP_PVC_DATA_DIRECT are
// empty.

import { readFileSync } from 'node:fs';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import { s3LocationFrom } from '../s3/index.js';
import { backupVolumes, type BackupVolumes } from './backup-step.js';
import { secretKeyMap } from './mover-manifests.js';
import type { MoverSettings } from './mover-manifests.js';
import { repositoryLocation, repositoryUrl } from './repository.js';

export interface VolumeWiringConfig {
  pvcData: string[];
  pvcDataDirect: string[];
  resticSecret: string;
  s3Secret: string;
  s3SecretKeys: string[];
  moverImage: string;
  moverPullPolicy: string;
  moverUid: number;
  moverGid: number;
  moverMemory: number;
  moverTimeout: number;
  moverStartTimeout: number;
  s3Bucket: string;
  s3Prefix: string;
  s3Endpoint: string;
  s3Region: string;
  s3ForcePathStyle: boolean;
  s3CaFile: string;
}

export function moverSettingsOf(config: VolumeWiringConfig): MoverSettings {
  return {
    image: config.moverImage,
    imagePullPolicy: config.moverPullPolicy || undefined,
    passwordSecret: config.resticSecret,
    s3Secret: config.s3Secret || undefined,
    s3SecretKeys: secretKeyMap(config.s3SecretKeys),
    caPem: config.s3CaFile ? readFileSync(config.s3CaFile, 'utf8') : undefined,
    runAsUser: config.moverUid,
    runAsGroup: config.moverGid,
    memoryMiB: config.moverMemory,
    timeoutSeconds: Math.ceil(config.moverTimeout / 1000),
    startTimeoutSeconds: Math.ceil(config.moverStartTimeout / 1000),
  };
}

/** A restore's mover: as root (a restore writes the owners back), the same image, Secrets and deadline. */
export function restoreMoverSettingsOf(config: {
  resticSecret: string;
  s3Secret: string;
  s3SecretKeys: string[];
  moverImage: string;
  moverPullPolicy: string;
  moverMemory: number;
  moverTimeout: number;
  moverStartTimeout: number;
  s3CaFile: string;
}): MoverSettings {
  return {
    image: config.moverImage,
    imagePullPolicy: config.moverPullPolicy || undefined,
    passwordSecret: config.resticSecret,
    s3Secret: config.s3Secret || undefined,
    s3SecretKeys: secretKeyMap(config.s3SecretKeys),
    caPem: config.s3CaFile ? readFileSync(config.s3CaFile, 'utf8') : undefined,
    runAsUser: 0,
    runAsGroup: 0,
    memoryMiB: config.moverMemory,
    timeoutSeconds: Math.ceil(config.moverTimeout / 1000),
    startTimeoutSeconds: Math.ceil(config.moverStartTimeout / 1000),
  };
}

export function volumeBackupStep(input: {
  config: VolumeWiringConfig;
  kube: KubeClient;
  log: Logger;
  clusterName: string;
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => Date;
  random: () => number;
}): BackupVolumes | undefined {
  const { config } = input;
  const location = s3LocationFrom(config);
  if (!(config.pvcData.length || config.pvcDataDirect.length) || !location) return undefined;
  return async (step) => {
    const repository = {
      url: repositoryUrl(location, input.clusterName, step.namespace),
      location: repositoryLocation(location, input.clusterName, step.namespace),
    };
    return backupVolumes({
      kube: input.kube,
      log: input.log,
      namespace: step.namespace,
      backupId: step.backupId,
      snapshots: step.snapshots,
      pvcs: step.pvcs,
      direct: step.direct,
      repository,
      mover: moverSettingsOf(config),
      wait: {
        deadline: step.deadline,
        pollMs: input.pollMs,
        sleep: input.sleep,
        now: () => input.now().getTime(),
        signal: step.signal,
      },
      random: input.random,
      signal: step.signal,
    });
  };
}
