// Pure parts of the emulator: selector grammar and the three patch types.
import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import { matchesLabels, parseLabelSelector, SelectorError } from './selectors.js';
import { humanAge } from './table.js';

describe('label selectors', () => {
  const labels = { app: 'db', tier: 'backend', n: '5' };
  const match = (s: string) => matchesLabels(parseLabelSelector(s), labels);

  it('reads every operator of the upstream grammar', () => {
    expect(match('app=db')).toBe(true);
    expect(match('app==db')).toBe(true);
    expect(match('app!=db')).toBe(false);
    expect(match('missing!=x')).toBe(true);
    expect(match('tier in (frontend, backend)')).toBe(true);
    expect(match('tier notin (backend)')).toBe(false);
    expect(match('app,!missing')).toBe(true);
    expect(match('!app')).toBe(false);
    expect(match('n>4,n<6')).toBe(true);
    expect(match('')).toBe(true);
  });

  it('refuses malformed selectors', () => {
    for (const bad of ['a b', 'tier in backend', '=x', 'app=db,', 'app=no spaces']) {
      expect(() => parseLabelSelector(bad), bad).toThrow(SelectorError);
    }
    // An empty value is legal upstream.
    expect(matchesLabels(parseLabelSelector('app='), { app: '' })).toBe(true);
  });
});

describe('patches', () => {
  it('merge patch deletes with null and replaces lists', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null }, l: [3] })).toEqual({
      a: 1,
      b: { d: 3 },
      l: [3],
    });
  });

  it('JSON patch applies RFC 6902 operations and fails a missing path', () => {
    const doc = { metadata: { labels: { 'a/b': '1' } }, list: [1, 2] };
    expect(
      jsonPatch(doc, [
        { op: 'remove', path: '/metadata/labels/a~1b' },
        { op: 'add', path: '/list/-', value: 3 },
        { op: 'replace', path: '/list/0', value: 0 },
        { op: 'copy', from: '/list/2', path: '/copied' },
      ]),
    ).toEqual({ metadata: { labels: {} }, list: [0, 2, 3], copied: 3 });
    expect(doc.list).toEqual([1, 2]);
    expect(() => jsonPatch(doc, [{ op: 'replace', path: '/nope/x', value: 1 }])).toThrow(PatchError);
  });

  it('strategic merge patch merges lists by their merge key and honours $patch directives', () => {
    const pod = {
      spec: {
        containers: [
          { name: 'a', image: 'x', ports: [{ containerPort: 80, name: 'http' }] },
          { name: 'b', image: 'y' },
        ],
        volumes: [{ name: 'v1', emptyDir: {} }],
        tolerations: [{ key: 'k1' }],
      },
      metadata: { finalizers: ['f1'] },
    };
    const out = strategicMergePatch(pod, {
      spec: {
        containers: [
          { name: 'a', image: 'x2', ports: [{ containerPort: 443 }] },
          { name: 'b', $patch: 'delete' },
        ],
        volumes: [{ name: 'v2', emptyDir: {} }],
        tolerations: [{ key: 'k2' }],
      },
      metadata: { finalizers: ['f2'] },
    });
    expect(out.spec.containers).toEqual([
      { name: 'a', image: 'x2', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] },
    ]);
    expect(out.spec.volumes.map((v: any) => v.name)).toEqual(['v1', 'v2']);
    expect(out.spec.tolerations).toEqual([{ key: 'k2' }]);
    expect(out.metadata.finalizers).toEqual(['f1', 'f2']);
    expect(strategicMergePatch({ a: { b: 1, c: 2 } }, { a: { $patch: 'replace', d: 3 } })).toEqual({
      a: { d: 3 },
    });
  });
});

describe('table ages', () => {
  it('prints ages the way kubectl users read them', () => {
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    const at = (s: number) => humanAge('2024-01-01T00:00:00Z', t0 + s * 1000);
    expect([at(5), at(150), at(3600 * 3 + 60), at(86400 * 3)]).toEqual(['5s', '2m30s', '3h1m', '3d']);
  });
});
