// How a command reaches its cluster: the kubeconfig settings, and the cluster's name for S3 keys.

import { ConfigError } from '../config/index.js';
import { connect, type KubeClient } from './client.js';

/** A client from NSBACKUP_KUBECONFIG / NSBACKUP_KUBE_CONTEXT; an unusable kubeconfig is a configuration error (exit 2). */
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
    // Name where the configuration came from: the setting, else the standard variable, else the defaults.
    const source = config.kubeconfig
      ? 'NSBACKUP_KUBECONFIG'
      : env.KUBECONFIG
        ? 'KUBECONFIG'
        : 'the in-cluster service account or ~/.kube/config';
    throw new ConfigError([
      `cannot load the Kubernetes configuration (${source}): ${(error as Error).message}`,
    ]);
  }
}

/**
 * The cluster part of S3 keys: the setting, else the kubeconfig's cluster name. Every command must pick the
 * same one, or retention and restores would look for folders under another name than backup wrote.
 */
export function clusterNameOf(configured: string, kube: KubeClient): string {
  return configured || kube.kc.getCurrentCluster()?.name || 'cluster';
}
