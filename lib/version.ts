import { readFileSync } from 'node:fs';

/** nsbackup's version, from package.json (recorded on every snapshot and in every manifest). */
export const VERSION: string = (() => {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version as string;
    } catch {
      // compiled (dist/lib) and source (lib) sit at different depths
    }
  }
  return 'unknown';
})();
