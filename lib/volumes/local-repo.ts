// A namespace's restic repository opened by this process (pruner, check, restore listing): the password read
// from the namespace's Secret through the API (never an argument, never an environment variable of this pod, never
// logged), restic run with it in its own environment.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobError } from '../exit.js';
import { KubeApiError } from '../kube/errors.js';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { S3Location } from '../s3/index.js';
import { PASSWORD_KEY } from './mover-manifests.js';
import { Repository } from './repo-ops.js';
import { repositoryLocation, repositoryUrl } from './repository.js';
import { resticRunner } from './restic.js';

/** The password from `Secret/<name>` in `namespace`, key RESTIC_PASSWORD; masked in every log line from now on. */
export async function passwordFromSecret(
  kube: KubeClient,
  namespace: string,
  name: string,
  log: Logger,
): Promise<string> {
  let secret;
  try {
    secret = await kube.get(`/api/v1/namespaces/${namespace}/secrets/${name}`);
  } catch (e) {
    if (e instanceof KubeApiError && (e.code === 404 || e.code === 403))
      throw new JobError(
        `the restic password Secret ${namespace}/${name} ${e.code === 404 ? 'does not exist' : 'may not be read'} (NSBACKUP_RESTIC_SECRET)`,
      );
    throw e;
  }
  const encoded = secret.data?.[PASSWORD_KEY];
  if (!encoded)
    throw new JobError(`Secret ${namespace}/${name} has no key ${PASSWORD_KEY} (NSBACKUP_RESTIC_SECRET)`);
  const password = Buffer.from(encoded, 'base64').toString('utf8');
  log.redactor.add(password);
  return password;
}

export interface LocalRepositoryInput {
  kube: KubeClient;
  log: Logger;
  location: S3Location;
  cluster: string;
  namespace: string;
  /** Name of the password Secret, in `secretNamespace` (default: `namespace`). */
  secret: string;
  /** A restore into another cluster reads the Secret where it restores: the source namespace may not exist there. */
  secretNamespace?: string;
  env: NodeJS.ProcessEnv;
  memoryLimit?: string;
  signal?: AbortSignal;
}

export async function openLocalRepository(
  input: LocalRepositoryInput,
): Promise<{ repo: Repository; location: string }> {
  const password = await passwordFromSecret(
    input.kube,
    input.secretNamespace ?? input.namespace,
    input.secret,
    input.log,
  );
  const repo = new Repository(
    {
      repository: repositoryUrl(input.location, input.cluster, input.namespace),
      cacert: input.location.caFile,
      cacheDir: join(input.env.TMPDIR || tmpdir(), 'nsbackup-restic-cache'),
    },
    resticRunner({ password, env: input.env, memoryLimit: input.memoryLimit }),
    input.signal,
  );
  return { repo, location: repositoryLocation(input.location, input.cluster, input.namespace) };
}

/**
 * The repository of a namespace that keeps volume data, or undefined when it keeps none (no password Secret, no
 * repository): what the pruner walks over.
 */
export async function openIfUsed(input: LocalRepositoryInput): Promise<Repository | undefined> {
  const secret = await input.kube.getIfExists(
    `/api/v1/namespaces/${input.secretNamespace ?? input.namespace}/secrets/${input.secret}`,
  );
  if (!secret) return undefined;
  const { repo } = await openLocalRepository(input);
  return (await repo.exists()) ? repo : undefined;
}

/** The slice of the repository's data a check reads tonight: day N of a cycle of `slices` days. */
export function sliceOfDay(now: Date, slices: number): { n: number; of: number } {
  const day = Math.floor(now.getTime() / 86_400_000);
  return { n: (day % slices) + 1, of: slices };
}
