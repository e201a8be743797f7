// esbuild plugins that cut what a bundled command loads before it does any work (issue 15's start-up goal; README,
// Development, has the figures). tools/bundle.ts (the image) and tools/package.ts (the executable) both use them.
// Each one changes how code is loaded, never what it does.

import { builtinModules } from 'node:module';
import type { Plugin } from 'esbuild';

const BUILTIN = new Set(builtinModules);
const CLIENT_NODE = '/node_modules/@kubernetes/client-node/';

/**
 * Node's own modules through `require`, not `import`. An ESM import of a builtin builds a module facade that reads
 * every export, and `node:http`'s WebSocket, CloseEvent and MessageEvent getters then load Node's internal undici:
 * 25 ms of every run for classes nsbackup never uses. Required, the module's exports are read only when used.
 */
export const builtinsViaRequire: Plugin = {
  name: 'builtins-via-require',
  setup(build) {
    build.onResolve({ filter: /^[a-z_]/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (!BUILTIN.has(name) && !BUILTIN.has(args.path)) return undefined;
      // The stub's own require stays a require of the builtin.
      if (args.namespace === 'builtin-via-require') return { path: args.path, external: true };
      // Only `import` statements: a dynamic import stays one, and a CommonJS require of a builtin already is one.
      if (args.kind !== 'import-statement') return undefined;
      return { path: `node:${name}`, namespace: 'builtin-via-require' };
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin-via-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * @kubernetes/client-node's modules marked free of side effects, so that esbuild drops those nsbackup never
 * imports (the generated API clients and models, a megabyte): nsbackup uses KubeConfig and Exec and makes its own
 * requests. The package declares nothing; its one module with a side effect, polyfill.js, sets `File` on Node
 * before 20, where it is missing.
 */
export const clientNodeWithoutSideEffects: Plugin = {
  name: 'client-node-without-side-effects',
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === CLIENT_NODE) return undefined;
      if (!args.importer.includes(CLIENT_NODE) && !args.path.startsWith('@kubernetes/client-node'))
        return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: CLIENT_NODE,
      });
      if (resolved.errors.length || !resolved.path.includes(CLIENT_NODE)) return resolved;
      return { ...resolved, sideEffects: false };
    });
  },
};

/** A stub export: a class whose `new` makes the real one, a function that calls it, or an object of such. */
type LazyExport = { name: string; as: 'class' | 'function' | 'static-methods'; methods?: string[] };

/**
 * What client-node imports from CommonJS packages that run a lot of code when imported, and uses only on paths
 * nsbackup never or rarely takes: undici for its own fetch-based API clients, watches and logs (nsbackup makes its
 * own requests over node:https); socks and the proxy agents only for a kubeconfig cluster with a proxy-url.
 */
const LAZY_IN_CLIENT_NODE: Record<string, LazyExport[]> = {
  undici: [
    { name: 'Agent', as: 'class' },
    { name: 'ProxyAgent', as: 'class' },
    { name: 'fetch', as: 'function' },
  ],
  socks: [{ name: 'SocksClient', as: 'static-methods', methods: ['createConnection'] }],
  'socks-proxy-agent': [{ name: 'SocksProxyAgent', as: 'class' }],
  hpagent: [
    { name: 'HttpProxyAgent', as: 'class' },
    { name: 'HttpsProxyAgent', as: 'class' },
  ],
};

function lazyStub(module: string, exports: LazyExport[]): string {
  const lines = ['let loaded;', `const load = () => (loaded ??= require(${JSON.stringify(module)}));`];
  for (const e of exports) {
    if (e.as === 'class')
      lines.push(`export class ${e.name} { constructor(...a) { return new (load().${e.name})(...a); } }`);
    else if (e.as === 'function')
      lines.push(`export function ${e.name}(...a) { return load().${e.name}(...a); }`);
    else
      lines.push(
        `export const ${e.name} = { ${(e.methods ?? []).map((m) => `${m}: (...a) => load().${e.name}.${m}(...a)`).join(', ')} };`,
      );
  }
  return lines.join('\n');
}

/**
 * client-node's imports of the packages above replaced by stubs that require the package on first use: the code is
 * still in the bundle (a synchronous require cannot load another chunk) but is not run at start-up. An import of a
 * name the table lacks fails the build, so an upgrade of client-node that uses more of them is noticed.
 */
export const lazyPackagesInClientNode: Plugin = {
  name: 'lazy-packages-in-client-node',
  setup(build) {
    const names = Object.keys(LAZY_IN_CLIENT_NODE);
    build.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => {
      if (!args.importer.includes(CLIENT_NODE) || args.kind !== 'import-statement') return undefined;
      return { path: args.path, namespace: 'lazy-in-client-node', pluginData: args.resolveDir };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-in-client-node' }, (args) => ({
      contents: lazyStub(args.path, LAZY_IN_CLIENT_NODE[args.path]),
      resolveDir: args.pluginData as string,
      loader: 'js',
    }));
  },
};

/** In this order: the stubs must see client-node's imports before they are resolved to the packages. */
export const startUpPlugins: Plugin[] = [
  builtinsViaRequire,
  lazyPackagesInClientNode,
  clientNodeWithoutSideEffects,
];
