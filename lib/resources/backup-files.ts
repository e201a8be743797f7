// The names in a backup's S3 folder, shared by the archive writer, the manifest and every reader.

/**
 * A backup's folder in S3 is `<prefix>/<cluster>/<namespace>/<backup id>/` and holds:
 *
 * - `resources.ndjson.gz`: every exported object in canonical form, as JSON, one object per line,
 *   gzip-compressed (`resources.ndjson.gz.enc` when encrypted: gzip, then encrypted);
 * - `dump-<database>.sql.gz` (`.enc` when encrypted): database dumps, when the backup took them; a dump
 *   command's is `dump-<name>.dump.gz`;
 * - `manifest.json`, written LAST: what the backup holds and the size and SHA-256 of every other file as
 *   stored. A folder without a manifest is an unfinished backup: it is never `latest` and never restored.
 *
 * A restore reads the manifest, checks every file against it ({@link verifyManifest}) before it creates
 * anything, then reads the files. The manifest never contains a key, only its id.
 */
export const MANIFEST_FILE = 'manifest.json';
export const RESOURCES_FILE = 'resources.ndjson.gz';
export const ENCRYPTED_SUFFIX = '.enc';

/** `sql`: a PostgreSQL or MySQL dump; `raw`: a dump command's output, whatever its format (an RDB, an archive). */
export type DumpFormat = 'sql' | 'raw';

/** `dump-<database>.sql.gz` (a command's: `dump-<name>.dump.gz`), `.enc` appended when encrypted. */
export function dumpFileName(database: string, encrypted: boolean, format: DumpFormat = 'sql'): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(database))
    throw new Error(`database name "${database}" cannot be part of a file name`);
  return `dump-${database}.${format === 'sql' ? 'sql' : 'dump'}.gz${encrypted ? ENCRYPTED_SUFFIX : ''}`;
}

/** The PostgreSQL globals beside the dumps: no `dump-` prefix, so no database's file can have its name. */
export function globalsFileName(encrypted: boolean): string {
  return `globals.sql.gz${encrypted ? ENCRYPTED_SUFFIX : ''}`;
}

export function resourcesFileName(encrypted: boolean): string {
  return RESOURCES_FILE + (encrypted ? ENCRYPTED_SUFFIX : '');
}

/** The S3 key of the backup's folder, ending in `/`. Empty prefix parts are dropped. */
export function backupFolderKey(
  prefix: string,
  cluster: string,
  namespace: string,
  backupId: string,
): string {
  for (const [what, value] of Object.entries({ cluster, namespace, backupId })) {
    if (!value || value.includes('/')) throw new Error(`${what} "${value}" cannot be part of an S3 key`);
  }
  const parts = [...prefix.split('/').filter(Boolean), cluster, namespace, backupId];
  return `${parts.join('/')}/`;
}

/** How a stored file is encrypted, as the manifest and the archive summary record it (never the key). */
export interface ManifestEncryption {
  algorithm: string;
  keyId: string;
  segmentSize: number;
}
