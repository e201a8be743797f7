// Generated from the commands' schemas: every setting of every command, given each value its own definition says
// it refuses, must stop the command with exit 2, name the variable, and touch nothing (no request reaches the
// cluster). A new setting gets its invalid values from the helper that declares it, so it cannot skip this.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggingSettings, runCommand } from '../../lib/command.js';
import type { Schema } from '../../lib/config/index.js';
import { commands } from '../../scripts/commands.js';
import { startCluster, type Cluster } from '../cluster/index.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster?.close();
});

/** Secrets that are any string (a password): nothing to refuse, and nothing to echo. */
const FREE_FORM_SECRETS = ['NSBACKUP_DB_PASSWORD', 'RESTIC_PASSWORD'];

async function schemaOf(name: string): Promise<Schema> {
  const command = await commands[name].load();
  return { ...command.schema, ...loggingSettings };
}

describe('every invalid value of every setting is refused before anything runs', () => {
  it('every setting that is not a free-form secret has values it refuses', async () => {
    for (const name of Object.keys(commands)) {
      for (const setting of Object.values(await schemaOf(name))) {
        if (FREE_FORM_SECRETS.includes(setting.env)) continue;
        expect(setting.invalidExamples.length, `${name} ${setting.env}`).toBeGreaterThan(0);
      }
    }
  });

  it.each(Object.keys(commands))(
    '%s: exit 2, the variable named, no request to the cluster',
    async (name) => {
      const command = await commands[name].load();
      let runs = 0;
      for (const setting of Object.values(await schemaOf(name))) {
        for (const value of setting.invalidExamples) {
          cluster.clearRequests();
          const lines: string[] = [];
          const env: Record<string, string> = {
            NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
            TZ: 'UTC',
            [setting.env]: value,
          };
          const code = await runCommand(command, {
            env,
            argv: [],
            write: (line) => lines.push(line),
            out: () => {},
          });
          const shown = `${name} ${setting.env}=${JSON.stringify(value.slice(0, 40))}`;
          expect(code, `${shown}: ${lines.join('\n').slice(0, 500)}`).toBe(2);
          const problems = lines.map((l) => JSON.parse(l).msg as string).join('\n');
          // The problem line starts with the variable (loadConfig: "<VAR> (got ...) must be ...").
          expect(problems, shown).toMatch(new RegExp(`(^|\\n)\\s*(- )?${setting.env}\\b`));
          if (setting.secret) expect(problems, shown).not.toContain(value);
          expect(cluster.requests, shown).toEqual([]);
          runs++;
        }
      }
      expect(runs).toBeGreaterThan(10);
    },
    120_000,
  );
});
