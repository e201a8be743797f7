// What the commands that read or write backups share beyond the foundation: the namespace's encryption key.
// (Connecting is lib/kube's connectOrConfigError, the store lib/s3's storeFrom.)
import type { Logger } from '../log.js';
import { ConfigError } from '../config/index.js';
import type { EncryptionKey } from '../resources/index.js';
import { encryptionKeyFor } from './keys.js';

/** The namespace's key (see keys.ts); a key problem is a configuration error (exit 2). */
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
