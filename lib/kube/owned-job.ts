// The lifecycle of a Job a run creates for itself (a volume mover, a verify's scratch database): create it (and a
// claim it brings), wait for it, and ALWAYS delete what was created: on success, failure, timeout, a pod that does
// not start (with the scheduler's reason) and when the run is stopped (SIGTERM aborts the signal), with delete
// requests that do not listen to the stop signal.

import { KubeApiError } from './errors.js';
import type { KubeClient, KubeObject } from './client.js';
import type { Logger } from '../log.js';

export interface OwnedJobInput {
  kube: KubeClient;
  log: Logger;
  namespace: string;
  job: KubeObject;
  /** What the Job is, for messages and log lines: `mover`, `verify scratch`. */
  what: string;
  /** A claim created for this run and deleted after it (the snapshot clone). */
  temporaryClaim?: KubeObject;
  /** How long to wait for the Job (its activeDeadlineSeconds plus a margin for scheduling). */
  timeoutMs: number;
  /** A Job whose pod is not running by then fails at once (quota refusal, unschedulable) instead of at timeoutMs. */
  startTimeoutMs: number;
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  signal?: AbortSignal;
}

export class OwnedJobError extends Error {}

/** Creates the claim and the Job, runs `body` while they exist, then deletes them whatever happened. */
export async function withOwnedJob<T>(
  input: OwnedJobInput,
  body: (jobName: string) => Promise<T>,
): Promise<T> {
  const { kube, namespace, log, what } = input;
  const jobName = input.job.metadata.name;
  const created: { what: string; path: string }[] = [];
  try {
    // Listed for deletion before each create: a create whose answer is lost may still have made the object; one
    // refused as already existing is someone else's and is never deleted.
    const createOwn = async (kind: string, collection: string, obj: KubeObject) => {
      const entry = { what: kind, path: `${collection}/${obj.metadata.name}` };
      created.push(entry);
      try {
        await kube.create(collection, obj);
      } catch (e) {
        if (e instanceof KubeApiError && e.code === 409) created.splice(created.indexOf(entry), 1);
        throw e;
      }
    };
    if (input.temporaryClaim)
      await createOwn(
        'claim',
        `/api/v1/namespaces/${namespace}/persistentvolumeclaims`,
        input.temporaryClaim,
      );
    await createOwn('job', `/apis/batch/v1/namespaces/${namespace}/jobs`, input.job);
    log.info(`${what} job created`, { job: jobName, claim: input.temporaryClaim?.metadata.name });
    return await body(jobName);
  } finally {
    // The Job first (its pod holds the claim), then the claim; in the background of the API server's GC.
    for (const item of created.reverse()) {
      try {
        await kube.delete(item.path, { propagationPolicy: 'Background' });
        log.info(`${what} ${item.what} deleted`, { path: item.path });
      } catch (e) {
        if (!(e instanceof KubeApiError && e.code === 404))
          log.error(`could not delete the ${what} ${item.what}`, {
            path: item.path,
            error: (e as Error).message,
          });
      }
    }
  }
}

/** Polls the Job until it is Complete or Failed; fails early when its pod does not start. */
export async function waitForJobEnd(input: OwnedJobInput, name: string): Promise<'Complete' | 'Failed'> {
  const started = input.now();
  const deadline = started + input.timeoutMs;
  let running = false;
  const path = `/apis/batch/v1/namespaces/${input.namespace}/jobs/${name}`;
  // Short first: a small volume's mover is done in seconds, and each poll interval is added to the backup's time.
  for (let attempt = 0; ; attempt++) {
    input.signal?.throwIfAborted();
    const job = await input.kube.get(path);
    const conditions: any[] = job.status?.conditions ?? [];
    for (const type of ['Complete', 'Failed'] as const)
      if (conditions.some((c) => c.type === type && c.status === 'True')) return type;
    if (input.now() > deadline)
      throw new OwnedJobError(
        `${input.what} job ${name} did not finish within ${Math.round(input.timeoutMs / 1000)} s`,
      );
    if (!running && input.now() - started > input.startTimeoutMs) {
      const notStarted = await whyNotStarted(input, name);
      if (notStarted) throw new OwnedJobError(`${input.what} job ${name}: ${notStarted}`);
      running = true;
    }
    await input.sleep(Math.min(input.pollMs, 250 * 2 ** attempt));
  }
}

/**
 * Polls until the Job's pod runs (for a Job that serves while the run execs into it); the pod's name. Fails when
 * the pod does not start within startTimeoutMs (with the scheduler's or kubelet's reason) or ends before that.
 */
export async function waitForJobPodRunning(input: OwnedJobInput, jobName: string): Promise<string> {
  const started = input.now();
  for (let attempt = 0; ; attempt++) {
    input.signal?.throwIfAborted();
    const pods = await jobPods(input.kube, input.namespace, jobName);
    const pod = pods.at(-1);
    const phase = pod?.status?.phase;
    if (pod && phase === 'Running' && !pod.metadata.deletionTimestamp) return pod.metadata.name;
    if (pod && (phase === 'Failed' || phase === 'Succeeded')) {
      const log = await jobPodLog(input.kube, input.namespace, jobName, undefined);
      throw new OwnedJobError(
        `${input.what} job ${jobName}: its pod ${pod.metadata.name} ended (${phase}) before it was used` +
          (log ? `; last log lines: ${lastLines(log)}` : ''),
      );
    }
    if (input.now() - started > input.startTimeoutMs) {
      const notStarted = await whyNotStarted(input, jobName);
      throw new OwnedJobError(`${input.what} job ${jobName}: ${notStarted ?? 'its pod is not running'}`);
    }
    await input.sleep(Math.min(input.pollMs, 250 * 2 ** attempt));
  }
}

async function jobPods(kube: KubeClient, namespace: string, jobName: string): Promise<KubeObject[]> {
  const pods = await kube.listAll(`/api/v1/namespaces/${namespace}/pods`, {
    labelSelector: `job-name=${jobName}`,
  });
  return pods.sort((a, b) =>
    String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)),
  );
}

/** Why the Job's pod is not running yet; undefined when it runs (or already ran). */
async function whyNotStarted(input: OwnedJobInput, jobName: string): Promise<string | undefined> {
  const pods = await jobPods(input.kube, input.namespace, jobName);
  const limit = `${Math.round(input.startTimeoutMs / 1000)} s`;
  if (!pods.length)
    return `no pod was created within ${limit} (a ResourceQuota or admission refusing it? kubectl describe job ${jobName})`;
  if (pods.some((p) => p.status?.phase && p.status.phase !== 'Pending')) return undefined;
  const pod = pods[0];
  const unscheduled = (pod.status?.conditions ?? []).find(
    (c: any) => c.type === 'PodScheduled' && c.status === 'False',
  );
  const waiting = (pod.status?.containerStatuses ?? [])[0]?.state?.waiting;
  const why = unscheduled?.message ?? waiting?.message ?? waiting?.reason ?? 'Pending';
  return `its pod ${pod.metadata.name} did not start within ${limit}: ${why}`;
}

/** The log of the Job's newest pod ('' when it has none or it cannot be read: the caller says what is missing). */
export async function jobPodLog(
  kube: KubeClient,
  namespace: string,
  jobName: string,
  container: string | undefined,
): Promise<string> {
  const pod = (await jobPods(kube, namespace, jobName)).at(-1);
  if (!pod) return '';
  try {
    return await kube.getText(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/log`, {
      ...(container ? { container } : {}),
      limitBytes: 1024 * 1024,
    });
  } catch {
    // A pod that never started has no log; its status says why.
    const waiting = pod.status?.containerStatuses?.[0]?.state;
    return waiting ? JSON.stringify({ level: 'error', msg: `pod state ${JSON.stringify(waiting)}` }) : '';
  }
}

export function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ').slice(0, 600);
}
