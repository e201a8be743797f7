#!/usr/bin/env node
// The front door: `nsbackup <command> [options]`. Each command is also runnable as `node dist/scripts/<name>.js`.

import { enableCompileCache } from 'node:module';
import { runCommand, isMain } from '../lib/command.js';
import { ExitCode } from '../lib/exit.js';
import { completionScript, SHELLS, type Shell } from '../lib/completion.js';
import { VERSION } from '../lib/version.js';
import { commands } from './commands.js';

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length), 8);
  return [
    `nsbackup ${VERSION}: application-consistent backups of Kubernetes namespaces`,
    '',
    'Usage: nsbackup <command> [options]     (every option is also an NSBACKUP_* environment variable)',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `nsbackup <command> --help` for its settings; `nsbackup completion bash|zsh|fish` for shell completion.',
    'Exit codes: 0 success, 1 the job failed, 2 bad configuration, 3 lock not acquired in time.',
  ].join('\n');
}

/** Prints the completion script of a shell, from every command's flags. */
async function completion(shell: string | undefined): Promise<number> {
  if (!SHELLS.includes(shell as Shell)) {
    process.stderr.write(`nsbackup: completion needs a shell: ${SHELLS.join(', ')}\n`);
    return ExitCode.badConfig;
  }
  const described = await Promise.all(
    Object.entries(commands).map(async ([name, entry]) => {
      const command = await entry.load();
      const flags = Object.values(command.schema as Record<string, { flag?: string }>)
        .map((s) => s.flag)
        .filter((f): f is string => Boolean(f));
      return { name, summary: entry.summary, flags: [...flags, ...Object.keys(command.aliases ?? {})] };
    }),
  );
  process.stdout.write(completionScript(shell as Shell, described));
  return ExitCode.ok;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? ExitCode.ok : ExitCode.badConfig;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(VERSION + '\n');
    return ExitCode.ok;
  }
  if (name === 'completion') return completion(rest[0]);
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`nsbackup: unknown command "${name}"\n\n${usage()}\n`);
    return ExitCode.badConfig;
  }
  return runCommand(await entry.load(), { argv: rest });
}

/** Runs the front door with a process's arguments and exits with its code. */
export function start(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`nsbackup: unexpected error: ${e instanceof Error ? e.message : e}\n`);
      process.exit(ExitCode.failed);
    },
  );
}

// Run as a script (`node dist/scripts/nsbackup.js`). The single-file executable (`npm run package`) starts from
// its startup snapshot instead, which calls start (tools/sea-entry.ts).
if (isMain(import.meta.url)) {
  // V8's code cache for the command's modules, loaded below: it halves the start-up of every run after the first
  // (README, Development). The image ships the cache warm (NODE_COMPILE_CACHE, Dockerfile).
  enableCompileCache();
  start(process.argv.slice(2));
}
