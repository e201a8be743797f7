// What each snapshot's own `nsbackup.io/retain` label says about how it is kept.
import { Labels, type RetainPolicyName } from '../labels.js';
import type { Snap } from './records.js';
import type { Problem } from './types.js';

const POLICIES: readonly string[] = ['gfs', 'days', 'deltas'] satisfies RetainPolicyName[];

export function policyOf(snap: Snap): RetainPolicyName | undefined {
  const value = snap.record.labels[Labels.retain];
  return POLICIES.includes(value) ? (value as RetainPolicyName) : undefined;
}

/** An unknown policy (a typo, or a newer nsbackup) is never acted on: keeping is the safe side. */
export function unknownPolicyProblem(snap: Snap): Problem {
  const { namespace, name, labels } = snap.record;
  return { namespace, name, reason: `unknown retention policy "${labels[Labels.retain]}": left alone` };
}
