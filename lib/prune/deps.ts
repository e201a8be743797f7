// What the retention commands are given around the core: the clock, the stop signal, S3 stores per bucket.
import type { Logger } from '../log.js';
import { S3Store, s3LocationFrom, staticCredentialsFrom, type S3Location } from '../s3/index.js';
import type { S3Layout } from './s3-folders.js';

/** Injected in tests (a fake clock, no real pauses, a stop in the middle); real values otherwise. */
export interface PruneDeps {
  now?: () => Date;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Aborts the run at the next safe point, like SIGTERM does. */
  signal?: AbortSignal;
}

export function combinedSignal(signal: AbortSignal, extra?: AbortSignal): AbortSignal {
  return extra ? AbortSignal.any([signal, extra]) : signal;
}

type S3Config = Parameters<typeof s3LocationFrom>[0];

/**
 * A store per bucket (a snapshot's s3-location names its bucket), all with the configured endpoint and the
 * same credentials as lib/s3's storeFrom.
 */
export function s3StoresFrom(
  config: S3Config & { clusterName: string },
  env: NodeJS.ProcessEnv,
  log: Logger,
): { layout: S3Layout | undefined; s3: (bucket: string) => S3Store | undefined } {
  const location = s3LocationFrom(config);
  if (!location) return { layout: undefined, s3: () => undefined };
  const credentials = staticCredentialsFrom(env, log);
  const stores = new Map<string, S3Store>();
  const s3 = (bucket: string) => {
    if (!stores.has(bucket))
      stores.set(bucket, new S3Store({ ...location, bucket } satisfies S3Location, credentials));
    return stores.get(bucket);
  };
  return { layout: { bucket: location.bucket, prefix: location.prefix, cluster: config.clusterName }, s3 };
}
