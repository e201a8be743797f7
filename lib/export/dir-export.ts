// `nsbackup export --dir DIR`: the namespace as canonical YAML files (D's export layout), for review or Git.
// The folder mirrors the namespace: files of objects deleted since the last export are removed. Because that
// deletes files, the folder must be empty or one this command wrote for the same namespace (a marker file
// says so); anything else is refused rather than pruned.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import { writeExportDir, type ExportDirResult } from '../resources/index.js';
import { collectNamespace, warnSkipped, type CollectStats } from './collect.js';
import { discover, type Discovery } from './discovery.js';
import { maskSecretValues } from './live.js';

export const EXPORT_MARKER = '.nsbackup-export';

/** The marker's content: constant for a namespace, so that a second export changes no file. */
export function markerText(namespace: string): string {
  return `# Written by nsbackup export; YAML files here that the next export does not write are removed.\nnamespace: ${namespace}\n`;
}

/** The namespace an export folder holds, from its marker; undefined for any other folder. */
export async function exportDirNamespace(dir: string): Promise<string | undefined> {
  try {
    return /^namespace: (.*)$/m.exec(await readFile(join(dir, EXPORT_MARKER), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Throws unless DIR is missing, empty (dot-entries such as .git aside), or an export of `namespace`. */
export async function assertExportDirUsable(dir: string, namespace: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (entries.includes(EXPORT_MARKER)) {
    const text = await readFile(join(dir, EXPORT_MARKER), 'utf8');
    const found = /^namespace: (.*)$/m.exec(text)?.[1];
    if (found !== namespace) {
      throw new Error(
        `${dir} holds the export of namespace "${found}", not "${namespace}"; choose another folder`,
      );
    }
    return;
  }
  if (entries.some((entry) => !entry.startsWith('.'))) {
    throw new Error(
      `${dir} is not empty and was not written by nsbackup export (no ${EXPORT_MARKER}); ` +
        'choose an empty folder, since an export removes YAML files of objects that no longer exist',
    );
  }
}

export interface ExportToDirInput {
  kube: KubeClient;
  namespace: string;
  dir: string;
  log: Logger;
  signal?: AbortSignal;
  concurrency?: number;
  clusterDependencies?: boolean;
  /** Resource types left out on purpose (`plural` or `plural.group`). */
  exclude?: string[];
  /** Discovery already read (else it is read here). */
  discovery?: Discovery;
  /** `mask`: Secret values written as fingerprints (for a Git repository); default `include`. */
  secrets?: 'include' | 'mask';
}

export interface ExportToDirResult extends ExportDirResult {
  stats: CollectStats;
}

export async function exportNamespaceToDir(input: ExportToDirInput): Promise<ExportToDirResult> {
  const { kube, namespace, dir, log } = input;
  await assertExportDirUsable(dir, namespace);
  const discovery = input.discovery ?? (await discover(kube));
  const { objects, stats } = collectNamespace({
    kube,
    namespace,
    resources: discovery.resources,
    discoveryGaps: discovery.unavailable,
    concurrency: input.concurrency,
    clusterDependencies: input.clusterDependencies,
    exclude: input.exclude,
    signal: input.signal,
  });
  const progress = log.progress('export', { unit: 'objects' });
  async function* counted() {
    for await (const item of objects) {
      progress.add(1);
      yield input.secrets === 'mask' ? { path: item.path, object: maskSecretValues(item.object) } : item;
    }
  }
  try {
    const result = await writeExportDir(dir, counted(), { prune: true });
    await writeFile(join(dir, EXPORT_MARKER), markerText(namespace));
    warnSkipped(stats, log);
    return { ...result, stats };
  } finally {
    progress.done();
  }
}
