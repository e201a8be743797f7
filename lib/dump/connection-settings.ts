// How to reach the database from inside its container: user, host, port and password (a value the Job holds, or
// the name of the container's own variable). The same settings for backup (the dump) and restore-db (feeding it
// back), so a database that needs a host or a password to be dumped is restored with the same settings.
import { DNS_LABEL, int, secret, str } from '../config/index.js';
import { TARGET_PATTERN } from '../exec/target.js';

/**
 * NSBACKUP_DB_TARGET and NSBACKUP_DB_CONTAINER: the database's pod, named alike (and validated alike) by every
 * command that reaches it; each says what it does there.
 */
export function dbTargetSettings(opts: { required?: boolean; target: string; container: string }) {
  return {
    dbTarget: str({
      env: 'NSBACKUP_DB_TARGET',
      flag: '--db-target',
      required: opts.required,
      pattern: TARGET_PATTERN,
      patternText: 'deployment/NAME, statefulset/NAME or pod/NAME',
      description: opts.target,
    }),
    dbContainer: str({
      env: 'NSBACKUP_DB_CONTAINER',
      flag: '--db-container',
      pattern: DNS_LABEL,
      patternText: 'a container name',
      maxLength: 63,
      defaultText: "the pod's only container",
      description: opts.container,
    }),
  };
}

/** A dump command takes its user, host and port in its own argv: these settings would be silently ignored. */
export function commandConnectionProblems(
  config: { dbUser: string; dbHost: string; dbPort: number },
  kindSetting: string,
): string[] {
  const set = [
    ['NSBACKUP_DB_USER', config.dbUser],
    ['NSBACKUP_DB_HOST', config.dbHost],
    ['NSBACKUP_DB_PORT', config.dbPort],
  ] as const;
  return set
    .filter(([, value]) => value)
    .map(([variable]) => `${variable} does not apply to ${kindSetting}: put it in the command's arguments`);
}

export const dbConnectionSettings = {
  dbUser: str({
    env: 'NSBACKUP_DB_USER',
    defaultText: 'postgres for postgres, root for mysql',
    description: 'Database user.',
  }),
  dbHost: str({
    env: 'NSBACKUP_DB_HOST',
    pattern: /^[A-Za-z0-9.:_-]+$/,
    patternText: 'a host name or address',
    defaultText: "the container's local socket",
    description: 'Database host, as seen from inside the database container.',
  }),
  dbPort: int({
    env: 'NSBACKUP_DB_PORT',
    min: 1,
    max: 65535,
    defaultText: "the client's default",
    description: 'Database port, as seen from inside the database container.',
  }),
  dbPassword: secret({
    env: 'NSBACKUP_DB_PASSWORD',
    description: 'Database password; handed to the container over stdin, never on the command line.',
  }),
  dbPasswordEnv: str({
    env: 'NSBACKUP_DB_PASSWORD_ENV',
    pattern: /^[A-Za-z_][A-Za-z0-9_]*$/,
    patternText: 'an environment variable name',
    description:
      'Name of a variable in the database container that holds the password (e.g. POSTGRES_PASSWORD, ' +
      'MYSQL_ROOT_PASSWORD).',
  }),
  dbCommandPasswordEnv: str({
    env: 'NSBACKUP_DB_COMMAND_PASSWORD_ENV',
    pattern: /^[A-Za-z_][A-Za-z0-9_]*$/,
    patternText: 'an environment variable name',
    invalid: ['REDISCLI AUTH', '1PASS', 'A=B'],
    description:
      'For NSBACKUP_DB=command: the variable the dump and restore commands get the password in (e.g. ' +
      'REDISCLI_AUTH for redis-cli); set by the script in the container, never on the command line. Needed when ' +
      'NSBACKUP_DB_PASSWORD or NSBACKUP_DB_PASSWORD_ENV is set.',
  }),
};
