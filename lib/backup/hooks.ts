// Pre and post hooks: commands run in a container before and after the snapshots (e.g. a flush, a freeze).
// The file is validated when the configuration loads, so a typo fails the run before anything happens.

import { TARGET_PATTERN } from '../exec/target.js';

export interface Hook {
  /** For log lines; defaults to the command. */
  name: string;
  /** `deployment/NAME`, `statefulset/NAME` or `pod/NAME`; unset: the database target. */
  target?: string;
  /** Unset: the target's only container (or the database container for the database target). */
  container?: string;
  /** argv, executed as is (no shell unless the hook asks for one). */
  command: string[];
  onError: 'fail' | 'continue';
}

export interface HooksFile {
  pre: Hook[];
  post: Hook[];
}

/** Validates a parsed hooks YAML document; every problem names its place (`pre[0].command`). */
export function parseHooksFile(doc: unknown): HooksFile {
  if (doc === null || doc === undefined) return { pre: [], post: [] };
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new Error('must be a mapping with keys pre and post');
  const problems: string[] = [];
  const unknown = Object.keys(doc).filter((k) => k !== 'pre' && k !== 'post');
  if (unknown.length) problems.push(`unknown key(s) ${unknown.join(', ')} (allowed: pre, post)`);
  const phase = (key: 'pre' | 'post'): Hook[] => {
    const raw = (doc as Record<string, unknown>)[key];
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      problems.push(`${key} must be a list of hooks`);
      return [];
    }
    return raw.flatMap((item, i) => {
      const hook = parseHook(item, `${key}[${i}]`, problems);
      return hook ? [hook] : [];
    });
  };
  const result = { pre: phase('pre'), post: phase('post') };
  if (problems.length) throw new Error(problems.join('; '));
  return result;
}

function parseHook(item: unknown, where: string, problems: string[]): Hook | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    problems.push(`${where} must be a mapping`);
    return undefined;
  }
  const h = item as Record<string, unknown>;
  const allowed = ['name', 'target', 'container', 'command', 'onError'];
  const unknown = Object.keys(h).filter((k) => !allowed.includes(k));
  if (unknown.length)
    problems.push(`${where}: unknown key(s) ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  const command = h.command;
  if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === 'string')) {
    problems.push(`${where}.command must be a non-empty list of strings (argv)`);
  }
  if (h.target !== undefined && (typeof h.target !== 'string' || !TARGET_PATTERN.test(h.target))) {
    problems.push(`${where}.target must be deployment/NAME, statefulset/NAME or pod/NAME`);
  }
  if (h.container !== undefined && typeof h.container !== 'string')
    problems.push(`${where}.container must be a string`);
  if (h.name !== undefined && typeof h.name !== 'string') problems.push(`${where}.name must be a string`);
  const onError = h.onError ?? 'fail';
  if (onError !== 'fail' && onError !== 'continue')
    problems.push(`${where}.onError must be fail or continue`);
  if (!Array.isArray(command)) return undefined;
  return {
    name: typeof h.name === 'string' ? h.name : (command as string[]).join(' ').slice(0, 60),
    target: h.target as string | undefined,
    container: h.container as string | undefined,
    command: command as string[],
    onError: onError as Hook['onError'],
  };
}
