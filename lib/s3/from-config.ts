// The S3 store a command uses, from its settings and environment.

import type { Logger } from '../log.js';
import { s3LocationFrom } from './settings.js';
import { S3Store } from './store.js';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Static keys from the run's environment (tests pass one explicitly, not through process.env), else undefined:
 * the SDK's default chain then applies (instance role, IRSA, ~/.aws). The secret key and session token are masked
 * in logs.
 */
export function staticCredentialsFrom(env: NodeJS.ProcessEnv, log: Logger): StaticCredentials | undefined {
  // Masked even when the keys are incomplete: the SDK's default chain may still read them from the environment.
  log.redactor.add(env.AWS_SECRET_ACCESS_KEY);
  log.redactor.add(env.AWS_SESSION_TOKEN);
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.AWS_SESSION_TOKEN,
  };
}

/** The store of NSBACKUP_S3_BUCKET, or undefined when no bucket is set. */
export function storeFrom(
  config: Parameters<typeof s3LocationFrom>[0],
  env: NodeJS.ProcessEnv,
  log: Logger,
): S3Store | undefined {
  const location = s3LocationFrom(config);
  return location ? new S3Store(location, staticCredentialsFrom(env, log)) : undefined;
}
