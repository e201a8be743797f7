// Scheduled or ad-hoc: `kubectl create job --from=cronjob/X` marks its Job with the annotation below, so a
// backup started by hand from the CronJob's template is told apart from the scheduled runs.

import { JobError } from '../exit.js';
import { corePath, groupPath, KubeApiError } from '../kube/index.js';
import type { KubeClient, KubeObject } from '../kube/index.js';
import type { BackupType } from '../labels.js';

export const INSTANTIATE_ANNOTATION = 'cronjob.kubernetes.io/instantiate';

/** A Job made by hand from a CronJob is adhoc; one the CronJob controller made is scheduled; a bare Job is adhoc. */
export function typeOfJob(job: KubeObject): BackupType {
  if (job.metadata.annotations?.[INSTANTIATE_ANNOTATION] === 'manual') return 'adhoc';
  const ownedByCronJob = (job.metadata.ownerReferences ?? []).some((o: any) => o.kind === 'CronJob');
  return ownedByCronJob ? 'scheduled' : 'adhoc';
}

export interface TypeInputs {
  explicit: string;
  jobName: string;
  /** NSBACKUP_POD_NAME, else HOSTNAME when running in a pod. */
  podName: string;
  inCluster: boolean;
  /** Where the Job and pod are looked for, in order (the run's own namespace first). */
  namespaces: string[];
}

/**
 * The backup type and how it was found. A lookup that fails fails the run (backup-ns silently went on
 * without labels); outside a cluster with nothing to look up, the run was started by hand: adhoc.
 */
export async function detectBackupType(
  kube: KubeClient,
  input: TypeInputs,
): Promise<{ type: BackupType; reason: string }> {
  if (input.explicit) return { type: input.explicit as BackupType, reason: 'NSBACKUP_TYPE' };
  let jobName = input.jobName;
  let jobNamespaces = input.namespaces;
  if (!jobName) {
    if (!input.podName || !input.inCluster) {
      return { type: 'adhoc', reason: 'not running in a Job (no NSBACKUP_JOB_NAME, not in a cluster)' };
    }
    const found = await findFirst(kube, input.namespaces, (ns) => corePath('pods', ns, input.podName));
    if (!found) {
      throw new JobError(
        `cannot tell scheduled from adhoc: pod ${input.podName} not found in ${input.namespaces.join(', ')}; ` +
          'set NSBACKUP_TYPE or NSBACKUP_JOB_NAME',
      );
    }
    const owner = (found.obj.metadata.ownerReferences ?? []).find((o: any) => o.kind === 'Job');
    if (!owner) return { type: 'adhoc', reason: `pod ${input.podName} belongs to no Job` };
    jobName = owner.name;
    jobNamespaces = [found.namespace];
  }
  const job = await findFirst(kube, jobNamespaces, (ns) => groupPath('batch', 'v1', 'jobs', ns, jobName));
  if (!job) {
    throw new JobError(
      `cannot tell scheduled from adhoc: Job ${jobName} not found in ${jobNamespaces.join(', ')}; set NSBACKUP_TYPE`,
    );
  }
  const type = typeOfJob(job.obj);
  return { type, reason: `Job ${job.namespace}/${jobName}` };
}

async function findFirst(
  kube: KubeClient,
  namespaces: string[],
  path: (ns: string) => string,
): Promise<{ obj: KubeObject; namespace: string } | undefined> {
  for (const ns of [...new Set(namespaces)]) {
    try {
      const obj = await kube.getIfExists(path(ns));
      if (obj) return { obj, namespace: ns };
    } catch (e) {
      if (e instanceof KubeApiError && e.code === 403) {
        throw new JobError(`cannot tell scheduled from adhoc: ${e.message}; set NSBACKUP_TYPE or grant get`);
      }
      throw e;
    }
  }
  return undefined;
}
