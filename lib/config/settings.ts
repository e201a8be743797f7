// Declared settings: one schema per entrypoint drives parsing, `--help` and the README's configuration table,
// so the three never drift. Every setting comes from an environment variable; some also from a command-line flag.

import { readFileSync } from 'node:fs';
import { Duration, IANAZone } from '../luxon.js';
import YAML from 'yaml';

export interface Setting<T> {
  /** Environment variable, e.g. NSBACKUP_PVC. */
  env: string;
  /** Optional command-line flag that overrides the variable, e.g. --backup. */
  flag?: string;
  /** Human-readable type and accepted form, shown in errors, --help and the README. */
  form: string;
  description: string;
  /** Shown in --help and the README; `undefined` means required or empty. */
  defaultText?: string;
  required: boolean;
  /** Values that must never reach a log line or error message. */
  secret: boolean;
  /** For a secret: the strings to mask in logs (the value, and forms it may travel in). Default: the value. */
  secretParts?(value: T): string[];
  /** Parses a raw value; throws an Error whose message says what is wrong (not the value, if secret). */
  parse(raw: string): T;
  /**
   * Values this setting refuses, for the generated test that walks every setting of every command (test/config):
   * a new setting cannot skip validation without that test noticing.
   */
  invalidExamples: string[];
  /** Value when the variable is unset or empty; computed defaults may read the same environment. */
  fallback(env?: NodeJS.ProcessEnv): T;
}

export type Schema = Record<string, Setting<any>>;
export type ConfigOf<S extends Schema> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

interface Common<T> {
  env: string;
  flag?: string;
  description: string;
  /** A value, or a function computing it when the setting is unset (e.g. from the environment being loaded). */
  default?: T | ((env: NodeJS.ProcessEnv) => T);
  /** How to show the default in docs, when it is computed. */
  defaultText?: string;
}

/** Longest value of a setting that is not a secret: a 100,000-character class name is a mistake, not a name. */
export const MAX_VALUE_LENGTH = 4096;
/** Control characters: a newline splits a list in a shell or a file, a NUL truncates an argument. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
/** The same without tab, newline and carriage return, which separate the items of a whitespace list. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_BUT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Node's timers hold at most 2^31-1 ms (24.8 days) and fire at once above it: every duration stays below.
 * 24 days, a round number a person can read.
 */
export const MAX_DURATION_MS = 24 * 86_400_000;

function setting<T>(
  opts: Common<T> & { required?: boolean; secret?: boolean },
  form: string,
  parse: (raw: string) => T,
  empty: T,
  show: (v: T) => string = String,
  invalid: string[] = [],
  /** Control characters this setting accepts (whitespace-separated lists take tabs and newlines). */
  control: RegExp = CONTROL,
  maxValueLength: number = MAX_VALUE_LENGTH,
): Setting<T> {
  const def = opts.default;
  const required = opts.required ?? false;
  const secretSetting = opts.secret ?? false;
  return {
    env: opts.env,
    flag: opts.flag,
    form,
    description: opts.description,
    defaultText:
      opts.defaultText ?? (def === undefined || typeof def === 'function' ? undefined : show(def as T)),
    required,
    secret: secretSetting,
    parse: (raw) => {
      // Every value, whatever it is for and whether the current mode reads it: checked before anything runs.
      if (!secretSetting && raw.length > maxValueLength)
        throw new Error(`is ${raw.length} characters long; at most ${maxValueLength}`);
      if (!secretSetting && control.test(raw))
        throw new Error('must not contain control characters (a newline, a tab)');
      return parse(raw);
    },
    invalidExamples: secretSetting ? invalid : ['x'.repeat(100_000), 'a\nb', ...invalid],
    fallback: (env = process.env) => {
      if (required) throw new Error('is required');
      if (def === undefined) return empty;
      return typeof def === 'function' ? (def as (env: NodeJS.ProcessEnv) => T)(env) : def;
    },
  };
}

export function str(
  opts: Common<string> & {
    required?: boolean;
    pattern?: RegExp;
    patternText?: string;
    /** Longest accepted value (Kubernetes names: 63 or 253). */
    maxLength?: number;
    /** Values the pattern refuses, for the generated test. */
    invalid?: string[];
  },
): Setting<string> {
  const form = opts.patternText ?? 'string';
  return setting(
    opts,
    form,
    (raw) => {
      if (opts.pattern && !opts.pattern.test(raw)) throw new Error(`must be ${form}`);
      if (opts.maxLength !== undefined && raw.length > opts.maxLength)
        throw new Error(`must be ${form} of at most ${opts.maxLength} characters`);
      return raw;
    },
    '',
    String,
    [...(opts.invalid ?? []), ...(opts.maxLength !== undefined ? ['a'.repeat(opts.maxLength + 1)] : [])],
  );
}

/** Largest PEM text accepted: a bundle of a few dozen CA certificates. */
const MAX_PEM_LENGTH = 256 * 1024;

/** PEM text (CA certificates): several lines, so newlines are accepted, and it must hold a certificate. */
export function pem(opts: Common<string> & { required?: boolean }): Setting<string> {
  const form = 'PEM text with at least one certificate';
  return setting(
    opts,
    form,
    (raw) => {
      if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(raw))
        throw new Error(`must be ${form}`);
      return raw;
    },
    '',
    () => '(PEM)',
    ['not a certificate', 'x'.repeat(MAX_PEM_LENGTH + 1)],
    CONTROL_BUT_WHITESPACE,
    MAX_PEM_LENGTH,
  );
}

/** A DNS-1123 label (namespaces, containers, label values such as a PVC name): at most 63 characters. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain (most object names): at most 253 characters. */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name: a DNS-1123 label (63) or subdomain (253), by what the API server demands of it. */
export function k8sName(
  rule: 'label' | 'subdomain',
  opts: Common<string> & { required?: boolean; patternText: string },
): Setting<string> {
  return str({
    ...opts,
    pattern: rule === 'label' ? DNS_LABEL : DNS_SUBDOMAIN,
    maxLength: rule === 'label' ? 63 : 253,
    invalid: ['Upper_Case', '-leading-dash', 'a..b'],
  });
}

/** A secret string: never printed, never in an error message. `validate` throws without quoting the value. */
export function secret(
  opts: Common<string> & { required?: boolean; validate?: (raw: string) => void; invalid?: string[] },
): Setting<string> {
  return setting(
    { ...opts, secret: true },
    'secret string',
    (raw) => {
      opts.validate?.(raw);
      return raw;
    },
    '',
    () => '(secret)',
    opts.invalid,
  );
}

export function int(
  opts: Common<number> & { required?: boolean; min?: number; max?: number },
): Setting<number> {
  // Beyond 2^53 a number is no longer the integer written: every count has an upper bound.
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const range = `an integer${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` and <= ${opts.max}` : ''}`;
  return setting(
    opts,
    range,
    (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be ${range}`);
      const n = Number(raw.trim());
      if (opts.min !== undefined && n < opts.min) throw new Error(`must be ${range}`);
      if (n > max) throw new Error(`must be ${range}${opts.max === undefined ? ` and <= ${max}` : ''}`);
      return n;
    },
    0,
    String,
    ['twelve', '1.5', '99999999999999999999', ...(opts.min !== undefined ? [String(opts.min - 1)] : [])],
  );
}

export function num(
  opts: Common<number> & { required?: boolean; min?: number; max?: number },
): Setting<number> {
  const range = `a number${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` and <= ${opts.max}` : ''}`;
  return setting(
    opts,
    range,
    (raw) => {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`must be ${range}`);
      if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
        throw new Error(`must be ${range}`);
      }
      return n;
    },
    0,
    String,
    ['half', ...(opts.max !== undefined ? [String(opts.max + 1)] : [])],
  );
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

export function bool(opts: Common<boolean>): Setting<boolean> {
  return setting(
    opts,
    'true or false',
    (raw) => {
      const v = raw.trim().toLowerCase();
      if (TRUE.includes(v)) return true;
      if (FALSE.includes(v)) return false;
      throw new Error('must be true or false (also accepted: 1/0, yes/no, on/off)');
    },
    false,
    String,
    ['maybe'],
  );
}

export function oneOf<V extends string>(
  values: readonly V[],
  opts: Common<V> & { required?: boolean },
): Setting<V> {
  const form = `one of: ${values.join(', ')}`;
  return setting(
    opts,
    form,
    (raw) => {
      const v = raw.trim() as V;
      if (!values.includes(v)) throw new Error(`must be ${form}`);
      return v;
    },
    values[0],
    String,
    ['none-of-these'],
  );
}

/** A comma- (or whitespace-) separated list of items, each validated. */
export function list(
  opts: Common<string[]> & {
    required?: boolean;
    item?: RegExp;
    itemText?: string;
    separator?: 'comma' | 'whitespace';
    /** Longest item (a PVC name is a label value: 63). */
    itemMaxLength?: number;
    invalid?: string[];
  },
): Setting<string[]> {
  const sep = opts.separator ?? 'comma';
  const form = `${sep === 'comma' ? 'comma' : 'space'}-separated list${opts.itemText ? ` of ${opts.itemText}` : ''}`;
  return setting(
    opts,
    form,
    (raw) => {
      const items = raw
        .split(sep === 'comma' ? ',' : /\s+/)
        .map((s) => s.trim())
        .filter(Boolean);
      for (const item of items) {
        if (
          (opts.item && !opts.item.test(item)) ||
          (opts.itemMaxLength !== undefined && item.length > opts.itemMaxLength)
        ) {
          throw new Error(
            `item "${item.slice(0, 80)}" is not ${opts.itemText ?? 'valid'}; expected a ${form}`,
          );
        }
      }
      return items;
    },
    [],
    (v) => v.join(sep === 'comma' ? ',' : ' '),
    opts.invalid ?? [],
    // Spaces, tabs and newlines separate a whitespace list; other control characters never belong in one.
    sep === 'whitespace' ? CONTROL_BUT_WHITESPACE : CONTROL,
  );
}

/**
 * A command as its argv: a JSON array of strings, e.g. `["redis-cli", "--rdb", "-"]`, as a Pod's `command` and what
 * the chart renders with toJson. Not shell words: each element is one argument, so nothing is ever split, quoted or
 * expanded on the way. The program (first element) is a name or path, not an option.
 */
export function argv(opts: Common<string[]> & { required?: boolean }): Setting<string[]> {
  const form = 'a JSON array of strings, the program first, such as ["redis-cli","--rdb","-"]';
  return setting(
    opts,
    form,
    (raw) => {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        throw new Error(`must be ${form} (not JSON)`);
      }
      if (!Array.isArray(value) || !value.length || !value.every((v) => typeof v === 'string')) {
        throw new Error(`must be ${form}`);
      }
      const items = value as string[];
      if (!items[0] || items[0].startsWith('-')) {
        throw new Error('must start with the program (a name or a path), not an empty string or an option');
      }
      // JSON escapes (\n, \u0000) can carry what the raw value may not: a NUL would cut an argument short.
      if (items.some((item) => CONTROL.test(item))) {
        throw new Error('must not contain control characters (a newline, a tab) in its arguments');
      }
      return items;
    },
    [],
    (v) => JSON.stringify(v),
    ['redis-cli --rdb -', '[]', '["--rdb","-"]', '[""]', '["redis-cli",1]', '{"cmd":"x"}', '["a\\u0000b"]'],
  );
}

/** A duration: `90s`, `15m`, `1h`, `1h30m`, `2d`, or ISO 8601 (`PT15M`). Parsed to milliseconds. */
export function duration(
  opts: Common<number> & { required?: boolean; min?: number; max?: number },
): Setting<number> {
  const form = 'a duration such as 90s, 15m, 1h30m, 2d or ISO 8601 PT15M';
  const max = Math.min(opts.max ?? MAX_DURATION_MS, MAX_DURATION_MS);
  return setting(
    opts,
    form,
    (raw) => {
      const ms = parseDurationMs(raw.trim());
      if (ms === undefined || !Number.isFinite(ms)) throw new Error(`must be ${form}`);
      if (opts.min !== undefined && ms < opts.min) throw new Error(`must be at least ${formatMs(opts.min)}`);
      if (ms > max) throw new Error(`must be at most ${formatMs(max)}`);
      return ms;
    },
    0,
    formatMs,
    ['forever', '30d', ...(opts.min !== undefined && opts.min >= 1000 ? ['0s'] : [])],
  );
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDurationMs(raw: string): number | undefined {
  if (/^P/i.test(raw)) {
    const d = Duration.fromISO(raw.toUpperCase());
    return d.isValid ? d.toMillis() : undefined;
  }
  const parts = raw.match(/^(\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/)
    ? raw.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g)
    : null;
  if (!parts) return /^\d+$/.test(raw) ? Number(raw) * 1000 : undefined; // bare number: seconds
  return parts.reduce((sum, p) => {
    const [, n, unit] = p.match(/^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/)!;
    return sum + Number(n) * UNIT_MS[unit];
  }, 0);
}

export function formatMs(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * An http(s) URL. `secret: true` for URLs that carry credentials (user:password@, a token in the path or query, as
 * dead-man's-switch pings do): a bad value is then not echoed, and the URL and its parts are masked in logs.
 */
export function url(opts: Common<string> & { required?: boolean; secret?: boolean }): Setting<string> {
  const s = setting(
    opts,
    'an http(s) URL',
    (raw) => {
      let u: URL;
      try {
        u = new URL(raw.trim());
      } catch {
        throw new Error('must be an http(s) URL');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('must be an http(s) URL');
      return raw.trim();
    },
    '',
    // URLs may carry tokens in their query (dead-man's-switch pings): show only the origin.
    (v) => (v ? new URL(v).origin : ''),
    ['ftp://example.org/', 'not a url'],
  );
  return opts.secret ? { ...s, secretParts: urlSecretParts } : s;
}

/** A URL as written and as parsed, its password (raw and decoded), and its path and query (where tokens go). */
export function urlSecretParts(value: string): string[] {
  if (!value) return [];
  const parts = [value];
  try {
    const u = new URL(value);
    parts.push(u.href);
    if (u.password) parts.push(u.password, decodeURIComponent(u.password), `${u.username}:${u.password}`);
    if (u.pathname.length > 1 || u.search) parts.push(u.pathname + u.search);
    if (u.search.length > 1) parts.push(u.search.slice(1));
  } catch {
    // Not a URL: the value alone.
  }
  return parts;
}

/**
 * The process's own time zone, the default of the TZ settings: Temporal's answer costs 0.4 ms where
 * Intl.DateTimeFormat's costs 15 ms of ICU set-up, which a command that never formats a date in it (list -o json,
 * an empty list) need not pay. Both read the host's zone the same way; Intl where Temporal is missing.
 */
export function processTimeZone(): string {
  const temporal = (globalThis as { Temporal?: { Now?: { timeZoneId?: () => string } } }).Temporal;
  return temporal?.Now?.timeZoneId?.() || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * The standard TZ variable as an IANA zone name. The C library's `:Europe/Berlin` form is accepted; an unknown zone is
 * refused here, because label dates computed in a zone luxon does not know would silently be wrong.
 */
export function timeZone(opts: Common<string> & { required?: boolean }): Setting<string> {
  const form = 'an IANA time zone such as Europe/Berlin or UTC';
  return setting(
    opts,
    form,
    (raw) => {
      const zone = raw.trim().replace(/^:/, '');
      if (!IANAZone.isValidZone(zone)) throw new Error(`must be ${form}`);
      return zone;
    },
    'UTC',
    String,
    ['Mars/Olympus'],
  );
}

/** A path to a YAML file, read and validated when the configuration is loaded. */
export function yamlFile<T>(
  opts: Common<T | undefined> & { required?: boolean; validate: (doc: unknown) => T; contentText: string },
): Setting<T | undefined> {
  return setting<T | undefined>(
    opts,
    `path to a YAML file with ${opts.contentText}`,
    (raw) => {
      let text: string;
      try {
        text = readFileSync(raw.trim(), 'utf8');
      } catch (e) {
        throw new Error(`cannot read file ${raw.trim()}: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
      let doc: unknown;
      try {
        doc = YAML.parse(text);
      } catch (e) {
        throw new Error(`file ${raw.trim()} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
      }
      try {
        return opts.validate(doc);
      } catch (e) {
        throw new Error(`file ${raw.trim()}: ${(e as Error).message}`);
      }
    },
    undefined,
    () => '',
    ['/nonexistent/nsbackup.yaml', '/'],
  );
}
