import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { canonicalize, parseYamlDocuments, toYaml } from './canonical.js';
import { parseApiPath } from './resource-info.js';
import { assertKubeObject, type KubeObject, type PathedObject } from './types.js';

/**
 * The folder written by `nsbackup export --dir DIR`: one canonical YAML file per object, in a folder per
 * resource type, for review or Git.
 *
 * ```
 * DIR/configmaps/settings.yaml                  core group: the plural
 * DIR/apps.deployments/web.yaml                 other groups: <group>.<plural>
 * DIR/_cluster/storage.k8s.io.storageclasses/fast.yaml   cluster-scoped objects under _cluster/
 * ```
 *
 * Characters other than letters, digits, `.`, `_` and `-` in a name are written as `%XX` (RBAC names
 * may contain `:`). Reading a folder back takes every `*.yaml`/`*.yml` file below it, whatever its
 * place: the objects carry their own kind and namespace, the layout is only for people.
 */
export const CLUSTER_FOLDER = '_cluster';

function encodeName(name: string): string {
  return Array.from(Buffer.from(name, 'utf8'))
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9._-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** The file of an object, relative to the export folder, from its API path. */
export function exportFileOf(apiPath: string): string {
  const parts = parseApiPath(apiPath);
  const folder = parts.group ? `${parts.group}.${parts.resource}` : parts.resource;
  const file = `${encodeName(parts.name)}.yaml`;
  return parts.namespace === undefined ? join(CLUSTER_FOLDER, folder, file) : join(folder, file);
}

export interface ExportDirResult {
  /** Files written, relative to the folder. */
  written: string[];
  /** Files removed by `prune`, relative to the folder. */
  removed: string[];
}

async function listYamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && folder === dir) return;
      throw error;
    }
    for (const entry of entries) {
      const full = join(folder, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('.')) await walk(full);
      else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(full);
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * Writes each object to its file ({@link exportFileOf}). With `prune`, YAML files in the folder that
 * this export did not write are removed (objects deleted since the last export), so that the folder
 * mirrors the namespace; other files and dot-folders (`.git`) are left alone.
 */
export async function writeExportDir(
  dir: string,
  items: Iterable<PathedObject> | AsyncIterable<PathedObject>,
  options: { prune?: boolean; concurrency?: number } = {},
): Promise<ExportDirResult> {
  const written = new Set<string>();
  const concurrency = options.concurrency ?? 16;
  const inFlight = new Set<Promise<void>>();
  for await (const item of items) {
    const file = exportFileOf(item.path);
    if (written.has(file)) throw new Error(`export: two objects map to ${file} (${item.path})`);
    written.add(file);
    const task = (async () => {
      const full = join(dir, file);
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, toYaml(item.object));
    })();
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task)).catch(() => undefined);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const removed: string[] = [];
  if (options.prune) {
    for (const full of await listYamlFiles(dir)) {
      const file = relative(dir, full);
      if (!written.has(file)) {
        await rm(full);
        removed.push(file.split(sep).join('/'));
      }
    }
  }
  return { written: [...written].sort(), removed };
}

/**
 * Reads every object in an export folder (files sorted by path), in canonical form: a file edited by hand (or
 * saved from `kubectl get -o yaml`) may carry a resourceVersion, uid or status, which would make a create fail or
 * show up in a diff. Errors name the file.
 */
export async function readExportDir(dir: string): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const full of await listYamlFiles(dir)) {
    const file = relative(dir, full);
    const docs = parseYamlDocuments(await readFile(full, 'utf8'), file);
    docs.forEach((doc, index) => {
      assertKubeObject(doc, docs.length > 1 ? `${file} (document ${index + 1})` : file);
      objects.push(canonicalize(doc));
    });
  }
  return objects;
}
