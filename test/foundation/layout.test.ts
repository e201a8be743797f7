// The layout, drawn from the imports. Modules that import each other cannot be read, tested or moved one at a time,
// and their load order decides which of them sees the other half-initialised: lib/ and scripts/ have no import
// cycle (type-only imports count: they tie the files together just the same for a reader), and lib/'s folders have
// none either, so each feature can be read from the shared homes up. The harnesses (the emulator, the real control
// plane, the test kit) are entered through their front doors, so the tests, the demo and the benches never depend on
// a harness's insides.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../kit/index.js';

function tsFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of each file, as repository paths of .ts files. */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const source = readFileSync(join(REPO_ROOT, file), 'utf8');
    const specs = [
      ...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm),
      ...source.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g),
    ].map((m) => m[1]);
    graph.set(
      file,
      specs.map((s) => relative(REPO_ROOT, resolve(REPO_ROOT, file, '..', s)).replace(/\.js$/, '.ts')),
    );
  }
  return graph;
}

/** Every cycle, each once, as a path that starts and ends at the same file. */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const key = (cycle: string[]) => [...cycle.slice(0, -1)].sort().join(' ');
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        if (!seen.has(key(cycle))) {
          seen.add(key(cycle));
          cycles.push(cycle);
        }
      } else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

/** The graph between lib/'s folders (a file directly in lib/ is a home of its own). */
function folderGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const home = (file: string) => file.split('/').slice(0, 2).join('/');
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = home(file);
    const edges = folders.get(from) ?? new Set<string>();
    for (const target of targets)
      if (home(target) !== from && target.startsWith('lib/')) edges.add(home(target));
    folders.set(from, edges);
  }
  return new Map([...folders].map(([folder, edges]) => [folder, [...edges]]));
}

const HARNESSES = ['test/cluster', 'test/realcluster', 'test/kit'];

/** Imports of a harness's insides from outside it (its index.ts is the one way in). */
function backDoors(graph: Map<string, string[]>): string[] {
  const harnessOf = (file: string) => HARNESSES.find((h) => file.startsWith(`${h}/`));
  return [...graph].flatMap(([file, targets]) =>
    targets
      .filter((t) => harnessOf(t) && harnessOf(t) !== harnessOf(file) && t !== `${harnessOf(t)}/index.ts`)
      .map((t) => `${file} imports ${t}`),
  );
}

describe('imports', () => {
  it('lib/ and scripts/ have no import cycle', () => {
    const graph = importGraph([...tsFiles('lib'), ...tsFiles('scripts')]);
    expect(cyclesOf(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it("lib/'s folders have no import cycle between them", () => {
    const graph = folderGraph(importGraph(tsFiles('lib')));
    expect(cyclesOf(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('the tests, the demo, the benches and the tools enter a harness only through its index.ts', () => {
    const files = ['test', 'demo', 'bench', 'tools', 'scripts', 'lib'].flatMap(tsFiles);
    expect(backDoors(importGraph(files))).toEqual([]);
  });

  it('the layout checks find what they look for (so the checks above can fail)', () => {
    const files = new Map([
      ['lib/backup/flow.ts', ['lib/volumes/step.ts', 'lib/log.ts']],
      ['lib/volumes/step.ts', ['lib/backup/ports.ts']],
      ['demo/demo.ts', ['test/cluster/exec.ts', 'test/kit/index.ts']],
      ['test/cluster/index.ts', ['test/cluster/exec.ts']],
    ]);
    expect(cyclesOf(folderGraph(files))).toEqual([['lib/backup', 'lib/volumes', 'lib/backup']]);
    expect(backDoors(files)).toEqual(['demo/demo.ts imports test/cluster/exec.ts']);
  });

  it('the cycle finder finds a cycle (so the check above can fail)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cyclesOf(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
