// `nsbackup diff --from <backup id|latest|DIR>`: object by object, what differs between a backup (in S3 or an
// export folder) and the live namespace. Exit 0 when equal, 1 when anything differs (or on an error).

import { encryptionSettings } from '../lib/crypto/index.js';
import { stat } from 'node:fs/promises';
import { defineCommand, runIfMain } from '../lib/command.js';
import { ConfigError, oneOf, str } from '../lib/config/index.js';
import { ExitCode } from '../lib/exit.js';
import {
  backupFolderOf,
  clusterNameSetting,
  discover,
  exportDirNamespace,
  exportTuningSettings,
  findLatestSucceededBackup,
  isClusterScopedPath,
  liveObjects,
  maskSecretValues,
  pathOfFromDiscovery,
  readBackupObjects,
  readManifest,
  reportDiscovery,
} from '../lib/export/index.js';
import { keyFrom } from '../lib/crypto/index.js';
import { decideSecrets, exportSecretsSetting } from '../lib/export/secrets-policy.js';
import { formatDiff } from '../lib/export/diff-report.js';
import { clusterNameOf, connectOrConfigError, kubeSettings, namespaceSetting } from '../lib/kube/index.js';
import { diffObjects, readExportDir, type KubeObject } from '../lib/resources/index.js';
import { s3Settings, storeFrom } from '../lib/s3/index.js';

const schema = {
  from: str({
    env: 'NSBACKUP_DIFF_FROM',
    flag: '--from',
    required: true,
    description:
      'What to compare the live namespace with: a backup id in S3, "latest" (the newest backup whose run ' +
      'succeeded), or an export folder.',
  }),
  ...namespaceSetting({
    defaultText: "an export folder's namespace, else the kubeconfig context's",
    description: 'Namespace to compare (and whose backups --from names).',
  }),
  format: oneOf(['text', 'unified', 'json'] as const, {
    env: 'NSBACKUP_DIFF_FORMAT',
    flag: '--format',
    default: 'text',
    description:
      'text: changed fields per object; unified: unified diffs of the canonical YAML; json: the whole result. ' +
      'Secret values are shown as fingerprints (sha256:...), never in clear.',
  }),
  ...clusterNameSetting,
  ...exportTuningSettings,
  ...exportSecretsSetting,
  ...encryptionSettings,
  ...s3Settings,
  ...kubeSettings,
};

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export const command = defineCommand({
  name: 'diff',
  summary: 'Show what differs between a backup (S3 or export folder) and the live namespace',
  usage: 'nsbackup diff --from <backup id|latest|DIR> [-n NAMESPACE] [--format text|unified|json]',
  schema,
  aliases: { '-n': '--namespace' },
  quiet: true,
  async run({ config, log, env, signal, out }) {
    const kube = connectOrConfigError(config, env);
    const fromDir = config.from.includes('/') || (await isDirectory(config.from));
    // An export folder knows its namespace; -n still wins.
    const namespace =
      config.namespace ||
      (fromDir ? await exportDirNamespace(config.from) : undefined) ||
      kube.defaultNamespace;
    let backup: KubeObject[];
    let source: string;
    // Secrets the backup left out on purpose are left out of the live side too, or every one shows as added.
    let secretsLeftOut: boolean;
    // A backup id never contains "/": anything that does, or names an existing folder, is a folder.
    if (fromDir) {
      if (!(await isDirectory(config.from))) throw new ConfigError([`--from: no folder ${config.from}`]);
      backup = await readExportDir(config.from);
      source = config.from;
      // As export --dir decided with the same setting.
      secretsLeftOut =
        decideSecrets(config.exportSecrets === 'mask' ? 'include' : config.exportSecrets, {
          encrypted: false,
          folder: true,
          exclude: config.exportExclude,
        }).write === 'left-out';
    } else {
      const store = storeFrom(config, env, log);
      if (!store) {
        throw new ConfigError([`--from ${config.from}: not a folder, and NSBACKUP_S3_BUCKET is not set`]);
      }
      const cluster = clusterNameOf(config.clusterName, kube);
      const backupId =
        config.from === 'latest'
          ? (await findLatestSucceededBackup(store, cluster, namespace)).backupId
          : config.from;
      const folderKey = backupFolderOf(store, cluster, namespace, backupId);
      const manifest = await readManifest(store, folderKey);
      const key = manifest.encryption ? keyFrom(config, namespace, log) : undefined;
      backup = [];
      for await (const obj of readBackupObjects(store, folderKey, manifest, key)) backup.push(obj);
      source = store.url(folderKey);
      secretsLeftOut = manifest.notExported?.some((n) => n.what === 'secrets') ?? false;
    }

    const resources = reportDiscovery(await discover(kube), log);
    const pathOf = pathOfFromDiscovery(resources);
    const live = await liveObjects({
      kube,
      namespace,
      resources,
      concurrency: config.exportConcurrency,
      clusterDependencies: config.exportClusterDependencies,
      exclude: secretsLeftOut ? [...config.exportExclude, 'secrets'] : config.exportExclude,
      clusterPaths: backup.map(pathOf).filter(isClusterScopedPath),
      signal,
    });
    const result = diffObjects(
      backup.map(maskSecretValues),
      live.map((item) => maskSecretValues(item.object)),
      { pathOf },
    );
    out(formatDiff(result, config.format));
    return {
      exitCode: result.identical ? ExitCode.ok : ExitCode.failed,
      summary: { namespace, from: source, differences: result.differences.length, equal: result.unchanged },
    };
  },
});

runIfMain(command, import.meta.url);
