// Regenerates the README's configuration reference from the commands' declared schemas, so README, --help and the
// parser never drift. `npm run docs` writes it; test/docs/readme.test.ts fails when README.md is out of date.

import { readFileSync, writeFileSync } from 'node:fs';
import { loggingSettings } from '../lib/command.js';
import { markdownTable } from '../lib/config/index.js';
import { commands } from '../scripts/commands.js';

const README = new URL('../README.md', import.meta.url);

/** Each command's table, between `<!-- config:NAME -->` and `<!-- /config:NAME -->`. */
export async function configSections(): Promise<Map<string, string>> {
  const sections = new Map<string, string>();
  const seen = new Set<unknown>();
  for (const [name, entry] of Object.entries(commands)) {
    const command = await entry.load();
    // Commands that share one schema (pin, unpin, expire) share the first one's table.
    if (seen.has(command.schema)) continue;
    seen.add(command.schema);
    sections.set(name, markdownTable(command.schema));
  }
  sections.set('logging', markdownTable(loggingSettings));
  return sections;
}

export function render(readme: string, sections: Map<string, string>): string {
  let out = readme;
  for (const [name, table] of sections) {
    const open = `<!-- config:${name} -->`;
    const close = `<!-- /config:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`README.md has no ${open} ... ${close} section`);
    out = out.slice(0, start + open.length) + '\n' + table + '\n' + out.slice(end);
  }
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const readme = readFileSync(README, 'utf8');
  const updated = render(readme, await configSections());
  if (updated !== readme) writeFileSync(README, updated);
  process.stdout.write(updated === readme ? 'README.md is up to date\n' : 'README.md updated\n');
}
