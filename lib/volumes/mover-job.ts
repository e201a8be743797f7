// Runs one mover Job to its end: the Job lifecycle of lib/kube/owned-job.ts (create the claim and the Job, always
// delete them), waiting for the Job and reading the result line from its pod's log.

import { jobPodLog, lastLines, OwnedJobError, waitForJobEnd, withOwnedJob } from '../kube/owned-job.js';
import type { OwnedJobInput } from '../kube/owned-job.js';
import { MOVER_RESULT_FIELD, parseMoverResult } from './mover-result.js';
import type { MoverResult } from './mover-result.js';

export type MoverRunInput = Omit<OwnedJobInput, 'what'>;

export { OwnedJobError as MoverError };

export async function runMoverJob(runInput: MoverRunInput): Promise<MoverResult> {
  const input: OwnedJobInput = { ...runInput, what: 'mover' };
  return withOwnedJob(input, async (jobName) => {
    const finished = await waitForJobEnd(input, jobName);
    const logText = await jobPodLog(input.kube, input.namespace, jobName, 'mover');
    const result = parseMoverResult(logText);
    if (finished === 'Complete' && result?.ok) return result;
    const why =
      result?.error ??
      (finished === 'Complete' ? 'its pod printed no result' : `the job ${finished.toLowerCase()}`);
    throw new OwnedJobError(
      `mover job ${jobName}: ${why}${logText && !result ? `; last log lines: ${lastLines(logText)}` : ''}`,
    );
  });
}

export { MOVER_RESULT_FIELD };
