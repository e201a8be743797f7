// Retention settings of the commands that make backups (backup, and export as a backup): what a backup records
// for retention when it is made. The pruner's own settings are lib/prune/settings.ts.

import { int } from '../config/index.js';

export const adhocKeepDaysSetting = {
  adhocKeepDays: int({
    env: 'NSBACKUP_ADHOC_KEEP_DAYS',
    flag: '--adhoc-keep-days',
    default: 30,
    min: 0,
    max: 36500,
    description:
      'Days an ad-hoc backup is kept at least (the nsbackup.io/keep-until label of its snapshots; keepUntil in ' +
      'the outcome of one without snapshots), whatever the retention policy; 0: none, retention alone decides. ' +
      "Like Velero's default TTL.",
  }),
};
