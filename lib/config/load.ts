// Turns environment variables and command-line flags into a typed configuration, or one ConfigError that
// lists every problem (variable, what is wrong, the accepted form). Nothing has been touched at that point.

import type { ConfigOf, Schema, Setting } from './settings.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface ParsedArgs {
  /** Flag name (with dashes) to its raw values, in order. */
  flags: Map<string, string[]>;
  positional: string[];
  help: boolean;
  /** `--help-all`: every setting, not only those with a flag. */
  helpAll: boolean;
}

/** Parses `--flag value`, `--flag=value`, `-n value` (alias) and bare boolean flags. */
export function parseArgs(argv: string[], schema: Schema, aliases: Record<string, string> = {}): ParsedArgs {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  const byFlag = new Map<string, Setting<any>>();
  for (const s of Object.values(schema)) if (s.flag) byFlag.set(s.flag, s);
  let help = false;
  let helpAll = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--help-all') {
      helpAll = true;
      continue;
    }
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const name = aliases[arg] ?? arg;
    const setting = byFlag.get(name);
    if (!setting) throw new ConfigError([`unknown option ${arg} (see --help)`]);
    if (value === undefined) {
      const isBool = setting.form === 'true or false';
      const next = argv[i + 1];
      if (
        isBool &&
        (next === undefined || next.startsWith('-') || !/^(true|false|1|0|yes|no|on|off)$/i.test(next))
      ) {
        value = 'true';
      } else {
        if (next === undefined) throw new ConfigError([`option ${arg} needs a value (${setting.form})`]);
        value = next;
        i++;
      }
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, positional, help, helpAll };
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  args?: ParsedArgs;
  /** Setting keys filled, in order, from positional arguments. */
  positional?: string[];
}

export function loadConfig<S extends Schema>(schema: S, options: LoadOptions = {}): ConfigOf<S> {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const positional = [...(options.args?.positional ?? [])];
  const positionalKeys = options.positional ?? [];
  if (positional.length > positionalKeys.length) {
    problems.push(
      `unexpected argument${positional.length - positionalKeys.length > 1 ? 's' : ''}: ${positional.slice(positionalKeys.length).join(' ')}`,
    );
  }
  for (const [key, setting] of Object.entries(schema)) {
    const posIndex = positionalKeys.indexOf(key);
    const fromFlag = setting.flag ? options.args?.flags.get(setting.flag) : undefined;
    let raw: string | undefined;
    let source = setting.env;
    if (posIndex >= 0 && positional[posIndex] !== undefined) {
      raw = positional[posIndex];
      source = `argument <${key}>`;
    } else if (fromFlag && fromFlag.length) {
      raw = fromFlag.join(',');
      source = `${setting.flag} (${setting.env})`;
    } else {
      raw = env[setting.env];
    }
    try {
      out[key] = raw === undefined || raw.trim() === '' ? setting.fallback(env) : setting.parse(raw);
    } catch (e) {
      const what = setting.secret ? '' : raw && raw.trim() !== '' ? ` (got "${truncate(raw)}")` : '';
      const form = (e as Error).message === 'is required' ? `; expected ${setting.form}` : '';
      problems.push(`${source}${what} ${(e as Error).message}${form}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The values of every secret setting, so the logger can redact them. */
export function secretValues<S extends Schema>(schema: S, config: ConfigOf<S>): string[] {
  return Object.entries(schema)
    .filter(([, s]) => s.secret)
    .flatMap(([k, s]) => {
      const v = (config as Record<string, unknown>)[k];
      return s.secretParts ? s.secretParts(v) : [v];
    })
    .filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/** What to mask of a configuration that did not load: the raw secret variables (and their parts). */
export function rawSecretValues(schema: Schema, env: NodeJS.ProcessEnv): string[] {
  return Object.values(schema)
    .filter((s) => s.secret && env[s.env])
    .flatMap((s) => (s.secretParts ? s.secretParts(env[s.env]!) : [env[s.env]!]));
}
