// `npm run package`: the `nsbackup` CLI as one executable file (Node's single executable applications), for people
// who run nsbackup from a laptop or a CI job without a checkout: the bundle of every command (no node_modules),
// embedded into a copy of the Node 26 binary the project runs on. Writes dist/bin/nsbackup (linux-x64 here: an
// executable runs where the node binary it was built from runs; build it on each platform you ship).

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { $ } from 'zx';
import { BUNDLE_OPTIONS } from './bundle.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the executable into `outDir` and returns its path. */
export async function packageNsbackup(outDir = join(REPO, 'dist', 'bin')): Promise<string> {
  const work = join(outDir, '.sea');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const bundle = join(work, 'nsbackup.mjs');
  // One file: no splitting, so every command's dynamic import is inside it.
  await build({
    entryPoints: [join(REPO, 'scripts', 'nsbackup.ts')],
    outfile: bundle,
    ...BUNDLE_OPTIONS,
    // lib/version.ts reads package.json beside the code; the executable has none, so the version is built in.
    define: { __NSBACKUP_VERSION__: JSON.stringify(version()) },
  });
  const output = join(outDir, 'nsbackup');
  const config = join(work, 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify({
      main: bundle,
      mainFormat: 'module',
      output,
      disableExperimentalSEAWarning: true,
      // V8's code cache of the bundle, made at build time: the executable has no NODE_COMPILE_CACHE folder, and
      // compiling the whole bundle at every start cost it 100 ms (README, Development).
      useCodeCache: true,
    }),
  );
  // The node running this script is the project's own (the `node` devDependency under npm scripts).
  await $({ cwd: work, quiet: true })`${process.execPath} --build-sea ${config}`;
  rmSync(work, { recursive: true, force: true });
  return output;
}

function version(): string {
  return (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(`built ${await packageNsbackup()}`);
}
