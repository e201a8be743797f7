// The demo's lifecycle: what it started is stopped again, newest first, when it ends and when it is stopped
// (Ctrl-C, SIGTERM, SIGHUP), also a service still starting then. A module of its own so that
// test/foundation/demo-signals.test.ts can drive it through a small entry without the demo's whole cycle.

import { constants as osConstants } from 'node:os';

const cleanups: Array<() => Promise<unknown>> = [];
/** Set by the first SIGINT/SIGTERM/SIGHUP: the steps still running print nothing more. */
let stopping = false;

export const say = (text: string) => void (stopping || process.stdout.write(text + '\n'));

/** Registers a stop (a server's close, a folder's removal) that cleanup() runs. */
export function onCleanup(stop: () => Promise<unknown>): void {
  cleanups.push(stop);
}

let cleaning: Promise<void> | undefined;
/** Stops what was started, newest first; once, however many callers (the end of main, a signal) ask. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  })();
  return cleaning;
}

/**
 * Starts a service with its stop registered before it has started: a signal during its start (PostgreSQL's initdb
 * and start-up take seconds) waits for the start to finish, then stops it, so nothing is left running. Once a
 * signal came, nothing new starts: the promise never settles, and the signal's cleanup ends the process.
 */
export function starting<T>(start: () => Promise<T>, stop: (service: T) => Promise<unknown>): Promise<T> {
  if (stopping) return new Promise<T>(() => {});
  const started = start();
  cleanups.push(() => started.then(stop, () => undefined));
  return started;
}

function onSignal(signal: NodeJS.Signals): void {
  const code = 128 + (osConstants.signals[signal] ?? 0);
  if (stopping) {
    // A second signal: leave now. PostgreSQL servers are killed by the test helper's exit hook.
    process.stdout.write(`${signal} again: exiting without waiting for the cleanup\n`);
    process.exit(code);
  }
  stopping = true;
  process.stdout.write(`\n${signal}: cleaning up (stopping what was started, also what is still starting)\n`);
  void cleanup().finally(() => process.exit(code));
}

/** On SIGINT, SIGTERM and SIGHUP: clean up, then exit 128 + the signal's number (130, 143, 129). */
export function cleanUpOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}
