// The single-file executable's main script (tools/package.ts), run once, at build time, to make its V8 startup
// snapshot: every module of every command is evaluated here, so that a run of the executable starts from a heap in
// which client-node, yaml, luxon, the AWS SDK and nsbackup's own modules are already loaded, and only calls the
// front door. Loading and compiling them at every start was most of the executable's `list` (README, Development).
//
// What runs here runs on the build machine, never again: nothing at module load may read the environment, the
// arguments, the working folder or the clock, nor open a handle (the front door reads them when a command runs).

import { startupSnapshot } from 'node:v8';
import { loadS3Sdk } from '../lib/s3/sdk.js';
import { commands } from '../scripts/commands.js';
import { start } from '../scripts/nsbackup.js';

// The bundle is one CommonJS file (no splitting): each command's dynamic import is a function in it, evaluated on
// its first call. Called here, once each, before the snapshot is taken (after the event loop has drained).
for (const entry of Object.values(commands)) void entry.load();
// The AWS SDK too, though list and --version never use it: deserializing it costs every start about 8 ms, and saves
// a command that reaches S3 (backups, describe, verify, restore) the 35-45 ms of compiling and loading it.
void loadS3Sdk();

startupSnapshot.setDeserializeMainFunction(() => start(process.argv.slice(2)));
