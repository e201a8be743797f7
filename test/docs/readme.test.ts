// The README's configuration reference is generated from the same schemas the commands parse (`npm run docs`).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSections, render } from '../../tools/readme-config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README.md', () => {
  it('opens with the demo and the test command', () => {
    const firstBlock = readme.slice(readme.indexOf('```'), readme.indexOf('```', readme.indexOf('```') + 3));
    expect(firstBlock).toContain('npm run demo');
    expect(firstBlock).toContain('npm test');
  });

  it('lists TZ for every command whose dates depend on it (backup labels them, mark-and-delete and list read them)', async () => {
    const sections = await configSections();
    for (const name of ['backup', 'mark-and-delete', 'list']) {
      expect(sections.get(name), name).toMatch(/^\| `TZ` \|/m);
    }
  });

  it('documents every setting of every command exactly as the schemas declare it', async () => {
    expect(render(readme, await configSections()), 'run `npm run docs` and commit README.md').toBe(readme);
  });

  it('says honestly that the VolumeSnapshotContent grant is cluster-wide, why, and how and at what cost to turn it off', () => {
    const chartReadme = readFileSync(new URL('../../charts/nsbackup/README.md', import.meta.url), 'utf8');
    for (const [name, text] of [
      ['README.md', readme.slice(readme.indexOf('## RBAC'), readme.indexOf('## Limits'))],
      ['charts/nsbackup/README.md', chartReadme.slice(chartReadme.indexOf('### Cluster-wide by necessity'))],
    ]) {
      expect(text, name).toMatch(/every\s+VolumeSnapshotContent|every content/);
      expect(text, name).toMatch(/cluster-scoped/);
      expect(text, name).toMatch(/deletionPolicy: Retain/);
      expect(text, name).toContain('prune.snapshotContents=false');
      expect(text, name).toMatch(/stay behind[\s\S]*storage/);
    }
  });
});
