import { readFileSync } from 'node:fs';

/** Set by the single-file executable's build (tools/package.ts), which has no package.json beside it. */
declare const __NSBACKUP_VERSION__: string | undefined;

/** nsbackup's version, from package.json (recorded on every snapshot and in every manifest). */
export const VERSION: string = (() => {
  if (typeof __NSBACKUP_VERSION__ === 'string') return __NSBACKUP_VERSION__;
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version as string;
    } catch {
      // compiled (dist/lib) and source (lib) sit at different depths
    }
  }
  return 'unknown';
})();
