// Loading kubeconfig files. Their contents are secrets (tokens, client keys, passwords), and the YAML parser's
// message quotes the lines around a syntax error: an error from here names the file, and the line and column of a
// syntax error, and never passes on a parser's message.

import { delimiter } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster, Context, User } from '@kubernetes/client-node';

export class KubeconfigError extends Error {
  constructor(
    message: string,
    /** The file does not exist (a KUBECONFIG list skips such files). */
    readonly missing = false,
  ) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/** client-node's own checks of an entry ("users[0].name is missing"): field paths only, safe to show. */
const MISSING_FIELD = /^(clusters|users|contexts)\[\d+\](\.[A-Za-z-]+)* is missing$/;

/** Why a file could not be loaded, in words that never quote it. */
function describeLoadError(file: string, error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; mark?: { line?: unknown; column?: unknown } };
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return `cannot read ${file} (${e.code})`;
  if (e.name === 'YAMLException') {
    const { line, column } = e.mark ?? {};
    const where =
      typeof line === 'number' && typeof column === 'number'
        ? ` (line ${line + 1}, column ${column + 1})`
        : '';
    return `${file} is not valid YAML${where}`;
  }
  const message = error instanceof Error ? error.message : '';
  if (MISSING_FIELD.test(message)) return `${file}: ${message}`;
  return `${file} is not a valid kubeconfig`;
}

/** One kubeconfig file; relative certificate paths are resolved against its directory, as kubectl does. */
export function loadKubeconfigFile(file: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (error) {
    throw new KubeconfigError(
      describeLoadError(file, error),
      (error as { code?: unknown }).code === 'ENOENT',
    );
  }
  return kc;
}

/** The files of a KUBECONFIG value: separated by ':' (';' on Windows), empty entries ignored, as kubectl does. */
export function kubeconfigPathsOf(value: string): string[] {
  return value.split(delimiter).filter((p) => p.trim() !== '');
}

/**
 * Several kubeconfig files merged like kubectl: the first file that names a cluster, user or context wins that
 * entry, and the first file that sets current-context wins it. Missing files are skipped, as kubectl skips
 * them, unless none exists; a file that exists but does not load is an error.
 */
export function loadKubeconfigFiles(files: string[]): KubeConfig {
  const loaded: KubeConfig[] = [];
  for (const file of files) {
    try {
      loaded.push(loadKubeconfigFile(file));
    } catch (error) {
      if (files.length > 1 && error instanceof KubeconfigError && error.missing) continue;
      throw error;
    }
  }
  if (!loaded.length) throw new KubeconfigError(`none of the kubeconfig files exists: ${files.join(', ')}`);
  if (loaded.length === 1) return loaded[0];
  const firstWins = <T extends { name: string }>(lists: T[][]): T[] => {
    const byName = new Map<string, T>();
    for (const list of lists)
      for (const item of list) if (!byName.has(item.name)) byName.set(item.name, item);
    return [...byName.values()];
  };
  const merged = new KubeConfig();
  merged.loadFromOptions({
    clusters: firstWins<Cluster>(loaded.map((kc) => kc.getClusters())),
    users: firstWins<User>(loaded.map((kc) => kc.getUsers())),
    contexts: firstWins<Context>(loaded.map((kc) => kc.getContexts())),
    currentContext: loaded.map((kc) => kc.getCurrentContext()).find(Boolean) ?? '',
  });
  return merged;
}
