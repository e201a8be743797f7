// `nsbackup export`: the namespace's resources in canonical form, as YAML files in a folder (`--dir`, for review
// or Git) or as an archive in S3 (without `--dir`; the same export the backup runs, under a new backup id). An
// export to S3 is a backup run of its own: it records its outcome beside the manifest (failed, and exit 1, when
// types could not be read), so that `latest` never picks an export that is missing something.

import { encryptionSettings } from '../lib/crypto/index.js';
import { defineCommand, runIfMain } from '../lib/command.js';
import { ConfigError, str } from '../lib/config/index.js';
import { ExitCode } from '../lib/exit.js';
import { clusterNameSetting, exportNamespaceToDir, exportTuningSettings } from '../lib/export/index.js';
import { keyFrom } from '../lib/crypto/index.js';
import { exportAsBackup } from '../lib/export/export-as-backup.js';
import { decideSecrets, exportSecretsSetting } from '../lib/export/secrets-policy.js';
import { clusterNameOf, connectOrConfigError, kubeSettings, namespaceSetting } from '../lib/kube/index.js';
import { adhocKeepDaysSetting } from '../lib/retention/settings.js';
import { s3Settings, storeFrom } from '../lib/s3/index.js';

const schema = {
  ...namespaceSetting({
    defaultText: "the kubeconfig context's namespace",
    description: 'Namespace to export.',
  }),
  dir: str({
    env: 'NSBACKUP_EXPORT_DIR',
    flag: '--dir',
    description:
      'Write one canonical YAML file per object into this folder (empty, or an earlier export of the same ' +
      'namespace: files of deleted objects are removed). Unset: export to S3.',
  }),
  backupId: str({
    env: 'NSBACKUP_BACKUP_ID',
    flag: '--backup-id',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    maxLength: 253,
    defaultText: 'a new id, yyyyMMdd-HHmmss-xxxxxx (UTC)',
    description: 'Backup id (S3 folder) of an export to S3.',
  }),
  ...clusterNameSetting,
  ...adhocKeepDaysSetting,
  ...exportTuningSettings,
  ...exportSecretsSetting,
  ...encryptionSettings,
  ...s3Settings,
  ...kubeSettings,
};

export const command = defineCommand({
  name: 'export',
  summary: "Export a namespace's resources as canonical YAML files (--dir) or as an archive to S3",
  usage: 'nsbackup export [-n NAMESPACE] --dir DIR | nsbackup export [-n NAMESPACE] [--backup-id ID]',
  schema,
  aliases: { '-n': '--namespace' },
  async run({ config, log, env, signal }) {
    const kube = connectOrConfigError(config, env);
    const namespace = config.namespace || kube.defaultNamespace;
    const secretsFor = (encrypted: boolean, folder: boolean) => {
      try {
        const decision = decideSecrets(config.exportSecrets, {
          encrypted,
          folder,
          exclude: config.exportExclude,
        });
        if (decision.warning) log.warn(decision.warning);
        return decision;
      } catch (e) {
        throw new ConfigError([(e as Error).message]);
      }
    };
    if (config.dir) {
      const secrets = secretsFor(false, true);
      const result = await exportNamespaceToDir({
        kube,
        namespace,
        dir: config.dir,
        log,
        signal,
        concurrency: config.exportConcurrency,
        clusterDependencies: config.exportClusterDependencies,
        exclude: secrets.exclude,
        secrets: secrets.write === 'masked' ? 'mask' : 'include',
      });
      return {
        summary: {
          namespace,
          dir: config.dir,
          warnings: secrets.warning ? [secrets.warning] : undefined,
          objects: result.written.length,
          removed: result.removed.length || undefined,
          skipped: result.stats.skipped.length || undefined,
        },
      };
    }
    const store = storeFrom(config, env, log);
    if (!store) throw new ConfigError(['set --dir DIR, or NSBACKUP_S3_BUCKET to export to S3']);
    const encryptionKey = keyFrom(config, namespace, log);
    const secrets = secretsFor(Boolean(encryptionKey), false);
    const { result, failures } = await exportAsBackup({
      kube,
      store,
      namespace,
      cluster: clusterNameOf(config.clusterName, kube),
      backupId: config.backupId || undefined,
      keepDays: config.adhocKeepDays,
      encryptionKey,
      log,
      signal,
      concurrency: config.exportConcurrency,
      clusterDependencies: config.exportClusterDependencies,
      exclude: secrets.exclude,
    });
    return {
      exitCode: failures.length ? ExitCode.failed : ExitCode.ok,
      summary: {
        namespace,
        backupId: result.manifest.backupId,
        location: result.location,
        objects: result.objectCount,
        bytes: result.bytes,
        outcome: failures.length ? 'failed' : 'succeeded',
        skipped: result.stats.skipped.length || undefined,
        warnings: secrets.warning ? [secrets.warning] : undefined,
      },
    };
  },
});

runIfMain(command, import.meta.url);
