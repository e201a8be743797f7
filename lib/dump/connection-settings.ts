// Where the database listens, as seen from inside its container: the same two settings for backup (the dump) and
// restore-db (feeding it back), so a database that needs a host to be dumped is restored with the same settings.
import { int, str } from '../config/index.js';

export const dbConnectionSettings = {
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
};
