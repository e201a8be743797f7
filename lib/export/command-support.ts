// What `nsbackup export` and `nsbackup diff` share: the cluster connection, the S3 store, the key.
import { connect, type KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import { S3Store, s3LocationFrom } from '../s3/index.js';
import { ConfigError } from '../config/index.js';
import type { EncryptionKey } from '../resources/index.js';
import { encryptionKeyFor } from './keys.js';

export function connectOrConfigError(
  config: { kubeconfig: string; kubeContext: string },
  env: NodeJS.ProcessEnv,
): KubeClient {
  try {
    return connect({
      kubeconfigPath: config.kubeconfig || undefined,
      context: config.kubeContext || undefined,
      env,
    });
  } catch (error) {
    throw new ConfigError([`cannot load the Kubernetes configuration: ${(error as Error).message}`]);
  }
}

/**
 * The store of NSBACKUP_S3_BUCKET, or undefined when no bucket is set. Credentials come from the command's
 * environment when it carries them, else the SDK's default chain (instance role, IRSA, ~/.aws).
 */
export function storeFrom(
  config: Parameters<typeof s3LocationFrom>[0],
  env: NodeJS.ProcessEnv,
  log: Logger,
): S3Store | undefined {
  const location = s3LocationFrom(config);
  if (!location) return undefined;
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          sessionToken: env.AWS_SESSION_TOKEN,
        }
      : undefined;
  if (credentials) log.redactor.add(credentials.secretAccessKey);
  return new S3Store(location, credentials);
}

/** The namespace's key (see keys.ts); a key problem is a configuration error (exit 2). */
export function keyFrom(
  config: { encryptionKey: string; encryptionKeyFile: string },
  namespace: string,
  log: Logger,
): EncryptionKey | undefined {
  try {
    return encryptionKeyFor({ key: config.encryptionKey, keyFile: config.encryptionKeyFile }, namespace, {
      onSecret: (text) => log.redactor.add(text),
    });
  } catch (error) {
    throw new ConfigError([(error as Error).message]);
  }
}
