// The Dockerfile cannot be built here (no container engine), so it is checked three ways: dockerfile-utils (the
// validator behind the VS Code Docker extension) finds no problem; the rules the image depends on hold (multi-stage,
// production dependencies only, numeric non-root user, the front door as entrypoint); and the compiled program
// needs nothing the runtime stage leaves out (no devDependency, no test code imported by lib/ or scripts/).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { validate } from 'dockerfile-utils';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { CHART_DIR, REPO_ROOT } from '../kit/index.js';

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions in order, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [keyword, ...rest] = l.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** Stages: the instructions after each FROM. */
function stages(list: Instruction[]): { from: string; name?: string; body: Instruction[] }[] {
  const out: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const ins of list) {
    if (ins.keyword === 'FROM') {
      const m = ins.args.match(/^(\S+)(?:\s+AS\s+(\S+))?$/i)!;
      out.push({ from: m[1], name: m[2], body: [] });
    } else if (out.length) out[out.length - 1].body.push(ins);
  }
  return out;
}

/** The Node.js release schedule (github.com/nodejs/Release, schedule.json): Active LTS start and end of life. */
const LTS_LINES: Record<number, { lts: string; end: string }> = {
  22: { lts: '2024-10-29', end: '2027-04-30' },
  24: { lts: '2025-10-28', end: '2028-04-30' },
  26: { lts: '2026-10-28', end: '2029-04-30' },
};
/** When the image's Node line was last checked against the schedule; check again, then move this date. */
const LTS_CHECKED_ON = '2026-11-24';

/** The newest line in Active LTS on a day: the image runs the current LTS. */
function activeLtsOn(day: string): number {
  const lines = Object.entries(LTS_LINES).filter(([, d]) => d.lts <= day && day < d.end);
  return Math.max(...lines.map(([major]) => Number(major)));
}

describe('Dockerfile', () => {
  const list = instructions(dockerfile);
  const [etcd, build, runtime, ...more] = stages(list);
  const args = Object.fromEntries(
    list.filter((i) => i.keyword === 'ARG').map((i) => i.args.split('=') as [string, string]),
  );
  const expand = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? '');

  it('passes the dockerfile-utils validator without a problem', () => {
    const problems = validate(dockerfile).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('the validator does catch a broken Dockerfile (so the check above can fail)', () => {
    expect(validate('FROM node:24-slim\nCOPY onlyone\nUSER\nENTRYPOINT ["node"\n').length).toBeGreaterThan(1);
  });

  it('builds with dev dependencies, runs the bundle alone on a pinned Node LTS slim image', () => {
    expect(more).toEqual([]);
    expect(build.name).toBe('build');
    const runs = (stage: typeof build) => stage.body.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs(build).join(' && ')).toMatch(/npm ci\b(?!.*--omit=dev).*npm run build/);
    // The bundle carries its dependencies: the runtime stage installs nothing.
    expect(runs(runtime).join(' ')).not.toMatch(/npm (ci|install)/);
    const major = Number(args.NODE_VERSION);
    expect(major, `the Active LTS line on ${LTS_CHECKED_ON}`).toBe(activeLtsOn(LTS_CHECKED_ON));
    for (const stage of [build, runtime]) expect(expand(stage.from)).toBe(`node:${major}-trixie-slim`);
    // Only the bundle comes from the build stage, and package.json for the version.
    const copies = runtime.body.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toEqual([
      'package.json ./',
      '--from=build /src/dist ./dist',
      '--from=etcd /usr/local/bin/etcdctl /usr/local/bin/etcdutl /usr/local/bin/',
    ]);
  });

  it('ships a warm V8 code cache for every script, where Node looks for it', () => {
    const env = runtime.body.filter((i) => i.keyword === 'ENV').map((i) => i.args);
    const cache = env.map((e) => e.match(/^NODE_COMPILE_CACHE=(\S+)$/)?.[1]).find(Boolean);
    expect(cache).toMatch(/^\/app\//);
    const warm = runtime.body.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(warm.join(' ')).toMatch(/for script in dist\/scripts\/\*\.js; do node "\$script" --help/);
    // Written before USER: the runs read it as uid 1000, they do not need to write it.
    const order = runtime.body.map((i) => i.keyword);
    expect(order.lastIndexOf('RUN')).toBeLessThan(order.indexOf('USER'));
  });

  it('runs on the same Node line as the tests: Dockerfile, engines and the node devDependency agree', () => {
    const major = Number(args.NODE_VERSION);
    const full = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(full.engines.node).toBe(`>=${major} <${major + 1}`);
    expect(full.devDependencies.node).toMatch(new RegExp(`^\\^${major}\\.`));
    // This test runs on that Node, not on whatever the machine has.
    expect(Number(process.versions.node.split('.')[0])).toBe(major);
  });

  it('takes etcdctl and etcdutl from the etcd release the tests run (test/realcluster/go.mod)', () => {
    expect(etcd.name).toBe('etcd');
    expect(etcd.body).toEqual([]);
    const goMod = readFileSync(join(REPO_ROOT, 'test/realcluster/go.mod'), 'utf8');
    const tested = goMod.match(/go\.etcd\.io\/etcd\/etcdutl\/v3 (v\S+)/)![1];
    expect(expand(etcd.from)).toBe(`gcr.io/etcd-development/etcd:${tested}`);
  });

  it('runs as a numeric non-root user, the one the chart declares for runAsNonRoot', () => {
    const user = runtime.body.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(user).toHaveLength(1);
    const [uid, gid] = user[0].split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    const values = YAML.parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
    expect(values.securityContext).toEqual({ runAsUser: uid, runAsGroup: gid });
  });

  it('the entrypoint is the nsbackup front door as the build writes it', () => {
    const entry = runtime.body.filter((i) => i.keyword === 'ENTRYPOINT').map((i) => JSON.parse(i.args));
    const workdir = runtime.body.find((i) => i.keyword === 'WORKDIR')!.args;
    expect(entry).toEqual([['node', `${workdir}/${pkg.bin.nsbackup}`]]);
    // tools/bundle.ts writes scripts/<name>.ts to dist/scripts/<name>.js.
    expect(pkg.bin.nsbackup).toBe('dist/scripts/nsbackup.js');
    expect(statSync(join(REPO_ROOT, 'scripts/nsbackup.ts')).isFile()).toBe(true);
  });

  it('.dockerignore sends only what the build copies', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore.slice(1).map((l) => l.replace(/^!/, '').replace(/\/$/, ''));
    const copied = build.body
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
      .concat(
        runtime.body
          .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
          .flatMap((i) => i.args.split(/\s+/).slice(0, -1)),
      );
    for (const c of copied) expect(allowed, c).toContain(c);
  });
});

describe('what the runtime stage leaves out is not needed', () => {
  const files = (dir: string): string[] =>
    readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );

  it('lib/ and scripts/ import only Node built-ins, production dependencies and each other', () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const problems: string[] = [];
    const imported = new Set<string>();
    for (const file of [...files('lib'), ...files('scripts')]) {
      const source = readFileSync(join(REPO_ROOT, file), 'utf8');
      const specifiers = [
        ...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm),
        ...source.matchAll(/^\s*import\s+'([^']+)'/gm),
        ...source.matchAll(/import\(\s*'([^']+)'\s*\)/g),
      ].map((m) => m[1]);
      for (const spec of specifiers) {
        if (spec.startsWith('.')) {
          const target = relative(REPO_ROOT, resolve(REPO_ROOT, file, '..', spec));
          if (!/^(lib|scripts)\//.test(target))
            problems.push(`${file} imports ${spec} (outside lib/ and scripts/)`);
          continue;
        }
        if (builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!(name in pkg.dependencies))
          problems.push(`${file} imports ${spec}, not a production dependency`);
        imported.add(name);
      }
    }
    expect(problems).toEqual([]);
    // And the other way round: a production dependency nothing imports is weight in every install.
    expect(Object.keys(pkg.dependencies).filter((d) => !imported.has(d))).toEqual([]);
  });
});
