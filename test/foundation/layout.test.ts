// Modules that import each other cannot be read, tested or moved one at a time, and their load order decides
// which of them sees the other half-initialised. lib/ and scripts/ have no import cycle (type-only imports count:
// they tie the files together just the same for a reader).

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/helm.js';

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

describe('imports', () => {
  it('lib/ and scripts/ have no import cycle', () => {
    const graph = importGraph([...tsFiles('lib'), ...tsFiles('scripts')]);
    expect(cyclesOf(graph).map((c) => c.join(' -> '))).toEqual([]);
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
