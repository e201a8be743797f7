// Runs DB_SCRIPT through an ExecFn and turns a non-zero exit into a DumpError naming the step.
import { Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import { execCapture } from '../exec/capture.js';
import { ExecError } from '../exec/types.js';
import type { ExecResult } from '../exec/types.js';
import { scriptInvocation } from './argv.js';
import type { ScriptAction } from './argv.js';
import { DumpError, scriptFailure } from './errors.js';
import type { DumpStep } from './errors.js';
import { parseScriptOutput } from './parse.js';
import type { ScriptReport } from './parse.js';
import type { DumpContext } from './types.js';

export interface ScriptOptions {
  dumpDir?: string;
  thresholdPercent?: number;
  args?: string[];
}

/** Runs a script action whose stdout is a small report (check, dump). */
export async function runReportingScript(
  ctx: DumpContext,
  action: ScriptAction,
  options: ScriptOptions,
  fallbackStep: DumpStep,
): Promise<ScriptReport> {
  const { command, stdinPrefix } = scriptInvocation(action, ctx.db, options);
  let result: ExecResult & { stdout: string };
  try {
    result = await execCapture(ctx.exec, { ...ctx.target, command, stdin: stdinPrefix, signal: ctx.signal });
  } catch (e) {
    throw execFailure(action, e, fallbackStep);
  }
  if (result.exitCode !== 0) throw scriptFailure(action, result, fallbackStep);
  return parseScriptOutput(result.stdout);
}

/** Runs a script action with streamed stdin and/or stdout (stream, restore). */
export async function runStreamingScript(
  ctx: DumpContext,
  action: ScriptAction,
  options: ScriptOptions,
  io: { stdin?: Readable; stdout?: Writable; signal?: AbortSignal },
  fallbackStep: DumpStep,
): Promise<ExecResult> {
  const { command, stdinPrefix } = scriptInvocation(action, ctx.db, options);
  const stdin = io.stdin ? withPrefix(stdinPrefix, io.stdin) : stdinPrefix;
  try {
    return await ctx.exec({
      ...ctx.target,
      command,
      stdin,
      requireStdinEof: io.stdin !== undefined,
      stdout: io.stdout,
      signal: io.signal ?? ctx.signal,
    });
  } catch (e) {
    throw execFailure(action, e, fallbackStep);
  }
}

function execFailure(action: string, e: unknown, step: DumpStep): Error {
  if (e instanceof ExecError) return new DumpError(`database ${action}: ${e.message}`, step);
  return e instanceof Error ? e : new Error(String(e));
}

// The password line, then the stream, pulled at the consumer's pace.
function withPrefix(prefix: Buffer | undefined, rest: Readable): Readable {
  if (!prefix) return rest;
  return Readable.from(
    (async function* () {
      yield prefix;
      for await (const chunk of rest) yield chunk as Buffer;
    })(),
    { objectMode: false },
  );
}
