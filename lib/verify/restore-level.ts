// `verify --level restore` in a cluster: the scratch Job created beside the backup's namespace (or where the user
// says), its pod awaited, the dumps loaded and the assertions run over exec (lib/verify/restore-check.ts), and the
// Job deleted whatever happened (lib/kube/owned-job.ts). The production database pod is only read: its image.
import { randomBytes } from 'node:crypto';
import type { SqlDbKind } from '../dump/index.js';
import type { ExecFn } from '../exec/index.js';
import { resolveTarget } from '../exec/target.js';
import { corePath, type KubeClient } from '../kube/index.js';
import { withOwnedJob, waitForJobPodRunning, type OwnedJobInput } from '../kube/owned-job.js';
import type { Logger } from '../log.js';
import type { Assertion } from './assertions.js';
import { checkRestore, type DumpToLoad, type RestoreCheck } from './restore-check.js';
import {
  databaseImageOf,
  SCRATCH_CONTAINER,
  SCRATCH_DIR,
  scratchJobManifest,
  scratchJobName,
} from './scratch-job.js';

export interface RestoreLevelInput {
  kube: KubeClient;
  log: Logger;
  exec: ExecFn;
  kind: SqlDbKind;
  /** The production database: its namespace, workload and container (only the pod's spec is read). */
  database: { namespace: string; target: string; container?: string };
  /** Where the scratch Job runs. */
  scratchNamespace: string;
  backupId: string;
  dumps: DumpToLoad[];
  assertions: Assertion[];
  timeoutMs: number;
  startTimeoutMs: number;
  memoryMiB: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  signal?: AbortSignal;
}

export interface RestoreLevelResult extends RestoreCheck {
  image: string;
  scratchNamespace: string;
  job: string;
}

export async function verifyRestoreInScratchJob(input: RestoreLevelInput): Promise<RestoreLevelResult> {
  const { kube, log } = input;
  const prod = await resolveTarget(
    kube,
    input.database.namespace,
    input.database.target,
    input.database.container,
  );
  const pod = await kube.get(corePath('pods', prod.namespace, prod.pod));
  const image = databaseImageOf(pod, prod.container);
  const name = scratchJobName(input.backupId, randomBytes(3).toString('hex'));
  const job = scratchJobManifest({
    name,
    namespace: input.scratchNamespace,
    kind: input.kind,
    backupId: input.backupId,
    image,
    timeoutSeconds: Math.ceil(input.timeoutMs / 1000),
    memoryMiB: input.memoryMiB,
  });
  const run: OwnedJobInput = {
    kube,
    log,
    namespace: input.scratchNamespace,
    job,
    what: 'verify scratch',
    timeoutMs: input.timeoutMs,
    startTimeoutMs: input.startTimeoutMs,
    pollMs: 2000,
    sleep: input.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    now: input.now ?? Date.now,
    signal: input.signal,
  };
  log.info('scratch database for the restore check', {
    image: image.image,
    from: `${prod.namespace}/${prod.pod}/${prod.container}`,
    job: `${input.scratchNamespace}/${name}`,
  });
  // The Job's own deadline ends a scratch server the verifier forgot; this one ends a verifier that hangs.
  const deadline = AbortSignal.timeout(input.timeoutMs);
  const signal = input.signal ? AbortSignal.any([input.signal, deadline]) : deadline;
  const check = await withOwnedJob(run, async (jobName) => {
    const podName = await waitForJobPodRunning(run, jobName);
    return checkRestore(
      {
        exec: input.exec,
        target: { namespace: input.scratchNamespace, pod: podName, container: SCRATCH_CONTAINER },
        kind: input.kind,
        dir: SCRATCH_DIR,
        signal,
      },
      { dumps: input.dumps, assertions: input.assertions },
    );
  });
  return { ...check, image: image.image, scratchNamespace: input.scratchNamespace, job: name };
}
