// pods/exec over WebSocket, the way the API server (and the kubelet behind it) speaks it to client-node and
// kubectl: binary frames whose first byte is the channel, a JSON Status on channel 3 at the end, then a normal
// close. Exec handlers are plugged in per pod/container by the emulator; localProcessHandler runs real processes.
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { constants as osConstants } from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import type { Duplex, Readable } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

export interface ExecRequest {
  namespace: string;
  pod: any /* the Pod object */;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}
export interface ExecIO {
  stdin: Readable | null;
  stdout: Writable;
  stderr: Writable;
  signal: AbortSignal;
}
/** Runs the command; resolves to its exit code. Throwing reports an InternalError to the client. */
export type ExecHandler = (req: ExecRequest, io: ExecIO) => Promise<number>;

export const STDIN_CHANNEL = 0;
export const STDOUT_CHANNEL = 1;
export const STDERR_CHANNEL = 2;
export const STATUS_CHANNEL = 3;
export const RESIZE_CHANNEL = 4;
/** v5 only, client to server: [255, channel] closes that channel (stdin EOF). Never sent to a client. */
export const CLOSE_CHANNEL = 255;

/**
 * Subprotocols a real cluster accepts for exec in binary form: the API server translates v5 itself, the kubelet
 * serves v4 and the pre-v4 `channel.k8s.io` (also chosen when the client offers no subprotocol at all, '').
 * v2/v3 exist only for SPDY. The base64 variants are not emulated: a client offering only those is refused.
 */
export const EXEC_SUBPROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'] as const;

/** Above this many bytes queued on the socket, the handler's stdout/stderr writes wait for 'drain'. */
export const SOCKET_HIGH_WATER_MARK = 1024 * 1024;
/** The largest payload of one output frame; bigger writes are split. */
export const MAX_FRAME_PAYLOAD = 64 * 1024;
/** Bytes of client stdin buffered towards a slow handler before the socket stops being read. */
export const STDIN_HIGH_WATER_MARK = 1024 * 1024;

/**
 * The subprotocol a real server picks: the first one the client offered that it supports, in the client's
 * order (Go's websocket handshake walks the client's list). '' means the client offered none; null means refuse.
 */
export function negotiateExecProtocol(offered: readonly string[]): string | null {
  if (offered.length === 0) return '';
  return offered.find((p) => (EXEC_SUBPROTOCOLS as readonly string[]).includes(p)) ?? null;
}

/** v4 and v5 report a JSON Status on channel 3; older protocols only a failure's message, as plain text. */
export function reportsJsonStatus(protocol: string): boolean {
  return protocol === 'v5.channel.k8s.io' || protocol === 'v4.channel.k8s.io';
}

/** The Status the kubelet writes for an exit code (wording of kubelet + containerd's CodeExitError). */
export function exitStatus(exitCode: number, command: string[]): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** The Status for an exec that could not run (apierrors.NewInternalError around the runtime's error). */
export function internalErrorStatus(error: unknown): Record<string, unknown> {
  const cause = `error executing command in container: ${error instanceof Error ? error.message : String(error)}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${cause}`,
    reason: 'InternalError',
    details: { causes: [{ message: cause }] },
    code: 500,
  };
}

// One shared server object: noServer mode only performs handshakes, it keeps no listening socket.
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  handleProtocols: (offered) => negotiateExecProtocol([...offered]) || false,
});

/** Completes the WebSocket upgrade for an already validated exec request and runs the handler. */
export function acceptExec(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  exec: ExecRequest,
  handler: ExecHandler,
): void {
  const offered = parseProtocolHeader(req.headers['sec-websocket-protocol']);
  const protocol = negotiateExecProtocol(offered);
  if (protocol === null) {
    // What Go's x/net/websocket answers when the handshake hook rejects every offered subprotocol.
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    void runSession(ws, socket, protocol, exec, handler);
  });
}

function parseProtocolHeader(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const joined = Array.isArray(header) ? header.join(',') : header;
  return joined
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

async function runSession(
  ws: WebSocket,
  socket: Duplex,
  protocol: string,
  exec: ExecRequest,
  handler: ExecHandler,
): Promise<void> {
  // A real server bypasses stderr for a tty session (the terminal merges it into stdout).
  const request: ExecRequest = { ...exec, stderr: exec.tty ? false : exec.stderr };
  const aborter = new AbortController();
  let socketClosed = false;
  let finished = false;

  const send = (channel: number, payload: Buffer): void => {
    const frame = Buffer.allocUnsafe(payload.length + 1);
    frame[0] = channel;
    payload.copy(frame, 1);
    ws.send(frame);
  };

  // Resolves once the socket's send queue is below the high-water mark (or the socket is gone).
  const whenWritable = (done: () => void): void => {
    if (socketClosed || ws.bufferedAmount <= SOCKET_HIGH_WATER_MARK) return done();
    const retry = (): void => {
      socket.off('drain', retry);
      ws.off('close', retry);
      whenWritable(done);
    };
    socket.on('drain', retry);
    ws.on('close', retry);
  };

  const channelWriter = (channel: number, enabled: boolean): Writable =>
    new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        // A channel the client did not ask for is open but ignored, as wsstream's IgnoreChannel is.
        if (!enabled || socketClosed) return callback();
        // Frames stay small, as the API server's io.Copy makes them (clients cap a message's size).
        for (let offset = 0; offset < chunk.length; offset += MAX_FRAME_PAYLOAD) {
          send(channel, chunk.subarray(offset, offset + MAX_FRAME_PAYLOAD));
        }
        whenWritable(() => callback());
      },
    });

  const stdout = channelWriter(STDOUT_CHANNEL, request.stdout);
  const stderr = channelWriter(STDERR_CHANNEL, request.stderr);
  // A handler that writes after it has resolved gets an error on its write callback, not a crashed server.
  for (const stream of [stdout, stderr]) stream.on('error', () => {});
  const stdin = request.stdin ? new PassThrough({ highWaterMark: STDIN_HIGH_WATER_MARK }) : null;
  let stdinOpen = stdin !== null;
  const endStdin = (): void => {
    if (!stdin || !stdinOpen) return;
    stdinOpen = false;
    stdin.end();
    if (ws.isPaused) ws.resume();
  };

  ws.on('error', () => {
    // The 'close' event follows; nothing else to do.
  });
  ws.on('message', (data: Buffer, _isBinary: boolean) => {
    if (finished || data.length === 0) return;
    const channel = data[0];
    if (channel === CLOSE_CHANNEL && protocol === 'v5.channel.k8s.io') {
      if (data.length >= 2 && data[1] === STDIN_CHANNEL) endStdin();
      return;
    }
    if (channel !== STDIN_CHANNEL || !stdin || !stdinOpen) return; // resize and unknown channels: ignored
    if (data.length > 1 && !stdin.write(data.subarray(1))) {
      ws.pause();
      stdin.once('drain', () => {
        if (!socketClosed) ws.resume();
      });
    }
  });
  ws.on('close', () => {
    socketClosed = true;
    if (!finished) aborter.abort(new Error('client disconnected'));
    endStdin();
  });

  // Tells the client the streams are ready: an empty frame on the lowest writable channel.
  send(request.stdout ? STDOUT_CHANNEL : request.stderr ? STDERR_CHANNEL : STATUS_CHANNEL, Buffer.alloc(0));

  let status: Record<string, unknown>;
  try {
    const exitCode = await handler(request, { stdin, stdout, stderr, signal: aborter.signal });
    status = exitStatus(exitCode, request.command);
  } catch (error) {
    status = internalErrorStatus(error);
  }
  // Output the handler wrote goes out before the status.
  await Promise.all([endWritable(stdout), endWritable(stderr)]);
  finished = true;
  endStdin();
  if (socketClosed) return;
  if (reportsJsonStatus(protocol)) {
    send(STATUS_CHANNEL, Buffer.from(JSON.stringify(status)));
  } else if (status.status !== 'Success') {
    send(STATUS_CHANNEL, Buffer.from(String(status.message)));
  }
  // ws sends the close frame after everything queued and waits for the client's reply before ending the socket.
  ws.close(1000);
}

function endWritable(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableFinished || stream.destroyed) return resolve();
    stream.once('finish', () => resolve());
    stream.once('error', () => resolve());
    stream.once('close', () => resolve());
    stream.end();
  });
}

/**
 * A handler that runs the command as a real local process: argv = command (no shell unless the command is
 * sh -c ...), env = this process's environment + the container's plain `env` values from the pod spec (with
 * the kubelet's $(VAR) expansion) + options.env.
 */
export function localProcessHandler(
  options: { env?: Record<string, string>; cwd?: string } = {},
): ExecHandler {
  return (req, io) =>
    new Promise<number>((resolve, reject) => {
      if (io.signal.aborted) return reject(new Error('aborted before start'));
      const env = { ...process.env, ...containerEnv(req.pod, req.container), ...options.env };
      const child = spawn(req.command[0], req.command.slice(1), {
        env,
        cwd: options.cwd,
        stdio: [io.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      let spawnError: Error | null = null;
      child.on('error', (error: NodeJS.ErrnoException) => {
        spawnError = error;
      });
      const kill = (): void => {
        child.kill('SIGKILL');
      };
      io.signal.addEventListener('abort', kill, { once: true });

      if (io.stdin && child.stdin) {
        // The command may exit without reading its input: a broken pipe is not our error.
        child.stdin.on('error', () => {});
        io.stdin.pipe(child.stdin);
      }
      const outputs = [pipeTo(child.stdout!, io.stdout), pipeTo(child.stderr!, io.stderr)];

      child.on('close', (code, signal) => {
        io.signal.removeEventListener('abort', kill);
        if (io.stdin && child.stdin) io.stdin.unpipe(child.stdin);
        void Promise.all(outputs).then(() => {
          if (spawnError) return reject(runtimeError(req.command, spawnError));
          // A container runtime reports death by signal N as exit code 128 + N.
          resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0));
        });
      });
    });
}

// Copies a child's output into a channel writer with backpressure, without ending the writer
// (acceptExec ends it once the handler is done).
function pipeTo(source: Readable, target: Writable): Promise<void> {
  return new Promise((resolve) => {
    source.pipe(target, { end: false });
    source.once('end', () => resolve());
    source.once('close', () => resolve());
    source.once('error', () => resolve());
  });
}

// Wording of containerd/runc for a command that cannot be started, as kubectl shows it.
function runtimeError(command: string[], error: NodeJS.ErrnoException): Error {
  const reason =
    error.code === 'ENOENT'
      ? `exec: "${command[0]}": executable file not found in $PATH`
      : `exec: "${command[0]}": ${error.message}`;
  return new Error(
    `failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: ${reason}: unknown`,
  );
}

/** The container's plain `env` values ($(VAR) expanded against earlier entries, as the kubelet does). */
export function containerEnv(pod: any, containerName: string): Record<string, string> {
  const containers: any[] = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])];
  const container = containers.find((c) => c?.name === containerName);
  const env: Record<string, string> = {};
  for (const entry of container?.env ?? []) {
    if (typeof entry?.name !== 'string' || typeof entry.value !== 'string') continue;
    env[entry.name] = expandEnvReferences(entry.value, env);
  }
  return env;
}

/** Kubernetes' $(VAR) syntax: defined names are replaced, $$ escapes, unknown references stay as written. */
export function expandEnvReferences(value: string, defined: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in defined ? defined[name] : match;
  });
}
