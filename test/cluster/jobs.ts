// An optional Job controller: with a runner registered, a created Job gets a Pod (named, labelled and owned
// as the real controller does), the runner plays the container's process, and the Pod and Job finish with
// its exit code, retried up to spec.backoffLimit. Without a runner, Jobs stay unstarted: we do not pretend
// to have run anything.
import { randomInt, randomUUID } from 'node:crypto';
import { runningPod } from './kubelet.js';
import { now } from './registry.js';
import type { Store } from './store.js';

/** Runs the Job's pod; resolves to the exit code of its (first) container, and optionally what it printed. */
export type JobRunner = (job: any, pod: any) => Promise<number | { exitCode: number; log?: string }>;

const SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

function podFor(job: any): any {
  const template = structuredClone(job.spec?.template ?? {});
  const name = `${job.metadata.name}-${Array.from({ length: 5 }, () => SUFFIX_CHARS[randomInt(27)]).join('')}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...template.metadata,
      name,
      namespace: job.metadata.namespace,
      uid: randomUUID(),
      creationTimestamp: now(),
      labels: { ...template.metadata?.labels },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: job.metadata.name,
          uid: job.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: template.spec ?? {},
  };
}

function terminated(pod: any, exitCode: number, message?: string): any {
  const ok = exitCode === 0;
  return {
    ...pod,
    status: {
      ...pod.status,
      phase: ok ? 'Succeeded' : 'Failed',
      conditions: (pod.status?.conditions ?? []).map((c: any) =>
        c.type === 'Ready' || c.type === 'ContainersReady'
          ? { ...c, status: 'False', reason: 'PodCompleted' }
          : c,
      ),
      containerStatuses: (pod.status?.containerStatuses ?? []).map((c: any) => ({
        ...c,
        ready: false,
        started: false,
        state: {
          terminated: {
            exitCode,
            reason: ok ? 'Completed' : 'Error',
            ...(message ? { message } : {}),
            startedAt: pod.status?.startTime,
            finishedAt: now(),
          },
        },
      })),
    },
  };
}

/** Runs one Job to completion or to its backoff limit. */
export async function runJob(
  store: Store,
  job: any,
  runner: JobRunner,
  takeFailure: () => string | undefined,
): Promise<void> {
  const ns = job.metadata.namespace;
  const name = job.metadata.name;
  const current = () => store.get('batch', 'jobs', ns, name);
  const setStatus = (status: any) => {
    const latest = current();
    if (latest && latest.metadata.uid === job.metadata.uid)
      store.put('batch', 'jobs', { ...structuredClone(latest), status });
  };
  const startTime = now();
  const backoffLimit = job.spec?.backoffLimit ?? 6;
  let failed = 0;
  for (;;) {
    if (current()?.metadata.uid !== job.metadata.uid) return; // deleted meanwhile
    const pod = store.put('', 'pods', runningPod(podFor(job)));
    setStatus({ startTime, active: 1, ready: 1, failed: failed || undefined, uncountedTerminatedPods: {} });
    const failure = takeFailure();
    let exitCode: number;
    let message: string | undefined = failure;
    try {
      const ran = failure ? 1 : await runner(job, pod);
      exitCode = typeof ran === 'number' ? ran : ran.exitCode;
      if (typeof ran !== 'number' && ran.log !== undefined)
        store.podLogs.set(`${ns}/${pod.metadata.name}`, ran.log);
    } catch (e) {
      exitCode = 1;
      message = e instanceof Error ? e.message : String(e);
    }
    const latestPod = store.get('', 'pods', ns, pod.metadata.name);
    if (latestPod) store.put('', 'pods', terminated(structuredClone(latestPod), exitCode, message));
    if (exitCode === 0) {
      const t = now();
      setStatus({
        startTime,
        completionTime: t,
        succeeded: 1,
        ...(failed ? { failed } : {}),
        ready: 0,
        uncountedTerminatedPods: {},
        conditions: [
          {
            type: 'SuccessCriteriaMet',
            status: 'True',
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
            lastProbeTime: t,
            lastTransitionTime: t,
          },
          {
            type: 'Complete',
            status: 'True',
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
            lastProbeTime: t,
            lastTransitionTime: t,
          },
        ],
      });
      return;
    }
    failed++;
    if (failed > backoffLimit) {
      const t = now();
      setStatus({
        startTime,
        failed,
        ready: 0,
        uncountedTerminatedPods: {},
        conditions: [
          {
            type: 'FailureTarget',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            lastProbeTime: t,
            lastTransitionTime: t,
          },
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            lastProbeTime: t,
            lastTransitionTime: t,
          },
        ],
      });
      return;
    }
  }
}
