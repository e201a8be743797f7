// A misspelt NSBACKUP_* variable is refused by every command before anything runs (exit 2, naming it and the
// setting it most likely meant), and the list of known variables is exactly what the commands read.
import { describe, expect, it } from 'vitest';
import { loggingSettings, runCommand } from '../../lib/command.js';
import { closestVariable, KNOWN_VARIABLES } from '../../lib/config/index.js';
import { commands } from '../../scripts/commands.js';

async function commandVariables(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const entry of Object.values(commands)) {
    const schema = (await entry.load()).schema as Record<string, { env: string }>;
    for (const setting of Object.values(schema)) names.add(setting.env);
  }
  for (const setting of Object.values(loggingSettings)) names.add(setting.env);
  return names;
}

describe('unknown NSBACKUP_* variables', () => {
  it('the known list is exactly the NSBACKUP_* settings of the commands', async () => {
    const read = [...(await commandVariables())].filter((n) => n.startsWith('NSBACKUP_')).sort();
    expect([...KNOWN_VARIABLES].sort()).toEqual(read);
  });

  it.each(Object.keys(commands))(
    '%s refuses NSBACKUP_NAMSPACE with exit 2 and says what was meant',
    async (name) => {
      const lines: string[] = [];
      const code = await runCommand(await commands[name].load(), {
        env: { NSBACKUP_NAMSPACE: 'shop', NSBACKUP_KUBECONFIG: '/nonexistent/kubeconfig' },
        write: (line) => lines.push(line),
        out: () => undefined,
      });
      expect(code).toBe(2);
      const error = JSON.parse(lines[0]);
      expect(error.msg).toContain(
        'NSBACKUP_NAMSPACE is not a setting of nsbackup; did you mean NSBACKUP_NAMESPACE?',
      );
      // Refused before anything else: nothing read the (missing) kubeconfig.
      expect(lines.join('\n')).not.toContain('/nonexistent/kubeconfig');
    },
  );

  it('suggests the closest name only when one is close', () => {
    expect(closestVariable('NSBACKUP_DB_PASWORD')).toBe('NSBACKUP_DB_PASSWORD');
    expect(closestVariable('NSBACKUP_KEEP_DAYLY')).toBe('NSBACKUP_KEEP_DAILY');
    expect(closestVariable('NSBACKUP_S3_BUCKTE')).toBe('NSBACKUP_S3_BUCKET');
    expect(closestVariable('NSBACKUP_SOMETHING_ELSE_ENTIRELY')).toBeUndefined();
  });
});
