// A stand-in for the demo's start-up, run by demo-signals.test.ts: the demo's own lifecycle
// (demo/lifecycle.ts) with a work folder and a server that takes a while to start, as PostgreSQL does in
// initdb, but without the demo's emulator, S3 and PostgreSQL, so that a signal test costs a process, not a cycle.
// Prints `server <pid> starting` once the server process runs; exits only on a signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanUpOnSignals, onCleanup, say, starting } from '../../demo/lifecycle.js';

cleanUpOnSignals();
const work = await mkdtemp(join(tmpdir(), 'nsbackup-demo-'));
onCleanup(() => rm(work, { recursive: true, force: true }));

const start = () =>
  new Promise<ChildProcess>((resolve, reject) => {
    const server = spawn('sleep', ['600'], { stdio: 'ignore' });
    server.once('error', reject);
    server.once('spawn', () => {
      say(`server ${server.pid} starting`);
      // Still starting when the test signals: the stop must wait for the start, then stop the server.
      setTimeout(() => resolve(server), 300);
    });
  });
await starting(start, (server) => {
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  return exited;
});
say('server started');
setInterval(() => {}, 60_000);
