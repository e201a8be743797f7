// The pure retention core: labels for new snapshots, and the retain / mark / sweep plans.
// No I/O: the clock and the time zone are parameters, adapters apply the plans.
export type * from './types.js';
export { addDays, assertTimeZone, gfsValues, isLocalDate, localDate } from './calendar.js';
export { adhocKeepUntil, deleteAfterFor } from './days.js';
export {
  DELTAS_LABEL,
  decodeDeltas,
  deltasKeep,
  encodeDeltas,
  parseDelta,
  parseDeltas,
  type Delta,
} from './deltas.js';
export { activeGfsKeys, DEFAULT_GFS_KEEP, GFS_KEYS, gfsLabelsFor, holdsGfsLabel } from './gfs.js';
export { planMark } from './mark.js';
export { DEFAULT_RETAIN_POLICY, planRetain } from './retain.js';
export { planSweep } from './sweep.js';
export { isOurs, isPinned } from './records.js';
export { isDiscardable, runCompleted, runOutcomeOf, type RunOutcome } from './outcome.js';
export {
  planFolderRetention,
  type FolderBackup,
  type FolderDeletion,
  type FolderRetentionOptions,
  type FolderRetentionPlan,
} from './folders.js';
