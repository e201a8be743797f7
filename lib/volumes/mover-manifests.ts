// The objects of one mover run: a temporary PVC (a clone of this run's VolumeSnapshot, or the claim a restore
// fills) and the Job that runs `nsbackup volume-mover` in it. Pure.
//
// The Job runs the same image as the backup, as a non-root user with a read-only root file system, no service
// account token (it talks to S3 only), no capabilities; the password comes from the Secret by reference and the
// S3 keys by envFrom, so neither is in the Job's spec, its arguments or the backup's logs.

import { NSBACKUP_WORKLOAD_LABELS } from '../resources/exclusions.js';
import { Labels } from '../labels.js';
import type { KubeObject } from '../kube/index.js';
import { MOVER_MOUNT_PATH } from './repository.js';
import type { SnapshotRef } from './repository.js';

export const MOVER_LABEL = 'nsbackup.io/mover';
const DEFAULT_S3_KEYS = {
  AWS_ACCESS_KEY_ID: 'AWS_ACCESS_KEY_ID',
  AWS_SECRET_ACCESS_KEY: 'AWS_SECRET_ACCESS_KEY',
};

/** `VAR=key` pairs (NSBACKUP_S3_SECRET_KEYS) as a map. */
export function secretKeyMap(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((p) => p.split('=', 2) as [string, string]));
}

/** The key of the restic password in its Secret. */
export const PASSWORD_KEY = 'RESTIC_PASSWORD';

export interface MoverSettings {
  image: string;
  imagePullPolicy?: string;
  /** Secret with RESTIC_PASSWORD. */
  passwordSecret: string;
  /** Secret with the S3 keys; none: the node's or IRSA credentials. */
  s3Secret?: string;
  /** Variable -> key in s3Secret (AWS_ACCESS_KEY_ID -> access-key). */
  s3SecretKeys?: Record<string, string>;
  /** PEM of the S3 endpoint's private CA (a certificate is public): the mover hands it to restic's --cacert. */
  caPem?: string;
  /** Non-secret variables the mover needs besides its own (the S3 region). */
  extraEnv?: Record<string, string>;
  runAsUser: number;
  runAsGroup: number;
  /** The Job's activeDeadlineSeconds. */
  timeoutSeconds: number;
  /** How long its pod may take to start (scheduling, image pull). */
  startTimeoutSeconds?: number;
  /** The container's memory limit in MiB (default 1024); restic's GOMEMLIMIT is 80 % of it. */
  memoryMiB?: number;
}

export interface MoverJobInput {
  name: string;
  namespace: string;
  operation: 'backup' | 'restore';
  claimName: string;
  repository: string;
  ref: SnapshotRef;
  /** restore: the restic snapshot id. */
  snapshotId?: string;
  settings: MoverSettings;
  /** Pod spec fields that keep the pod where its claim can be mounted (placement.ts), for a live claim. */
  podPlacement?: Record<string, unknown>;
}

export function moverLabels(operation: 'backup' | 'restore', ref: SnapshotRef): Record<string, string> {
  return {
    ...NSBACKUP_WORKLOAD_LABELS,
    [MOVER_LABEL]: operation,
    [Labels.backup]: ref.backupId,
    [Labels.pvc]: ref.pvc,
  };
}

export function moverJobManifest(input: MoverJobInput): KubeObject {
  const { settings, ref } = input;
  const labels = moverLabels(input.operation, ref);
  // Requests and a limit: a namespace whose ResourceQuota demands them would refuse the pod otherwise.
  const memoryMiB = settings.memoryMiB ?? 1024;
  const env: { name: string; value?: string; valueFrom?: unknown }[] = [
    { name: 'NSBACKUP_MOVER_OPERATION', value: input.operation },
    { name: 'NSBACKUP_MOVER_REPOSITORY', value: input.repository },
    { name: 'NSBACKUP_MOVER_NAMESPACE', value: ref.namespace },
    { name: 'NSBACKUP_MOVER_PVC', value: ref.pvc },
    { name: 'NSBACKUP_MOVER_BACKUP_ID', value: ref.backupId },
    { name: 'NSBACKUP_MOVER_PATH', value: MOVER_MOUNT_PATH },
    ...(input.snapshotId ? [{ name: 'NSBACKUP_MOVER_SNAPSHOT', value: input.snapshotId }] : []),
    ...(settings.caPem ? [{ name: 'NSBACKUP_MOVER_CA_PEM', value: settings.caPem }] : []),
    ...Object.entries(settings.extraEnv ?? {}).map(([name, value]) => ({ name, value })),
    { name: 'HOME', value: '/tmp' },
    { name: 'GOMEMLIMIT', value: `${Math.floor(memoryMiB * 0.8)}MiB` },
    { name: 'NSBACKUP_LOG_FORMAT', value: 'json' },
    ...(settings.s3Secret
      ? Object.entries(settings.s3SecretKeys ?? DEFAULT_S3_KEYS).map(([name, key]) => ({
          name,
          valueFrom: { secretKeyRef: { name: settings.s3Secret, key } },
        }))
      : []),
    {
      name: PASSWORD_KEY,
      valueFrom: { secretKeyRef: { name: settings.passwordSecret, key: PASSWORD_KEY } },
    },
  ];
  // A restore writes owners as they were: only root may chown. A backup only reads.
  const restoring = input.operation === 'restore';
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: input.name, namespace: input.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: settings.timeoutSeconds,
      // A safety net for a run killed before its own cleanup: the finished Job goes after a day.
      ttlSecondsAfterFinished: 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          ...input.podPlacement,
          securityContext: restoring
            ? { runAsUser: 0, runAsGroup: 0 }
            : {
                runAsNonRoot: true,
                runAsUser: settings.runAsUser,
                runAsGroup: settings.runAsGroup,
                seccompProfile: { type: 'RuntimeDefault' },
              },
          containers: [
            {
              name: 'mover',
              image: settings.image,
              ...(settings.imagePullPolicy ? { imagePullPolicy: settings.imagePullPolicy } : {}),
              args: ['volume-mover'],
              resources: {
                requests: { cpu: '100m', memory: `${Math.ceil(memoryMiB / 4)}Mi` },
                limits: { memory: `${memoryMiB}Mi` },
              },
              env,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: restoring
                  ? { drop: ['ALL'], add: ['CHOWN', 'FOWNER', 'DAC_OVERRIDE'] }
                  : { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'data', mountPath: MOVER_MOUNT_PATH, readOnly: !restoring },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: input.claimName, readOnly: !restoring } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}

export interface ClonePvcInput {
  name: string;
  namespace: string;
  snapshotName: string;
  /** The source claim: its class, access modes and volume mode. */
  source: KubeObject;
  /** The snapshot's restoreSize, when known (at least the source's request). */
  restoreSize?: string;
  ref: SnapshotRef;
}

/** A claim with this run's VolumeSnapshot as its data source: the point in time the dump and hooks made. */
export function clonePvcManifest(input: ClonePvcInput): KubeObject {
  const spec = input.source.spec ?? {};
  const request = spec.resources?.requests?.storage;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: moverLabels('backup', input.ref),
    },
    spec: {
      ...(spec.storageClassName !== undefined ? { storageClassName: spec.storageClassName } : {}),
      // The clone is read by one pod: ReadWriteOnce is what every CSI driver offers for a snapshot clone.
      accessModes: ['ReadWriteOnce'],
      ...(spec.volumeMode ? { volumeMode: spec.volumeMode } : {}),
      resources: { requests: { storage: input.restoreSize ?? request } },
      dataSource: {
        apiGroup: 'snapshot.storage.k8s.io',
        kind: 'VolumeSnapshot',
        name: input.snapshotName,
      },
    },
  };
}

/** `<prefix>-<pvc, shortened>-<suffix>`: at most 63 characters (a Job's name becomes a pod label value). */
export function moverName(prefix: string, pvc: string, suffix: string): string {
  const room = 63 - prefix.length - suffix.length - 2;
  const short = pvc.slice(0, room).replace(/[-.]+$/, '');
  return `${prefix}-${short}-${suffix}`;
}
