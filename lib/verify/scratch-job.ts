// The scratch Job of `verify --level restore`: the database's own image (read from the production pod's container
// spec, so the server is the same version), SCRATCH_SCRIPT `serve` as its command, an emptyDir for data and socket,
// no PVC, no service account token, no Secret, no Service: the verifier reaches it only by exec. Pure.
import { Labels } from '../labels.js';
import type { KubeObject } from '../kube/index.js';
import { NSBACKUP_WORKLOAD_LABELS } from '../resources/exclusions.js';
import type { SqlDbKind } from '../dump/index.js';
import { SCRATCH_SCRIPT } from './scratch-script.js';

export const VERIFY_LABEL = 'nsbackup.io/verify';
export const SCRATCH_DIR = '/nsbackup-verify';
export const SCRATCH_CONTAINER = 'db';
/** The uid/gid of the official postgres and mariadb images' users, when the database pod names none. */
export const DEFAULT_IMAGE_USER = 999;

/** What the scratch pod takes over from the production database pod. */
export interface DatabaseImage {
  image: string;
  imagePullPolicy?: string;
  /** Pull secrets by name (a private registry's image needs them; the secrets stay where they are). */
  imagePullSecrets?: { name: string }[];
  /** The container's PATH, when its spec sets one (how that image finds its tools). */
  path?: string;
  runAsUser: number;
  runAsGroup: number;
}

/** The image and user of `container` in the production database pod. Only its spec is read. */
export function databaseImageOf(pod: KubeObject, container: string): DatabaseImage {
  const c = (pod.spec?.containers ?? []).find((x: any) => x.name === container);
  if (!c?.image) throw new Error(`pod ${pod.metadata.name} has no container ${container} with an image`);
  const podSc = pod.spec?.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const path = (c.env ?? []).find((e: any) => e.name === 'PATH' && typeof e.value === 'string')?.value;
  // Root in production (an entrypoint that drops privileges itself) is not root here: initdb refuses it.
  const user = sc.runAsUser ?? podSc.runAsUser ?? 0;
  const runAsUser = user === 0 ? DEFAULT_IMAGE_USER : user;
  const group = sc.runAsGroup ?? podSc.runAsGroup ?? 0;
  return {
    image: c.image,
    ...(c.imagePullPolicy ? { imagePullPolicy: c.imagePullPolicy } : {}),
    ...(pod.spec?.imagePullSecrets?.length ? { imagePullSecrets: pod.spec.imagePullSecrets } : {}),
    ...(path ? { path } : {}),
    runAsUser,
    runAsGroup: group === 0 ? runAsUser : group,
  };
}

export interface ScratchJobInput {
  name: string;
  namespace: string;
  kind: SqlDbKind;
  backupId: string;
  image: DatabaseImage;
  timeoutSeconds: number;
  memoryMiB: number;
}

/** `nsbackup-verify-<backup id, shortened>-<suffix>`: at most 63 characters (the Job name is a label value). */
export function scratchJobName(backupId: string, suffix: string): string {
  const prefix = 'nsbackup-verify';
  const room = 63 - prefix.length - suffix.length - 2;
  const short = backupId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  return short ? `${prefix}-${short}-${suffix}` : `${prefix}-${suffix}`;
}

export function scratchJobManifest(input: ScratchJobInput): KubeObject {
  const labels = {
    ...NSBACKUP_WORKLOAD_LABELS,
    [VERIFY_LABEL]: 'restore',
    [Labels.backup]: input.backupId,
  };
  const { image } = input;
  const env = [
    // The clients find the scratch server's socket by these; nothing else can reach it.
    { name: 'PGHOST', value: SCRATCH_DIR },
    { name: 'PGUSER', value: 'postgres' },
    { name: 'MYSQL_UNIX_PORT', value: `${SCRATCH_DIR}/mysqld.sock` },
    { name: 'HOME', value: SCRATCH_DIR },
    { name: 'TMPDIR', value: SCRATCH_DIR },
    ...(image.path ? [{ name: 'PATH', value: image.path }] : []),
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: input.name, namespace: input.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.timeoutSeconds,
      // A safety net for a verifier killed before its own cleanup.
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(image.imagePullSecrets ? { imagePullSecrets: image.imagePullSecrets } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: image.runAsUser,
            runAsGroup: image.runAsGroup,
            fsGroup: image.runAsGroup,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: SCRATCH_CONTAINER,
              image: image.image,
              ...(image.imagePullPolicy ? { imagePullPolicy: image.imagePullPolicy } : {}),
              command: ['sh', '-c', SCRATCH_SCRIPT, 'nsbackup-verify', 'serve', input.kind, SCRATCH_DIR],
              env,
              resources: {
                requests: { cpu: '100m', memory: `${Math.ceil(input.memoryMiB / 4)}Mi` },
                limits: { memory: `${input.memoryMiB}Mi` },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'scratch', mountPath: SCRATCH_DIR }],
            },
          ],
          volumes: [{ name: 'scratch', emptyDir: {} }],
        },
      },
    },
  };
}
