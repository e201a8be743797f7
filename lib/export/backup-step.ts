// The export step of `nsbackup backup` (the flow's ExportResources port): the namespace's resources to the
// backup's S3 folder, next to its dump. The key is resolved before the backup starts (a key problem is a
// configuration error, found before anything runs), so this step only exports.

import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { S3Store } from '../s3/index.js';
import type { EncryptionKey } from '../crypto/index.js';
import type { ManifestVolume, StoredDumpRecord } from '../resources/index.js';
import { backupFolderOf, exportNamespaceToS3 } from './s3-export.js';

export interface BackupExportOptions {
  kube: KubeClient;
  store: S3Store;
  cluster: string;
  log: Logger;
  encryptionKey?: EncryptionKey;
  concurrency?: number;
  clusterDependencies?: boolean;
  exclude?: string[];
}

/** The function the backup flow calls with `{ namespace, backupId, keyPrefix, signal }`; returns the `s3://` folder. */
export function backupExportStep(options: BackupExportOptions) {
  return async (input: {
    namespace: string;
    backupId: string;
    keyPrefix: string;
    dumps?: StoredDumpRecord[];
    volumes?: ManifestVolume[];
    signal?: AbortSignal;
  }): Promise<{ location: string; unreadable: string[] }> => {
    const folder = backupFolderOf(options.store, options.cluster, input.namespace, input.backupId);
    // The flow names the folder too (for the dump); both must be the same folder or a restore finds half.
    const flowFolder = `${options.store.key(input.keyPrefix).replace(/\/+$/, '')}/`;
    if (flowFolder !== folder) {
      throw new Error(`export folder ${folder} differs from the backup's folder ${flowFolder}`);
    }
    const result = await exportNamespaceToS3({
      kube: options.kube,
      store: options.store,
      namespace: input.namespace,
      cluster: options.cluster,
      backupId: input.backupId,
      encryptionKey: options.encryptionKey,
      concurrency: options.concurrency,
      clusterDependencies: options.clusterDependencies,
      exclude: options.exclude,
      dumps: input.dumps,
      volumes: input.volumes,
      log: options.log,
      signal: input.signal,
    });
    // Types the export could not read make the backup incomplete: say which, so the run can fail loudly.
    return {
      location: result.location,
      unreadable: result.stats.skipped.map((s) => `${s.what} (${s.reason})`),
    };
  };
}
