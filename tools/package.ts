// `npm run package`: the `nsbackup` CLI as one executable file (Node's single executable applications), for people
// who run nsbackup from a laptop or a CI job without a checkout: the bundle of every command (no node_modules),
// embedded into a copy of the Node 26 binary the project runs on. Writes dist/bin/nsbackup (linux-x64 here: an
// executable runs where the node binary it was built from runs; build it on each platform you ship).
//
// It starts from a V8 startup snapshot (tools/sea-entry.ts): with only a code cache of the bundle, `list` took 120 ms,
// 2.2x `kubectl version --client` (54 ms); from the snapshot 87 ms, 1.6x, and `backups` from S3 100 ms instead of
// 185. `--version` stays at about 66 ms, most of it deserializing the snapshot (medians of 21 interleaved runs;
// README, Development).

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire, isBuiltin } from 'node:module';
import { build, type Plugin } from 'esbuild';
import { $ } from 'zx';
import { BUNDLE_OPTIONS } from './bundle.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the executable into `outDir` and returns its path. */
export async function packageNsbackup(outDir = join(REPO, 'dist', 'bin')): Promise<string> {
  const work = join(outDir, '.sea');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const bundle = join(work, 'nsbackup.cjs');
  // One CommonJS file, as a startup snapshot's main script must be (its require() loads only Node's built-ins): no
  // splitting, so every command's dynamic import is inside it.
  await build({
    entryPoints: [join(REPO, 'tools', 'sea-entry.ts')],
    outfile: bundle,
    ...BUNDLE_OPTIONS,
    plugins: [loadedAtRunTime, ...BUNDLE_OPTIONS.plugins],
    format: 'cjs',
    // The source is in the snapshot too, and every start deserializes it: without comments and indentation it is
    // 4 MB instead of 6, and a start about 7 ms shorter. Names are kept (error messages, stack traces).
    minifyWhitespace: true,
    // The image's banner makes a require for ESM; a CommonJS script has its own.
    banner: {},
    define: {
      // lib/version.ts reads package.json beside the code; the executable has none, so the version is built in.
      __NSBACKUP_VERSION__: JSON.stringify(version()),
      // No module of the executable is a script of its own (lib/command.ts, isMain).
      'import.meta.url': 'undefined',
    },
  });
  const output = join(outDir, 'nsbackup');
  const config = join(work, 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify({
      main: bundle,
      output,
      disableExperimentalSEAWarning: true,
      // A V8 startup snapshot of the heap after every module is loaded (tools/sea-entry.ts): a run deserializes it
      // instead of compiling and evaluating the bundle.
      useSnapshot: true,
    }),
  );
  // The node running this script is the project's own (the `node` devDependency under npm scripts).
  await $({ cwd: work, quiet: true })`${process.execPath} --build-sea ${config}`;
  rmSync(work, { recursive: true, force: true });
  return output;
}

/**
 * What must not be loaded while the snapshot is built. Node's http, https, tls and http2: loading node:http fails
 * the snapshot ("global handle not serialized": its HTTP parser binding, nodejs/node#48672), and the others load
 * it. proper-lockfile: it installs signal handlers when loaded (signal-exit), which cannot be in a snapshot either.
 */
const LOADED_AT_RUN_TIME = /^((node:)?(http|https|tls|http2)|proper-lockfile)$/;

/**
 * Every import and require of those (ours, client-node's, ws's, the AWS SDK's) made an object with the module's
 * properties, each of which loads it on first read: the modules that only keep a reference at load time can be in
 * the snapshot, and a run loads the real one when it first uses it, as it would have anyway. The property names
 * are the module's own, read here (this script runs on the Node the executable is built from).
 */
const loadedAtRunTime: Plugin = {
  name: 'loaded-at-run-time',
  setup(build) {
    build.onResolve({ filter: LOADED_AT_RUN_TIME }, (args) => {
      const builtin = isBuiltin(args.path);
      if (args.namespace === 'loaded-at-run-time')
        // The stub's own require: the real module (the package is bundled as usual).
        return builtin ? { path: args.path, external: true } : undefined;
      const path = builtin ? `node:${args.path.replace(/^node:/, '')}` : args.path;
      return { path, namespace: 'loaded-at-run-time' };
    });
    build.onLoad({ filter: /.*/, namespace: 'loaded-at-run-time' }, (args) => {
      const real = createRequire(join(REPO, 'package.json'))(args.path) as Record<string, unknown>;
      // http2's constants are read when the AWS SDK is loaded; they are this Node binary's, and data only.
      const copied = args.path === 'node:http2' ? ['constants'] : [];
      const name = JSON.stringify(args.path);
      return {
        loader: 'js',
        resolveDir: REPO,
        contents: [
          'let loaded;',
          'const load = () => {',
          "  if (require('node:v8').startupSnapshot.isBuildingSnapshot())",
          `    throw new Error(${JSON.stringify(`${args.path} loaded while the snapshot is built (tools/package.ts)`)});`,
          `  return (loaded ??= require(${name}));`,
          '};',
          ...copied.map((key) => `exports[${JSON.stringify(key)}] = ${JSON.stringify(real[key])};`),
          `for (const key of ${JSON.stringify(Object.keys(real).filter((k) => !copied.includes(k)))})`,
          '  Object.defineProperty(exports, key, {',
          '    enumerable: true,',
          '    get: () => load()[key],',
          '    set: (value) => { load()[key] = value; },',
          '  });',
        ].join('\n'),
      };
    });
  },
};

function version(): string {
  return (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(`built ${await packageNsbackup()}`);
}
