// What every entrypoint shares: read config (flags and environment), set up the logger, run, map the outcome to an
// exit code, print one summary line. An entrypoint module defines a Command and nothing more.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  helpText,
  loadConfig,
  oneOf,
  parseArgs,
  str,
  url,
  rawSecretValues,
  secretValues,
  unknownVariableProblems,
} from './config/index.js';
import type { ConfigOf, ParsedArgs, Schema } from './config/index.js';
import { ExitCode, JobError } from './exit.js';
import { Logger } from './log.js';
import { pushRunMetrics, type RunFacts } from './metrics/pushgateway.js';
import type { Level, LogFormat } from './log.js';
import { Redactor } from './redact.js';

/** What every command takes besides its own settings: logging, and where to push its run's metrics. */
export const loggingSettings = {
  logFormat: oneOf(['json', 'text'] as const, {
    env: 'NSBACKUP_LOG_FORMAT',
    default: (env) => defaultLogFormat(env),
    defaultText: 'text on a terminal, else json',
    description: 'Log format: JSON lines for collectors, or text for people.',
  }),
  logLevel: oneOf(['debug', 'info', 'warn', 'error'] as const, {
    env: 'NSBACKUP_LOG_LEVEL',
    default: 'info',
    description: 'Lowest level that is logged.',
  }),
  statusConfigMap: str({
    env: 'NSBACKUP_STATUS_CONFIGMAP',
    pattern: /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/,
    patternText: 'a ConfigMap name',
    description:
      'ConfigMap in the namespace that backup, verify, retain, mark-and-delete and volume-check record each run in ' +
      '(`<command>.lastAttempt`, `.lastResult`, `.lastSuccess`, `.lastBackupId`, `.lastError`), read by ' +
      '`nsbackup status`. A failure never overwrites the last success; a write that fails is logged and never fails ' +
      'the run. Empty: none.',
  }),
  pushgatewayUrl: url({
    env: 'NSBACKUP_PUSHGATEWAY_URL',
    description:
      'Prometheus Pushgateway to push each run to (job="nsbackup", namespace, command): last attempt and success ' +
      'times, duration, result, and the numbers of the summary. A push that fails is logged and never fails the run.',
  }),
};

/**
 * The format before the configuration is read (its own errors are logged too): NSBACKUP_LOG_FORMAT when it is
 * valid, else text for a person at a terminal and JSON for a collector.
 */
function defaultLogFormat(env: NodeJS.ProcessEnv): LogFormat {
  const asked = env.NSBACKUP_LOG_FORMAT;
  if (asked === 'json' || asked === 'text') return asked;
  return process.stderr.isTTY ? 'text' : 'json';
}

/** Secrets in variables outside the schemas (the AWS SDK reads them itself). */
export const STANDARD_SECRET_VARIABLES = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

export interface RunContext<S extends Schema> {
  config: ConfigOf<S>;
  log: Logger;
  args: ParsedArgs;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGTERM/SIGINT: long steps stop at the next safe point. */
  signal: AbortSignal;
  /** Where command output (tables, JSON) goes; logs go to stderr. */
  out: (text: string) => void;
}

export interface RunResult {
  exitCode?: number;
  /** Fields for the final summary line. */
  summary?: Record<string, unknown>;
}

export interface Command<S extends Schema = Schema> {
  name: string;
  summary: string;
  usage?: string;
  schema: S;
  /** Setting keys filled from positional arguments, in order. */
  positional?: string[];
  /** Short flags, e.g. { '-n': '--namespace' }. */
  aliases?: Record<string, string>;
  /** Commands that print their result (list, diff) skip the summary line unless it failed. */
  quiet?: boolean;
  /** Records each run in the namespace's status ConfigMap (NSBACKUP_STATUS_CONFIGMAP), when one is named. */
  recordsStatus?: boolean;
  /**
   * Called when the configuration did not load (the run then exits 2 without calling `run`): a command that must
   * report every failed run (backup's failure ping) reads what it still can from the raw input. Its errors are
   * ignored.
   */
  onConfigError?(ctx: ConfigErrorContext): Promise<void>;
  run(ctx: RunContext<S>): Promise<RunResult | void>;
}

export interface ConfigErrorContext {
  env: NodeJS.ProcessEnv;
  /** Undefined when the command line itself did not parse. */
  args?: ParsedArgs;
  log: Logger;
}

export function defineCommand<S extends Schema>(command: Command<S>): Command<S> {
  return command;
}

export interface RunOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Log line sink; defaults to stderr. */
  write?: (line: string) => void;
  out?: (text: string) => void;
}

export async function runCommand<S extends Schema>(
  command: Command<S>,
  opts: RunOptions = {},
): Promise<number> {
  const env = opts.env ?? process.env;
  const out = opts.out ?? ((t: string) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'));
  const schema = { ...command.schema, ...loggingSettings } as S & typeof loggingSettings;
  const startedAt = Date.now();
  const redactor = new Redactor();
  // The standard variables the S3 client reads itself, whatever the command: masked from the first line on.
  for (const name of STANDARD_SECRET_VARIABLES) redactor.add(env[name]);
  let log = new Logger({
    redactor,
    write: opts.write,
    format: defaultLogFormat(env),
    base: { command: command.name },
  });
  let args: ParsedArgs;
  let parsedArgs: ParsedArgs | undefined;
  let config: ConfigOf<typeof schema>;
  try {
    args = parseArgs(opts.argv ?? [], schema, command.aliases);
    parsedArgs = args;
    if (args.help || args.helpAll) {
      const usage = command.usage ?? `nsbackup ${command.name} [options]`;
      out(helpText(usage, command.summary, schema, { all: args.helpAll }));
      return ExitCode.ok;
    }
    // A misspelt variable would otherwise be ignored and its default used (the pod's own namespace, say).
    const unknown = unknownVariableProblems(
      env,
      Object.values(schema).map((setting) => setting.env),
    );
    if (unknown.length) throw new ConfigError(unknown);
    config = loadConfig(schema, { env, args, positional: command.positional });
  } catch (e) {
    if (e instanceof ConfigError) {
      // Secret values are never echoed by loadConfig; still mask anything that looks like one.
      for (const v of rawSecretValues(schema, env)) redactor.add(v);
      log.error(e.message, { exitCode: ExitCode.badConfig });
      await command.onConfigError?.({ env, args: parsedArgs, log }).catch(() => undefined);
      return ExitCode.badConfig;
    }
    throw e;
  }
  for (const v of secretValues(schema, config)) redactor.add(v);
  log = new Logger({
    redactor,
    write: opts.write,
    format: config.logFormat as LogFormat,
    level: config.logLevel as Level,
    base: { command: command.name },
  });

  const abort = new AbortController();
  const onSignal = (sig: string) => {
    log.warn(`received ${sig}, stopping at the next safe point`);
    abort.abort(new JobError(`stopped by ${sig}`));
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  try {
    const ctx = { config, log, args, env, signal: abort.signal, out };
    const { exitCode, summary, error } = await runToSummary(command, ctx, startedAt);
    const namespace = String(summary.namespace ?? (config as { namespace?: string }).namespace ?? '');
    const run = {
      command: command.name,
      namespace: namespace || 'none',
      startedAt,
      finishedAt: Date.now(),
      exitCode,
      summary,
    };
    const pushgateway = config.pushgatewayUrl as string;
    if (pushgateway) {
      await pushRunMetrics(pushgateway, run).catch((e) =>
        log.warn('could not push metrics to the Pushgateway', { error: (e as Error).message }),
      );
    }
    const statusConfigMap = config.statusConfigMap as string;
    if (
      statusConfigMap &&
      command.recordsStatus &&
      /^[a-z0-9-]+$/.test(namespace) &&
      'kubeconfig' in config
    ) {
      await recordStatus(
        statusConfigMap,
        run,
        error === undefined ? undefined : redactor.text(error),
        ctx,
      ).catch((e) =>
        log.warn('could not record the run in the status ConfigMap', { error: (e as Error).message }),
      );
    }
    return exitCode;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}

/** Runs the command and logs its summary line; any error becomes the exit code it stands for. */
async function runToSummary<S extends Schema>(
  command: Command<S>,
  ctx: RunContext<S>,
  startedAt: number,
): Promise<{ exitCode: number; summary: Record<string, unknown>; error?: string }> {
  try {
    const result = (await command.run(ctx)) ?? {};
    const exitCode = result.exitCode ?? ExitCode.ok;
    const summary = result.summary ?? {};
    if (!command.quiet || exitCode !== ExitCode.ok) {
      ctx.log.summary(exitCode === ExitCode.ok ? 'success' : 'failure', startedAt, { exitCode, ...summary });
    }
    return { exitCode, summary, error: typeof summary.error === 'string' ? summary.error : undefined };
  } catch (e) {
    const exitCode =
      e instanceof JobError ? e.exitCode : e instanceof ConfigError ? ExitCode.badConfig : ExitCode.failed;
    const message = e instanceof Error ? e.message : String(e);
    ctx.log.summary('failure', startedAt, { exitCode, error: message });
    if (!(e instanceof JobError) && !(e instanceof ConfigError) && e instanceof Error && e.stack) {
      ctx.log.debug('stack', { stack: e.stack });
    }
    return { exitCode, summary: {}, error: message };
  }
}

/** Loaded only when asked for: most commands never touch a ConfigMap, and start-up time counts. */
async function recordStatus(
  name: string,
  run: RunFacts,
  error: string | undefined,
  ctx: { config: Record<string, unknown>; env: NodeJS.ProcessEnv; log: Logger },
): Promise<void> {
  const [{ connect }, { recordRunStatus }] = await Promise.all([
    import('./kube/client.js'),
    import('./metrics/status-configmap.js'),
  ]);
  const kube = connect({
    kubeconfigPath: (ctx.config.kubeconfig as string) || undefined,
    context: (ctx.config.kubeContext as string) || undefined,
    env: ctx.env,
  });
  await recordRunStatus(kube, run.namespace, name, run, error);
  ctx.log.debug('run recorded in the status ConfigMap', { configMap: name, namespace: run.namespace });
}

/** True when the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string | undefined): boolean {
  // The single-file executable's bundle has no module URLs (tools/package.ts): no module there is a script of its
  // own, the front door runs from the startup snapshot (tools/sea-entry.ts).
  if (!moduleUrl || !process.argv[1]) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(process.argv[1]);
  } catch {
    return false;
  }
}

/** For `node dist/scripts/<name>.js`: run the command with this process's argv and exit with its code. */
export function runIfMain(command: Command<any>, moduleUrl: string): void {
  if (!isMain(moduleUrl)) return;
  runCommand(command, { argv: process.argv.slice(2) }).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`nsbackup: unexpected error: ${e instanceof Error ? e.message : e}\n`);
      process.exit(ExitCode.failed);
    },
  );
}
