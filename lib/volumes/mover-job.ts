// Runs one mover Job to its end: creates the claim (when the run brings one) and the Job, watches the Job, reads
// the result line from its pod's log, and always deletes what it created: on success, on failure, on timeout and
// when the run is stopped (SIGTERM), with requests that do not listen to the stop signal.

import { KubeApiError } from '../kube/errors.js';
import type { KubeClient, KubeObject } from '../kube/index.js';
import type { Logger } from '../log.js';
import { MOVER_RESULT_FIELD, parseMoverResult } from './mover-result.js';
import type { MoverResult } from './mover-result.js';

export interface MoverRunInput {
  kube: KubeClient;
  log: Logger;
  namespace: string;
  job: KubeObject;
  /** A claim created for this run and deleted after it (the snapshot clone); a restore's claim stays. */
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

export class MoverError extends Error {}

export async function runMoverJob(input: MoverRunInput): Promise<MoverResult> {
  const { kube, namespace, log } = input;
  const jobName = input.job.metadata.name;
  const created: { what: string; path: string }[] = [];
  try {
    // Listed for deletion before each create: a create whose answer is lost may still have made the object; one
    // refused as already existing is someone else's and is never deleted.
    const createOwn = async (what: string, collection: string, obj: KubeObject) => {
      const entry = { what, path: `${collection}/${obj.metadata.name}` };
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
    log.info('mover job created', { job: jobName, claim: input.temporaryClaim?.metadata.name });
    const finished = await waitForJob(input, jobName);
    const logText = await podLog(kube, namespace, jobName);
    const result = parseMoverResult(logText);
    if (finished === 'Complete' && result?.ok) return result;
    const why =
      result?.error ??
      (finished === 'Complete' ? 'its pod printed no result' : `the job ${finished.toLowerCase()}`);
    throw new MoverError(
      `mover job ${jobName}: ${why}${logText && !result ? `; last log lines: ${lastLines(logText)}` : ''}`,
    );
  } finally {
    // The Job first (its pod holds the claim), then the claim; in the background of the API server's GC.
    for (const item of created.reverse()) {
      try {
        await kube.delete(item.path, { propagationPolicy: 'Background' });
        log.info(`mover ${item.what} deleted`, { path: item.path });
      } catch (e) {
        if (!(e instanceof KubeApiError && e.code === 404))
          log.error(`could not delete the mover ${item.what}`, {
            path: item.path,
            error: (e as Error).message,
          });
      }
    }
  }
}

async function waitForJob(input: MoverRunInput, name: string): Promise<'Complete' | 'Failed'> {
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
      throw new MoverError(`mover job ${name} did not finish within ${Math.round(input.timeoutMs / 1000)} s`);
    if (!running && input.now() - started > input.startTimeoutMs) {
      const notStarted = await whyNotStarted(input, name);
      if (notStarted) throw new MoverError(`mover job ${name}: ${notStarted}`);
      running = true;
    }
    await input.sleep(Math.min(input.pollMs, 250 * 2 ** attempt));
  }
}

/** Why the Job's pod is not running yet; undefined when it runs (or already ran). */
async function whyNotStarted(input: MoverRunInput, jobName: string): Promise<string | undefined> {
  const pods = await input.kube.listAll(`/api/v1/namespaces/${input.namespace}/pods`, {
    labelSelector: `job-name=${jobName}`,
  });
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

/** The log of the Job's pod ('' when it has none or it cannot be read: the caller says what is missing). */
async function podLog(kube: KubeClient, namespace: string, jobName: string): Promise<string> {
  const pods = await kube.listAll(`/api/v1/namespaces/${namespace}/pods`, {
    labelSelector: `job-name=${jobName}`,
  });
  const pod = pods
    .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)))
    .at(-1);
  if (!pod) return '';
  try {
    return await kube.getText(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/log`, {
      container: 'mover',
      limitBytes: 1024 * 1024,
    });
  } catch {
    // A pod that never started has no log; its status says why.
    const waiting = pod.status?.containerStatuses?.[0]?.state;
    return waiting ? JSON.stringify({ level: 'error', msg: `pod state ${JSON.stringify(waiting)}` }) : '';
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ').slice(0, 600);
}

export { MOVER_RESULT_FIELD };
