// --help text and the README's configuration table, generated from the same schema the program parses.

import type { Schema } from './settings.js';

/**
 * `--help`: the settings a person types (those with a flag, and the required ones); `--help-all` (`all`): every
 * setting, the environment-only ones a CronJob sets too.
 */
export function helpText(usage: string, summary: string, schema: Schema, { all = false } = {}): string {
  const settings = Object.values(schema);
  const shown = all ? settings : settings.filter((s) => s.flag || s.required);
  const lines = [`Usage: ${usage}`, '', summary, '', 'Settings (flag, or environment variable):'];
  for (const s of shown) {
    const name = s.flag ? `${s.flag}, ${s.env}` : s.env;
    const def = s.required ? ' [required]' : s.defaultText ? ` [default: ${s.defaultText}]` : '';
    lines.push(`  ${name}${def}`);
    lines.push(`      ${s.description} (${s.form})`);
  }
  lines.push('', '  --help      show the settings with a flag');
  const hidden = settings.length - shown.length;
  lines.push(
    `  --help-all  show every setting${hidden ? ` (${hidden} more, environment variables only)` : ''}`,
  );
  return lines.join('\n');
}

export function markdownTable(schema: Schema): string {
  const rows = [
    '| Variable | Flag | Default | Accepted values | Description |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const s of Object.values(schema)) {
    const def = s.required ? '**required**' : s.defaultText ? `\`${s.defaultText}\`` : '';
    const cell = (t: string) => t.replace(/\|/g, '\\|');
    rows.push(
      `| \`${s.env}\` | ${s.flag ? `\`${s.flag}\`` : ''} | ${cell(def)} | ${cell(s.form)} | ${cell(s.description)} |`,
    );
  }
  return rows.join('\n');
}
