// What the three retention commands share around the core: the cluster connection, the clock, S3 stores.
import { connect, type KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import { S3Store, s3LocationFrom, type S3Location } from '../s3/index.js';
import type { S3Layout } from './s3-folders.js';

/** Injected in tests (a fake clock, no real pauses, a stop in the middle); real values otherwise. */
export interface PruneDeps {
  now?: () => Date;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Aborts the run at the next safe point, like SIGTERM does. */
  signal?: AbortSignal;
}

export function connectFrom(
  config: { kubeconfig: string; kubeContext: string },
  env: NodeJS.ProcessEnv,
): KubeClient {
  return connect({
    kubeconfigPath: config.kubeconfig || undefined,
    context: config.kubeContext || undefined,
    env,
  });
}

export function combinedSignal(signal: AbortSignal, extra?: AbortSignal): AbortSignal {
  return extra ? AbortSignal.any([signal, extra]) : signal;
}

type S3Config = Parameters<typeof s3LocationFrom>[0];

/**
 * A store per bucket (a snapshot's s3-location names its bucket), all with the configured endpoint.
 * Credentials come from the command's environment when it carries them, else the SDK's default chain.
 */
export function s3StoresFrom(
  config: S3Config & { clusterName: string },
  env: NodeJS.ProcessEnv,
  log: Logger,
): { layout: S3Layout | undefined; s3: (bucket: string) => S3Store | undefined } {
  const location = s3LocationFrom(config);
  if (!location) return { layout: undefined, s3: () => undefined };
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          sessionToken: env.AWS_SESSION_TOKEN,
        }
      : undefined;
  if (credentials) log.redactor.add(credentials.secretAccessKey);
  const stores = new Map<string, S3Store>();
  const s3 = (bucket: string) => {
    if (!stores.has(bucket))
      stores.set(bucket, new S3Store({ ...location, bucket } satisfies S3Location, credentials));
    return stores.get(bucket);
  };
  return { layout: { bucket: location.bucket, prefix: location.prefix, cluster: config.clusterName }, s3 };
}
