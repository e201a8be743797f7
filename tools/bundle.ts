// What ships: nsbackup's entrypoints bundled by esbuild into dist/, one file per script plus shared chunks, with
// every dependency inside, so the image needs no node_modules. Bundling is the start-up fix: Node resolving and
// reading the ~1,500 small files of @kubernetes/client-node and the AWS SDK cost 0.5 s of every run (README,
// Development, has the figures). `npm run build` writes dist/; the Dockerfile, the test node's image and the
// benches call bundleNsbackup.

import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { startUpPlugins } from './start-up-plugins.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The Node line the image runs and the tests run on (package.json engines, Dockerfile, the `node` devDependency). */
export const NODE_TARGET = 'node26';

/** How every nsbackup bundle is built, the image's and the single executable's alike. */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: NODE_TARGET,
  logLevel: 'error',
  plugins: startUpPlugins,
  // CommonJS dependencies call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __nsbackupRequire } from 'node:module'; const require = __nsbackupRequire(import.meta.url);",
  },
} satisfies BuildOptions;

/** Entrypoints: every script (the demo lives in demo/, beside the emulator it runs, and never ships). */
export function entrypoints(): string[] {
  return readdirSync(join(REPO, 'scripts'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(REPO, 'scripts', f));
}

/**
 * Bundles into `<root>/dist` and copies package.json to `<root>` (lib/version.ts reads the version from it).
 * Returns the path of the `nsbackup` front door.
 */
export async function bundleNsbackup(root: string): Promise<string> {
  const outdir = join(root, 'dist');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: entrypoints(),
    outdir,
    outbase: REPO,
    ...BUNDLE_OPTIONS,
    // One output file per script, as each runs only when it is the main module; shared code in chunks, and each
    // command's own imports in its own chunk, so `nsbackup list` never loads the AWS SDK.
    splitting: true,
  });
  if (resolve(root) !== REPO) copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
  const frontDoor = join(outdir, 'scripts', 'nsbackup.js');
  chmodSync(frontDoor, 0o755);
  return frontDoor;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const frontDoor = await bundleNsbackup(REPO);
  console.log(`built ${frontDoor}`);
}
