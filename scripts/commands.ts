// The commands of the `nsbackup` front door, loaded on demand so one command never pays for another's imports.

import type { Command } from '../lib/command.js';

export interface CommandEntry {
  summary: string;
  load: () => Promise<Command<any>>;
}

export const commands: Record<string, CommandEntry> = {};
