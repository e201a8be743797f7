// Settings of `nsbackup verify`'s restore level. The database is named as for the backup (NSBACKUP_DB,
// NSBACKUP_DB_TARGET, NSBACKUP_DB_CONTAINER), so a verify CronJob can share the backup's settings: the target is
// only read, for its image.
import { DNS_LABEL, duration, int, oneOf, str } from '../config/index.js';
import { resticSecretSetting } from '../volumes/settings.js';
import { dbTargetSettings } from '../dump/connection-settings.js';

export const verifyLevelSettings = {
  level: oneOf(['integrity', 'restore', 'rehearsal'] as const, {
    env: 'NSBACKUP_VERIFY_LEVEL',
    flag: '--level',
    default: 'integrity',
    description:
      'integrity: every file read back, checked against the manifest, decrypted and decompressed (and the volume ' +
      "data's restic snapshots). restore: that, then each database dump loaded into a scratch Job of the " +
      "database's own image and the assertions run there. rehearsal: integrity, then the backup restored into a " +
      'scratch namespace (nothing in it running), compared with the backup, and the namespace deleted.',
  }),
  rehearsalNamespace: str({
    env: 'NSBACKUP_VERIFY_REHEARSAL_NAMESPACE',
    flag: '--rehearsal-namespace',
    pattern: DNS_LABEL,
    patternText: 'a namespace name',
    maxLength: 63,
    defaultText: "<namespace>-rehearsal-<the backup id's last part>",
    description:
      'Rehearsal level: the scratch namespace the backup is restored into, then deleted. It must not exist, or be ' +
      'one an earlier rehearsal of this namespace left (label nsbackup.io/rehearsal-of): any other is refused, ' +
      'untouched.',
  }),
  assertionsConfigMap: str({
    env: 'NSBACKUP_VERIFY_ASSERTIONS_CONFIGMAP',
    flag: '--assertions-configmap',
    pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    patternText: 'a ConfigMap name',
    maxLength: 253,
    description:
      "ConfigMap (in the backup's namespace) whose `*.sql` keys are assertions for the restore level: each a " +
      'query returning one value that must be true or non-zero (`select count(*) > 0 from orders`). A line ' +
      '`-- database: NAME` says where it runs (default: the only restored database).',
  }),
  scratchNamespace: str({
    env: 'NSBACKUP_VERIFY_NAMESPACE',
    flag: '--scratch-namespace',
    pattern: DNS_LABEL,
    patternText: 'a namespace name',
    maxLength: 63,
    defaultText: "the backup's namespace",
    description: 'Namespace the scratch Job of the restore level runs in.',
  }),
  db: oneOf(['postgres', 'mysql', 'none'] as const, {
    env: 'NSBACKUP_DB',
    flag: '--db',
    default: 'none',
    description:
      'Restore level: the kind of database the dumps are of, postgres or mysql (MySQL and MariaDB).',
  }),
  ...dbTargetSettings({
    target:
      "Restore level: the production database's workload, whose pod's image (and user) the scratch Job runs. Only read.",
    container: 'Restore level: the container of the database pod whose image is used.',
  }),
  dataSubset: str({
    env: 'NSBACKUP_VERIFY_DATA_SUBSET',
    flag: '--data-subset',
    pattern: /^[1-9][0-9]{0,3}(\/[1-9][0-9]{0,3})?$/,
    patternText: "N/M (slice N of M) or M (today's slice of M)",
    invalid: ['0/4', '1/0', '5%'],
    default: '30',
    description:
      "Backups with volume data (NSBACKUP_PVC_DATA): how much of the restic repository's data `restic check` " +
      "reads, as volume-check does. M alone: today's slice of M (a different 1/M each day, all of it in M days); " +
      'N/M: always slice N of M.',
  }),
  // Backups with volume data: the restic repository's password, read from this Secret in the backup's namespace.
  ...resticSecretSetting,
  verifyTimeout: duration({
    env: 'NSBACKUP_VERIFY_TIMEOUT',
    default: 3_600_000,
    min: 10_000,
    description:
      "Longest the restore level's scratch Job may run (its activeDeadlineSeconds): start, load, assertions.",
  }),
  verifyStartTimeout: duration({
    env: 'NSBACKUP_VERIFY_START_TIMEOUT',
    default: 10 * 60_000,
    min: 1_000,
    description:
      "How long the scratch Job's pod may take to start (scheduling, image pull) before the verify fails with the reason.",
  }),
  verifyMemory: int({
    env: 'NSBACKUP_VERIFY_MEMORY',
    min: 128,
    default: 1024,
    description: "Memory limit of the scratch Job's container, in MiB (requested: a quarter of it).",
  }),
};
