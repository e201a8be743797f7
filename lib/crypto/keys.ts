// Which encryption key a namespace's backup uses. A key comes from NSBACKUP_ENCRYPTION_KEY (one key for every
// namespace) or from the file NSBACKUP_ENCRYPTION_KEY_FILE (a Secret mounted as a file), which holds either one
// key or a YAML map of namespace -> key, with `"*"` as the key of every namespace not listed:
//
//   shop: 3q2+7w...=            # base64 or 64 hex characters, 32 bytes
//   billing: 00112233...eeff
//   "*": Zm9vYmFy...=
//
// Configured but no key for this namespace is an error: a backup that the operator meant to encrypt is never
// written in the clear by accident.

import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ConfigError, secret, str } from '../config/index.js';
import type { Logger } from '../log.js';
import { parseEncryptionKey, type EncryptionKey } from './encryption.js';

/** Client-side encryption of stored files (AES-256-GCM). */
export const encryptionSettings = {
  encryptionKey: secret({
    env: 'NSBACKUP_ENCRYPTION_KEY',
    // Checked at load, like every other value: a bad key is refused naming the variable, before anything runs.
    validate: (raw) => void parseEncryptionKey(raw.trim()),
    invalid: ['not-a-key', 'ab'.repeat(16)],
    description:
      'Encryption key for S3 files: 32 bytes as base64 or 64 hex characters. Empty: not encrypted.',
  }),
  encryptionKeyFile: str({
    env: 'NSBACKUP_ENCRYPTION_KEY_FILE',
    description:
      'File holding the encryption key (e.g. a mounted Secret), or a YAML map of namespace to key with "*" ' +
      'for every other namespace. Exclusive with NSBACKUP_ENCRYPTION_KEY.',
  }),
};

export interface KeySource {
  /** NSBACKUP_ENCRYPTION_KEY: one key, base64 or hex. */
  key?: string;
  /** NSBACKUP_ENCRYPTION_KEY_FILE: one key, or a YAML map namespace -> key. */
  keyFile?: string;
}

export const ANY_NAMESPACE = '*';

/** Parses the text of a key file: one key, or a map of namespace -> key. */
export function parseKeyFile(text: string | Buffer): EncryptionKey | Map<string, EncryptionKey> {
  // A file of exactly 32 bytes is a raw key (a Secret created from random bytes).
  if (Buffer.isBuffer(text) && text.length === 32) return parseEncryptionKey(text);
  const content = Buffer.isBuffer(text) ? text.toString('utf8') : text;
  let doc: unknown;
  try {
    doc = YAML.parse(content);
  } catch {
    doc = undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return parseEncryptionKey(content);
  const keys = new Map<string, EncryptionKey>();
  for (const [namespace, value] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof value !== 'string')
      throw new Error(`encryption key file: the key of "${namespace}" is not text`);
    try {
      keys.set(namespace, parseEncryptionKey(value));
    } catch (error) {
      throw new Error(`encryption key file, "${namespace}": ${(error as Error).message}`);
    }
  }
  if (keys.size === 0) throw new Error('encryption key file: no keys');
  return keys;
}

/**
 * The key for `namespace`, or undefined when no encryption is configured. `onSecret` receives every key text
 * read, so the caller can register it with the log redactor.
 */
export function encryptionKeyFor(
  source: KeySource,
  namespace: string,
  options: { onSecret?: (text: string) => void; readFile?: (path: string) => Buffer } = {},
): EncryptionKey | undefined {
  if (source.key && source.keyFile) {
    throw new Error('set NSBACKUP_ENCRYPTION_KEY or NSBACKUP_ENCRYPTION_KEY_FILE, not both');
  }
  if (source.key) return parseEncryptionKey(source.key);
  if (!source.keyFile) return undefined;
  let bytes: Buffer;
  try {
    bytes = (options.readFile ?? ((path) => readFileSync(path)))(source.keyFile);
  } catch (error) {
    throw new Error(
      `cannot read the encryption key file ${source.keyFile}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  const parsed = parseKeyFile(bytes);
  if (!(parsed instanceof Map)) {
    options.onSecret?.(bytes.toString('utf8').trim());
    return parsed;
  }
  const key = parsed.get(namespace) ?? parsed.get(ANY_NAMESPACE);
  if (!key) {
    throw new Error(
      `the encryption key file ${source.keyFile} has no key for namespace "${namespace}" and no "${ANY_NAMESPACE}" entry`,
    );
  }
  options.onSecret?.(key.bytes.toString('base64'));
  options.onSecret?.(key.bytes.toString('hex'));
  return key;
}

/** The namespace's key for a command's settings; a key problem is a configuration error (exit 2). */
export function keyFrom(
  config: { encryptionKey: string; encryptionKeyFile: string },
  namespace: string,
  log: Logger,
): EncryptionKey | undefined {
  try {
    return encryptionKeyFor({ key: config.encryptionKey, keyFile: config.encryptionKeyFile }, namespace, {
      onSecret: (text) => log.redactor.add(text),
    });
  } catch (error) {
    // Name the variable the key came from (the message never quotes the key).
    const source = config.encryptionKey ? 'NSBACKUP_ENCRYPTION_KEY' : 'NSBACKUP_ENCRYPTION_KEY_FILE';
    throw new ConfigError([`${source}: ${(error as Error).message}`]);
  }
}
