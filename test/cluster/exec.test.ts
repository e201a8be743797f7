import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Exec, KubeConfig } from '@kubernetes/client-node';
import type { V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { acceptExec, localProcessHandler } from './exec.js';
import type { ExecHandler, ExecRequest } from './exec.js';

const tsxBin = join(import.meta.dirname, '../../node_modules/.bin/tsx');

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'db-0', namespace: 'app' },
  spec: {
    containers: [
      {
        name: 'postgres',
        env: [
          { name: 'GREETING', value: 'hello from the pod spec' },
          { name: 'DERIVED', value: '$(GREETING), expanded' },
          { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        ],
      },
    ],
  },
  status: { phase: 'Running' },
};

// The test's own stand-in for the emulator: every exec goes to the handler the current test installs.
let handler: ExecHandler = localProcessHandler();
const upgradeUrls: string[] = [];
let server: Server;
let baseUrl: string;
let kubeConfig: KubeConfig;
let workDir: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'exec-test-'));
  server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    upgradeUrls.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    if (!match) return socket.destroy();
    const flag = (name: string) => url.searchParams.get(name) === 'true';
    const exec: ExecRequest = {
      namespace: match[1],
      pod,
      container: url.searchParams.get('container') ?? '',
      command: url.searchParams.getAll('command'),
      stdin: flag('stdin'),
      stdout: flag('stdout'),
      stderr: flag('stderr'),
      tty: flag('tty'),
    };
    acceptExec(req, socket, head, exec, handler);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'emulator', server: baseUrl, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'secret-token' }],
    contexts: [{ name: 'emulator', cluster: 'emulator', user: 'tester' }],
    currentContext: 'emulator',
  });
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(workDir, { recursive: true, force: true });
});

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Runs a command through real client-node and waits for the status and the socket's close. */
async function clientExec(
  command: string[],
  options: { stdin?: Readable; stdout?: Writable; stderr?: Writable; kubeConfig?: KubeConfig } = {},
): Promise<{ stdout: string; stderr: string; status: V1Status | null }> {
  const out = collector();
  const err = collector();
  let status: V1Status | null = null;
  const ws = await new Exec(options.kubeConfig ?? kubeConfig).exec(
    'app',
    'db-0',
    'postgres',
    command,
    options.stdout ?? out.stream,
    options.stderr ?? err.stream,
    options.stdin ?? null,
    false,
    (s) => {
      status = s;
    },
  );
  if (ws.readyState !== ws.CLOSED) await new Promise((resolve) => ws.on('close', resolve));
  return { stdout: out.text(), stderr: err.text(), status };
}

interface RawSession {
  ws: WebSocket;
  frames: Buffer[];
  closed: Promise<number>;
}

/** A bare ws client, to see the frames and the subprotocol a real client would see. */
async function rawExec(query: string, protocols: string[]): Promise<RawSession> {
  const ws = new WebSocket(
    `${baseUrl.replace('http', 'ws')}/api/v1/namespaces/app/pods/db-0/exec?${query}`,
    protocols,
  );
  const frames: Buffer[] = [];
  ws.on('message', (data: Buffer) => frames.push(data));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await once(ws, 'open');
  return { ws, frames, closed };
}

describe('exec through client-node', () => {
  it('delivers stdout and stderr separately and reports Success', async () => {
    handler = localProcessHandler();
    const result = await clientExec(['sh', '-c', 'echo to-stdout; echo to-stderr >&2']);
    expect(result.stdout).toBe('to-stdout\n');
    expect(result.stderr).toBe('to-stderr\n');
    expect(result.status).toEqual({ metadata: {}, status: 'Success' });
  });

  it('reports a non-zero exit code the way the kubelet does', async () => {
    handler = localProcessHandler();
    const result = await clientExec(['sh', '-c', 'echo partial; exit 3']);
    expect(result.stdout).toBe('partial\n');
    expect(result.status).toEqual({
      metadata: {},
      status: 'Failure',
      message:
        'command terminated with non-zero exit code: error executing command [sh -c echo partial; exit 3], exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
  });

  it('pipes stdin to the command and ends it when the client ends its stream (v5 close frame)', async () => {
    handler = localProcessHandler();
    const result = await clientExec(['cat'], {
      stdin: Readable.from([Buffer.from('line one\n'), 'line two\n']),
    });
    expect(result.stdout).toBe('line one\nline two\n');
    expect(result.status?.status).toBe('Success');
  });

  it('takes a password over stdin that never appears in the request', async () => {
    handler = localProcessHandler();
    const password = 'pa55-' + randomBytes(8).toString('hex');
    const before = upgradeUrls.length;
    const result = await clientExec(
      ['sh', '-c', 'read -r PW; [ "$PW" = "$EXPECTED_SECRET" ] && echo match'],
      {
        stdin: Readable.from([password + '\n']),
      },
    );
    // The handler compares against its own env, which the test injected out of band.
    expect(result.status?.status).toBe('Failure');
    handler = localProcessHandler({ env: { EXPECTED_SECRET: password } });
    const matched = await clientExec(
      ['sh', '-c', 'read -r PW; [ "$PW" = "$EXPECTED_SECRET" ] && echo match'],
      {
        stdin: Readable.from([password + '\n']),
      },
    );
    expect(matched.stdout).toBe('match\n');
    expect(matched.status?.status).toBe('Success');
    const urls = upgradeUrls.slice(before);
    expect(urls).toHaveLength(2);
    for (const url of urls) expect(decodeURIComponent(url)).not.toContain(password);
  });

  it('gives the command the plain env values of the pod spec, with $(VAR) expansion', async () => {
    handler = localProcessHandler({ env: { EXTRA: 'from options' } });
    const result = await clientExec(['sh', '-c', 'echo "$GREETING|$DERIVED|${FROM_SECRET-unset}|$EXTRA"']);
    expect(result.stdout).toBe(
      'hello from the pod spec|hello from the pod spec, expanded|unset|from options\n',
    );
  });

  it('runs argv without a shell', async () => {
    handler = localProcessHandler();
    const result = await clientExec(['echo', '$HOME', '*']);
    expect(result.stdout).toBe('$HOME *\n');
  });

  it('reports a command that cannot start as an InternalError', async () => {
    handler = localProcessHandler();
    const result = await clientExec(['no-such-binary-here']);
    expect(result.status).toMatchObject({
      status: 'Failure',
      reason: 'InternalError',
      code: 500,
    });
    expect(result.status?.message).toContain(
      'Internal error occurred: error executing command in container:',
    );
    expect(result.status?.message).toContain('"no-such-binary-here": executable file not found in $PATH');
  });

  it('reports a handler that throws as an InternalError with its message', async () => {
    handler = async () => {
      throw new Error('pod sandbox is gone');
    };
    const result = await clientExec(['true']);
    expect(result.status).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'Internal error occurred: error executing command in container: pod sandbox is gone',
      reason: 'InternalError',
      details: { causes: [{ message: 'error executing command in container: pod sandbox is gone' }] },
      code: 500,
    });
  });

  it('streams 100 MiB of output complete and in order while the server process stays small', async () => {
    const file = join(workDir, 'big.bin');
    const expected = createHash('sha256');
    const out = createWriteStream(file);
    for (let i = 0; i < 100; i++) {
      const chunk = randomBytes(1024 * 1024);
      expected.update(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');

    // The server runs in its own process, so its memory is not mixed with the client's.
    const child = spawn(tsxBin, [join(import.meta.dirname, 'fixtures/exec-server.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      const serverUrl = line.toString().trim();
      const remote = new KubeConfig();
      remote.loadFromOptions({
        clusters: [{ name: 'c', server: serverUrl, skipTLSVerify: true }],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
        currentContext: 'c',
      });
      const hash = createHash('sha256');
      let received = 0;
      // A client slower than the command: each chunk holds its event loop for a moment, so the
      // socket fills up and the server has to hold the command back rather than queue its output.
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          received += chunk.length;
          const until = performance.now() + 1;
          while (performance.now() < until);
          cb();
        },
      });
      const result = await clientExec(['cat', file], { stdout: sink, kubeConfig: remote });
      const memory = (await (await fetch(`${serverUrl}/memory`)).json()) as {
        baselineRss: number;
        peakRss: number;
      };
      if (process.env.EXEC_TEST_VERBOSE)
        console.log('server RSS growth MiB', (memory.peakRss - memory.baselineRss) / 2 ** 20);
      expect(result.status?.status).toBe('Success');
      expect(received).toBe(100 * 1024 * 1024);
      expect(hash.digest('hex')).toBe(expected.digest('hex'));
      // Queueing the output in the server instead of pausing the command grew it by ~95 MiB when measured;
      // with backpressure it grew by ~35 MiB (runtime warm-up included).
      expect(memory.peakRss - memory.baselineRss).toBeLessThan(60 * 1024 * 1024);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('exec protocol details', () => {
  it('negotiates v5, opens with an empty stdout frame and ends with the status and a normal close', async () => {
    handler = localProcessHandler();
    const session = await rawExec('command=echo&command=hi&stdout=true&stderr=true', [
      'v5.channel.k8s.io',
      'v4.channel.k8s.io',
      'channel.k8s.io',
    ]);
    expect(session.ws.protocol).toBe('v5.channel.k8s.io');
    expect(await session.closed).toBe(1000);
    expect(session.frames[0]).toEqual(Buffer.from([1]));
    expect(session.frames.at(-1)?.[0]).toBe(3);
    expect(JSON.parse(session.frames.at(-1)!.subarray(1).toString())).toEqual({
      metadata: {},
      status: 'Success',
    });
    expect(session.frames.every((f) => f[0] !== 255)).toBe(true);
  });

  it('opens with an empty status frame when no output channel was requested', async () => {
    handler = async () => 0;
    const session = await rawExec('command=true', ['v4.channel.k8s.io']);
    expect(session.ws.protocol).toBe('v4.channel.k8s.io');
    await session.closed;
    expect(session.frames[0]).toEqual(Buffer.from([3]));
  });

  it('on channel.k8s.io reports only a failure, as plain text', async () => {
    handler = async () => 2;
    const failed = await rawExec('command=false&stdout=true', ['channel.k8s.io']);
    await failed.closed;
    expect(failed.frames.at(-1)!.subarray(1).toString()).toBe(
      'command terminated with non-zero exit code: error executing command [false], exit code 2',
    );
    handler = async () => 0;
    const succeeded = await rawExec('command=true&stdout=true', ['channel.k8s.io']);
    await succeeded.closed;
    expect(succeeded.frames).toEqual([Buffer.from([1])]);
  });

  it('refuses a client that offers no supported subprotocol with 403', async () => {
    const ws = new WebSocket(
      `${baseUrl.replace('http', 'ws')}/api/v1/namespaces/app/pods/db-0/exec?command=true`,
      ['base64.channel.k8s.io'],
    );
    ws.on('error', () => {});
    const [, response] = await once(ws, 'unexpected-response');
    expect(response.statusCode).toBe(403);
    response.destroy();
  });

  it('drops stderr for a tty session, as a real server does', async () => {
    let seen: ExecRequest | undefined;
    handler = async (req, io) => {
      seen = req;
      io.stderr.write('invisible');
      io.stdout.write('visible');
      return 0;
    };
    const session = await rawExec('command=x&stdout=true&stderr=true&tty=true', ['v5.channel.k8s.io']);
    await session.closed;
    expect(seen?.stderr).toBe(false);
    const channels = session.frames.map((f) => f[0]);
    expect(channels).not.toContain(2);
    expect(Buffer.concat(session.frames.filter((f) => f[0] === 1).map((f) => f.subarray(1))).toString()).toBe(
      'visible',
    );
  });

  it('splits a large write into small frames and survives a handler writing after it resolved', async () => {
    const payload = randomBytes(3 * 1024 * 1024 + 5);
    handler = async (_req, io) => {
      io.stdout.write(payload);
      setTimeout(() => io.stdout.write('too late'), 10);
      return 0;
    };
    const session = await rawExec('command=x&stdout=true', ['v5.channel.k8s.io']);
    await session.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const output = session.frames.filter((f) => f[0] === 1);
    expect(Math.max(...output.map((f) => f.length))).toBeLessThanOrEqual(64 * 1024 + 1);
    expect(Buffer.concat(output.map((f) => f.subarray(1))).equals(payload)).toBe(true);
  });

  it('holds the handler back while the client is not reading, then delivers everything', async () => {
    const total = 256 * 1024 * 1024;
    let accepted = 0;
    handler = async (_req, io) => {
      const chunk = Buffer.alloc(1024 * 1024, 7);
      while (accepted < total) {
        await new Promise<void>((resolve, reject) =>
          io.stdout.write(chunk, (e) => (e ? reject(e) : resolve())),
        );
        accepted += chunk.length;
      }
      return 0;
    };
    const ws = new WebSocket(
      `${baseUrl.replace('http', 'ws')}/api/v1/namespaces/app/pods/db-0/exec?command=x&stdout=true`,
      ['v5.channel.k8s.io'],
    );
    await once(ws, 'open');
    // Stop reading: the kernel buffers fill, then the server's queue, then the handler must wait.
    (ws as any)._socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const acceptedWhilePaused = accepted;
    if (process.env.EXEC_TEST_VERBOSE) console.log('accepted while paused MiB', accepted / 2 ** 20);
    expect(acceptedWhilePaused).toBeLessThan(48 * 1024 * 1024);

    let received = 0;
    let status = '';
    ws.on('message', (data: Buffer) => {
      if (data[0] === 1) received += data.length - 1;
      if (data[0] === 3) status = JSON.parse(data.subarray(1).toString()).status;
    });
    const closed = once(ws, 'close');
    (ws as any)._socket.resume();
    await closed;
    expect(received).toBe(total);
    expect(status).toBe('Success');
  });

  it('stops reading the socket while the handler does not consume stdin', async () => {
    const sent = 64 * 1024 * 1024;
    let bufferedWhileIdle = -1;
    let consumed = 0;
    handler = async (_req, io) => {
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const deadline = Date.now() + 10_000;
      // Everything the server holds for the handler: the stream's readable and (PassThrough) writable sides.
      const held = () => io.stdin!.readableLength + ((io.stdin as any).writableLength ?? 0);
      while (held() < 1024 * 1024 && Date.now() < deadline) await sleep(20);
      // Time enough for tens of MiB more to pile up, were the socket still being read.
      await sleep(300);
      bufferedWhileIdle = held();
      for await (const chunk of io.stdin!) consumed += (chunk as Buffer).length;
      io.stdout.write(String(consumed));
      return 0;
    };
    const session = await rawExec('command=x&stdin=true&stdout=true', ['v5.channel.k8s.io']);
    const frame = Buffer.alloc(64 * 1024 + 1, 5);
    frame[0] = 0;
    for (let i = 0; i < sent / (64 * 1024); i++) session.ws.send(frame);
    session.ws.send(Buffer.from([255, 0]));
    await session.closed;
    expect(bufferedWhileIdle).toBeGreaterThan(0);
    expect(bufferedWhileIdle).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(consumed).toBe(sent);
    const out = session.frames.filter((f) => f[0] === 1).map((f) => f.subarray(1).toString());
    expect(out.join('')).toBe(String(sent));
  });

  it('kills the local process when the client disconnects', async () => {
    let finished: Promise<unknown> = Promise.resolve();
    let aborted = false;
    const local = localProcessHandler();
    handler = (req, io) => {
      io.signal.addEventListener('abort', () => (aborted = true));
      finished = local(req, io);
      return finished as Promise<number>;
    };
    const session = await rawExec('command=sleep&command=30&stdout=true', ['v5.channel.k8s.io']);
    const started = Date.now();
    session.ws.terminate();
    const code = await finished;
    expect(aborted).toBe(true);
    expect(code).toBe(128 + 9);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('ignores stdin sent for a session without stdin and frames on the resize channel', async () => {
    let gotStdin: unknown = 'unset';
    handler = async (_req, io) => {
      gotStdin = io.stdin;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return 0;
    };
    const session = await rawExec('command=x&stdout=true', ['v5.channel.k8s.io']);
    session.ws.send(Buffer.from([0, 65, 66]));
    session.ws.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"Width":80,"Height":24}')]));
    expect(await session.closed).toBe(1000);
    expect(gotStdin).toBeNull();
  });
});
