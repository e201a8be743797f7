// Whether a saved snapshot is a good one, from what the trial restore and the status reads found. Pure.
//
// `snapshot status` alone reads only the pages it needs and accepts a file with a changed byte; the trial restore
// checks the SHA-256 etcdctl appended when it saved the file, and then the restored database must hold the same
// revision and key count as the snapshot says, and at least the revision the member had before the save.

import type { SnapshotStatus } from './tools.js';

export interface VerifyFacts {
  /** The member's revision just before the save. */
  revisionBefore: number;
  /** `snapshot status` of the saved file. */
  snapshot: SnapshotStatus;
  /** `snapshot status` of the trial restore's database (member/snap/db). */
  restored: SnapshotStatus;
}

export function verificationProblems(facts: VerifyFacts): string[] {
  const { revisionBefore, snapshot, restored } = facts;
  const problems: string[] = [];
  if (!Number.isInteger(restored.revision) || restored.revision !== snapshot.revision)
    problems.push(
      `the restored database is at revision ${restored.revision}, the snapshot says ${snapshot.revision}`,
    );
  if (!Number.isInteger(restored.totalKey) || restored.totalKey !== snapshot.totalKey)
    problems.push(
      `the restored database holds ${restored.totalKey} keys, the snapshot says ${snapshot.totalKey}`,
    );
  if (restored.revision < revisionBefore)
    problems.push(
      `the snapshot is at revision ${restored.revision}, older than the member's ${revisionBefore} before the save`,
    );
  if (restored.totalKey < 1) problems.push('the snapshot holds no keys');
  return problems;
}
