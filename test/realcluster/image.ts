// What the chart's image runs, for the test node: nsbackup bundled into one file (as `npm run build` and the
// Dockerfile make dist/), with package.json beside it for the version, in a folder any user may read, because
// the chart's pods run as uid 1000 and the checkout may sit in a folder only root can enter. Not under /tmp:
// the chart mounts an emptyDir there, which hides the host's /tmp from the container.
import { chmodSync, copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The chart's image repository: a container of it runs the returned argv (its ENTRYPOINT) with the pod's args. */
export const NSBACKUP_IMAGE = 'ghcr.io/nsbackup/nsbackup';

export interface NsbackupImage {
  entrypoint: string[];
  dir: string;
}

export async function buildNsbackupImage(): Promise<NsbackupImage> {
  const dir = mkdtempSync('/var/tmp/nsbackup-image-');
  // One output file per script, as tsc's dist/ has: each entrypoint runs only when it is the main module.
  await build({
    entryPoints: readdirSync(join(REPO, 'scripts'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(REPO, 'scripts', f)),
    outdir: join(dir, 'dist'),
    outbase: REPO,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    // CommonJS dependencies call require() for Node's own modules.
    banner: {
      js: "import { createRequire as __nsbackupRequire } from 'node:module'; const require = __nsbackupRequire(import.meta.url);",
    },
  });
  copyFileSync(join(REPO, 'package.json'), join(dir, 'package.json'));
  for (const path of [dir, join(dir, 'dist'), join(dir, 'dist', 'scripts')]) chmodSync(path, 0o755);
  return { entrypoint: [process.execPath, join(dir, 'dist', 'scripts', 'nsbackup.js')], dir };
}
