// pods/exec through client-node's Exec, wrapped to fix what it leaves out:
// - Exec.exec() resolves when the socket opens; we resolve only after the status frame AND the socket's close,
//   and a socket that closes without a status is a failure (the command's fate is unknown);
// - client-node writes stdout into the stream without looking at write()'s result: we pause the WebSocket while
//   the caller's stdout is over its highWaterMark and resume on 'drain' (a slow S3 upload keeps memory flat);
// - it sends stdin as fast as it can be read: we stop reading the source while the socket's send queue is full;
// - it throws (uncaught) on frames of an unknown channel, and cannot parse the plain-text status of pre-v4
//   protocols: we open the socket ourselves (Exec takes a socket factory), offer only v5/v4 and catch what its
//   frame handler throws.
import { Readable, Writable } from 'node:stream';
import { Exec } from '@kubernetes/client-node';
import type { KubeConfig, V1Status } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { defaultRetryPolicy, withRetry } from '../kube/retry.js';
import type { RetryDecision, RetryPolicy } from '../kube/retry.js';
import type { Logger } from '../log.js';
import { TailBuffer } from './tail.js';
import { DEFAULT_STDERR_LIMIT, ExecError } from './types.js';
import type { ExecFn, ExecOptions, ExecResult } from './types.js';

/** Protocols whose status frame is JSON (client-node parses it as JSON) and that carry stdin. */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** Above this many bytes queued on the socket we stop reading stdin. */
const STDIN_SOCKET_HIGH_WATER = 1024 * 1024;

/** How a refused or failed exec upgrade is retried (only before the command started). */
export interface UpgradeRetry {
  policy?: RetryPolicy;
  log?: Pick<Logger, 'warn'>;
  sleep?: (ms: number) => Promise<void>;
}

/** An ExecFn bound to a cluster. */
export function podExec(kube: { kc: KubeConfig }, retry: UpgradeRetry = {}): ExecFn {
  return (options) => execInPod(kube, options, retry);
}

/** The server answered the upgrade request without upgrading: the command never started. */
export class UpgradeRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'UpgradeRefused';
  }
}

/** Connection errors of a request that got no answer: transient, and before a 101 nothing ran. */
const TRANSIENT_CONNECTION_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
];

/**
 * Whether an exec upgrade that failed is tried again. Only failures before the WebSocket opened come here: the
 * command starts only once the server switched protocols, so none of it ran. 429 (API priority and fairness),
 * 5xx (the API server or the kubelet could not start the session) and a connection that broke without an answer
 * are transient; anything else (403, 404 pod gone, 400 no such container) is not.
 */
export function upgradeRetryDecision(e: unknown): RetryDecision {
  if (e instanceof UpgradeRefused)
    return e.status === 429 || e.status >= 500 ? { retry: true, afterMs: e.retryAfterMs } : { retry: false };
  const code = (e as NodeJS.ErrnoException)?.code;
  const message = (e as Error)?.message ?? '';
  return {
    retry:
      (code !== undefined && TRANSIENT_CONNECTION_CODES.includes(code)) || /socket hang up/.test(message),
  };
}

/** Maps the exec Status to an exit code; a failure that is not a process exit becomes an ExecError. */
export function exitCodeFromStatus(status: V1Status | Record<string, any>): number {
  if (status?.status === 'Success') return 0;
  const causes: any[] = (status as any)?.details?.causes ?? [];
  if (status?.reason === 'NonZeroExitCode') {
    const code = Number(causes.find((c) => c?.reason === 'ExitCode')?.message);
    if (Number.isInteger(code)) return code;
  }
  throw new ExecError(
    `exec failed: ${status?.message ?? JSON.stringify(status)}`,
    String(status?.reason ?? 'Unknown'),
  );
}

export async function execInPod(
  kube: { kc: KubeConfig },
  options: ExecOptions,
  retry: UpgradeRetry = {},
): Promise<ExecResult> {
  const { namespace, pod, container, command } = options;
  const where = `${namespace}/${pod} container ${container}`;
  if (command.length === 0) throw new ExecError('exec: empty command', 'BadRequest');
  if (options.signal?.aborted) throw new ExecError(`exec in ${where}: aborted before start`, 'Aborted');

  const stderrTail = new TailBuffer(options.stderrLimitBytes ?? DEFAULT_STDERR_LIMIT);
  let socket: WebSocket | undefined;
  let failure: Error | undefined;
  let status: V1Status | undefined;
  let settle: (() => void) | undefined;

  const fail = (error: Error): void => {
    failure ??= error;
    if (socket && socket.readyState !== WebSocket.CLOSED) socket.terminate();
    settle?.();
  };

  // What client-node writes stdout into: forwarded synchronously to the caller's stream; when that stream is
  // full, the socket stops being read until it drains.
  const caller = options.stdout;
  let waitingForDrain = false;
  const stdoutSink = caller
    ? new Writable({
        write(chunk: Buffer, _enc, callback) {
          if (failure) return callback();
          if (!caller.write(chunk) && !waitingForDrain && socket) {
            waitingForDrain = true;
            socket.pause();
            const resume = (): void => {
              waitingForDrain = false;
              caller.off('drain', resume);
              caller.off('close', resume);
              if (socket && socket.readyState === WebSocket.OPEN) socket.resume();
            };
            caller.on('drain', resume);
            caller.on('close', resume);
          }
          callback();
        },
        final(callback) {
          callback(); // client-node ends it on the status frame; the caller's stream is the caller's to end
        },
      })
    : undefined;
  const onSinkError = (e: Error): void =>
    fail(new ExecError(`exec in ${where}: stdout sink failed: ${e.message}`, 'Sink'));
  caller?.on('error', onSinkError);

  const stdinFeed = options.stdin ? new Readable({ read() {} }) : undefined;

  const wsHandler: ExecSocketFactory = {
    connect: async (path, _text, binaryHandler) => {
      socket = await openExecSocket(kube.kc, path, (channel, payload) => {
        try {
          return binaryHandler ? binaryHandler(channel, payload) : true;
        } catch (e) {
          fail(new ExecError(`exec in ${where}: bad frame from server: ${(e as Error).message}`, 'Protocol'));
          return false;
        }
      });
      return socket as any;
    },
  };
  const exec = new Exec(kube.kc, wsHandler);

  let stopStdin = (): void => {};
  const onAbort = (): void => fail(new ExecError(`exec in ${where}: aborted`, 'Aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    let lastError: unknown;
    try {
      await withRetry(
        async (attempt) => {
          if (attempt > 1)
            retry.log?.warn('exec upgrade failed before the command started: trying again', {
              pod: `${namespace}/${pod}`,
              container,
              attempt,
              error: (lastError as Error)?.message,
            });
          try {
            await exec.exec(
              namespace,
              pod,
              container,
              command,
              stdoutSink ?? null,
              stderrTail,
              stdinFeed ?? null,
              false,
              (s: V1Status) => {
                status = s;
              },
            );
          } catch (e) {
            lastError = e;
            throw e;
          }
        },
        (e) => (failure || options.signal?.aborted ? { retry: false } : upgradeRetryDecision(e)),
        retry.policy ?? defaultRetryPolicy,
        retry.sleep,
      );
    } catch (e: any) {
      if (failure) throw failure;
      throw new ExecError(
        `exec in ${where}: could not connect (the command did not start): ${e?.message ?? String(e)}`,
        'Connect',
      );
    }
    const ws = socket!;
    if (failure) throw failure; // aborted while connecting (finally terminates the socket)
    const closed = new Promise<void>((resolve) => {
      settle = resolve;
      if (ws.readyState === WebSocket.CLOSED) resolve();
      ws.on('close', () => resolve());
    });
    // From here on the command may have run (part of) its work: a broken session is never retried.
    ws.on('error', (e) =>
      fail(
        new ExecError(`exec in ${where}: ${e.message} (the command had started: not retried)`, 'Connection'),
      ),
    );
    if (options.stdin && stdinFeed) stopStdin = pumpStdin(options, stdinFeed, ws, fail, where);

    await closed;
    if (failure) throw failure;
    if (!status) {
      throw new ExecError(
        `exec in ${where}: the connection closed before the command reported its exit status ` +
          '(it had started: not retried)' +
          (stderrTail.text() ? `; stderr: ${stderrTail.text().slice(-500)}` : ''),
        'NoStatus',
      );
    }
    const exitCode = exitCodeFromStatus(status);
    return { exitCode, stderr: stderrTail.text(), stderrTruncated: stderrTail.truncated };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (socket && socket.readyState !== WebSocket.CLOSED) socket.terminate();
    stopStdin();
    caller?.off('error', onSinkError);
  }
}

// Feeds the caller's stdin into the stream client-node sends from, reading the source only while the socket's
// send queue is short. EOF is forwarded only where the protocol has half-close (client-node closes the whole
// socket on stdin end for v4, which would kill the command).
function pumpStdin(
  options: ExecOptions,
  feed: Readable,
  ws: WebSocket,
  fail: (e: Error) => void,
  where: string,
): () => void {
  const source = Buffer.isBuffer(options.stdin) ? Readable.from([options.stdin]) : options.stdin!;
  const raw = (ws as any)._socket as NodeJS.EventEmitter | undefined;
  let waiting = false;
  const resumeWhenDrained = (): void => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount <= STDIN_SOCKET_HIGH_WATER) {
      waiting = false;
      source.resume();
      return;
    }
    const again = (): void => {
      clearTimeout(timer);
      raw?.off('drain', again);
      resumeWhenDrained();
    };
    const timer = setTimeout(again, 50); // in case 'drain' fired between our check and the listener
    raw?.once('drain', again);
  };
  const onData = (chunk: Buffer | string): void => {
    if (ws.readyState !== WebSocket.OPEN) return;
    feed.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (!waiting && ws.bufferedAmount > STDIN_SOCKET_HIGH_WATER) {
      waiting = true;
      source.pause();
      resumeWhenDrained();
    }
  };
  source.on('data', onData);
  source.on('end', () => {
    if (ws.protocol === 'v5.channel.k8s.io') feed.push(null);
    else if (options.requireStdinEof) {
      fail(
        new ExecError(
          `exec in ${where}: the server speaks ${ws.protocol || 'an old exec protocol'}, which cannot close stdin ` +
            'without ending the session; streaming input needs v5.channel.k8s.io (Kubernetes >= 1.30)',
          'NoHalfClose',
        ),
      );
    }
  });
  source.on('error', (e) =>
    fail(new ExecError(`exec in ${where}: stdin source failed: ${e.message}`, 'Source')),
  );
  // Once the command is done, stop reading the caller's source (it stays the caller's to destroy).
  return () => {
    source.off('data', onData);
    source.pause();
  };
}

type ExecSocketFactory = NonNullable<ConstructorParameters<typeof Exec>[1]>;

// Opens the exec WebSocket the way client-node would (same URL and credentials), but offering only the
// protocols with a JSON status, without compression (API servers do not negotiate it), and with the server's
// own words when the upgrade is refused (e.g. 404 pod not found, 403 forbidden).
export async function openExecSocket(
  kc: KubeConfig,
  path: string,
  onFrame: (channel: number, payload: Buffer) => boolean,
): Promise<WebSocket> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const uri = cluster.server.replace(/^http/, 'ws').replace(/\/$/, '') + path;
  const opts: Record<string, any> = {};
  await kc.applyToHTTPSOptions(opts);
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(uri, EXEC_PROTOCOLS, { ...opts, perMessageDeflate: false });
    let open = false;
    ws.on('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let message = text.slice(0, 300);
        try {
          message = JSON.parse(text).message ?? message;
        } catch {
          // not a Status: keep the text
        }
        const retryAfter = Number(res.headers['retry-after']);
        reject(
          new UpgradeRefused(
            `HTTP ${res.statusCode}${message ? `: ${message}` : ''}`,
            res.statusCode ?? 0,
            Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
          ),
        );
        req.destroy();
      });
    });
    ws.once('open', () => {
      open = true;
      resolve(ws);
    });
    ws.on('error', (e) => {
      if (!open) reject(e);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length === 0) return;
      if (!onFrame(data[0], data.subarray(1))) ws.close();
    });
  });
}
