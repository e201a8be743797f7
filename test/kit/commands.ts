// Runs an nsbackup command in this process, as its CronJob would, against a real cluster: JSON log lines
// collected, the summary line picked out.
import { runCommand, type Command } from '../../lib/command.js';

export interface CommandRun {
  code: number;
  logs: Record<string, any>[];
  out: string;
  summary: Record<string, any> | undefined;
  /** The log lines as text, for an assertion's message. */
  text: string;
}

export async function runNsbackup(
  command: Command<any>,
  env: Record<string, string | undefined>,
  argv: string[] = [],
): Promise<CommandRun> {
  const logs: Record<string, any>[] = [];
  let out = '';
  const code = await runCommand(command, {
    argv,
    env: { TZ: 'UTC', ...env },
    write: (line) => logs.push(JSON.parse(line)),
    out: (text) => (out += text + '\n'),
  });
  return {
    code,
    logs,
    out,
    summary: logs.find((l) => l.summary),
    text: logs.map((l) => JSON.stringify(l)).join('\n'),
  };
}

/** Polls `probe` (a throw counts as not yet) until it gives a value other than undefined or false. */
export async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    try {
      value = probe();
    } catch {
      value = undefined;
    }
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
