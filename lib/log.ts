// Logging: JSON lines by default (one object per line, for log collectors), `text` for people.
// Every run ends with one summary line carrying its outcome and duration.

import { Redactor } from './redact.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  format?: LogFormat;
  level?: Level;
  /** Where lines go; default process.stderr so stdout stays free for command output (tables, JSON). */
  write?: (line: string) => void;
  redactor?: Redactor;
  /** Fields added to every line (e.g. command, namespace). */
  base?: Record<string, unknown>;
  now?: () => Date;
}

export interface Progress {
  /** Adds to the amount done (objects, bytes). */
  add(n: number): void;
  /** Logs a final progress line and stops the timer. */
  done(): void;
}

export class Logger {
  readonly redactor: Redactor;
  private readonly format: LogFormat;
  private readonly level: Level;
  private readonly write: (line: string) => void;
  private readonly base: Record<string, unknown>;
  private readonly now: () => Date;

  constructor(opts: LoggerOptions = {}) {
    this.format = opts.format ?? 'json';
    this.level = opts.level ?? 'info';
    this.write = opts.write ?? ((line) => process.stderr.write(line + '\n'));
    this.redactor = opts.redactor ?? new Redactor();
    this.base = opts.base ?? {};
    this.now = opts.now ?? (() => new Date());
  }

  child(fields: Record<string, unknown>): Logger {
    return new Logger({
      format: this.format,
      level: this.level,
      write: this.write,
      redactor: this.redactor,
      base: { ...this.base, ...fields },
      now: this.now,
    });
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }

  log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const safe = this.redactor.value({ ...this.base, ...fields }) as Record<string, unknown>;
    const message = this.redactor.text(msg);
    const time = this.now().toISOString();
    if (this.format === 'json') {
      this.write(JSON.stringify({ time, level, msg: message, ...safe }));
    } else {
      const extra = Object.entries(safe)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      this.write(
        `${time.slice(11, 19)} ${level.toUpperCase().padEnd(5)} ${message}${extra ? '  ' + extra : ''}`,
      );
    }
  }

  /** The one line that closes every run. */
  summary(outcome: 'success' | 'failure', startedAt: number, fields: Record<string, unknown> = {}): void {
    const durationSeconds = Math.round((Date.now() - startedAt) / 100) / 10;
    this.log(
      outcome === 'success' ? 'info' : 'error',
      `run ${outcome === 'success' ? 'succeeded' : 'failed'}`,
      {
        summary: true,
        outcome,
        durationSeconds,
        ...fields,
      },
    );
  }

  /**
   * Reports progress of a long step at a steady interval: done, total where known, rate.
   * `unit` is 'bytes' or a noun such as 'objects'.
   */
  progress(step: string, opts: { total?: number; unit?: string; intervalMs?: number } = {}): Progress {
    const started = Date.now();
    let done = 0;
    const unit = opts.unit ?? 'items';
    const line = (final: boolean) => {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      this.info(final ? `${step} finished` : `${step} in progress`, {
        step,
        done,
        total: opts.total,
        unit,
        ratePerSecond: Math.round(done / seconds),
        elapsedSeconds: Math.round(seconds * 10) / 10,
      });
    };
    const timer = setInterval(() => line(false), opts.intervalMs ?? 10_000);
    timer.unref();
    return {
      add: (n) => {
        done += n;
      },
      done: () => {
        clearInterval(timer);
        line(true);
      },
    };
  }
}
