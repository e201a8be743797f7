import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecError, execCapture, execInPod, podExec } from '../../lib/exec/index.js';
import { DROPPING_POD, startExecServer } from './exec-server.js';
import type { ExecServer } from './exec-server.js';

let server: ExecServer;
const target = { namespace: 'app', pod: 'db-0', container: 'main' };

beforeAll(async () => {
  server = await startExecServer();
});
afterAll(async () => {
  await server?.close();
});

describe('execInPod', () => {
  it('returns exit code, stdout and stderr of the command', async () => {
    const r = await execCapture(podExec(server), {
      ...target,
      command: ['sh', '-c', 'echo out; echo err >&2; exit 7'],
    });
    expect(r).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  it('passes argv elements through unchanged (no shell in between)', async () => {
    const hostile = 'x; rm -rf / $(id) `id` "quoted"';
    const r = await execCapture(podExec(server), { ...target, command: ['printf', '%s', hostile] });
    expect(r.stdout).toBe(hostile);
  });

  it('feeds stdin and closes it so that the command sees EOF', async () => {
    const input = Buffer.from('line one\nline two\n');
    const r = await execCapture(podExec(server), { ...target, command: ['wc', '-l'], stdin: input });
    expect(r.stdout.trim()).toBe('2');
  });

  it('keeps only the tail of a long stderr', async () => {
    const r = await execInPod(server, {
      ...target,
      command: ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" a >&2; echo THE-END >&2; exit 3'],
      stderrLimitBytes: 1000,
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderrTruncated).toBe(true);
    expect(r.stderr.length).toBeLessThanOrEqual(1000);
    expect(r.stderr.endsWith('THE-END\n')).toBe(true);
  });

  it('fails when the connection drops before the exit status arrives', async () => {
    await expect(
      execInPod(server, {
        ...target,
        pod: DROPPING_POD,
        command: ['sh', '-c', 'echo partial; sleep 2; echo late'],
        stdout: new Writable({ write: (_c, _e, cb) => cb() }),
      }),
    ).rejects.toThrow(/closed before the command reported its exit status/);
  });

  it('reports a command that cannot be started as an error, not as an exit code', async () => {
    const err = await execInPod(server, { ...target, command: ['/no/such/binary'] }).catch((e) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect(err.message).toMatch(/executable file not found/);
  });

  it('reports a refused upgrade with the server words', async () => {
    const kc = server.kc;
    const err = await execInPod({ kc }, { ...target, namespace: 'a/b', command: ['true'] }).catch((e) => e);
    expect(err.message).toMatch(/could not connect \(the command did not start\): HTTP 404/);
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    await expect(
      execInPod(server, { ...target, command: ['sleep', '5'], signal: ac.signal }),
    ).rejects.toThrow(/aborted/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('holds the output back while a slow sink is full, and loses nothing', async () => {
    const total = 48 * 1024 * 1024;
    let received = 0;
    let peakBuffered = 0;
    const hash = createHash('sha256');
    // 64 KiB buffer, 1 ms per chunk: far slower than the exec stream.
    const sink = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _e, cb) {
        received += chunk.length;
        hash.update(chunk);
        peakBuffered = Math.max(peakBuffered, sink.writableLength);
        setTimeout(cb, 1);
      },
    });
    const r = await execInPod(server, {
      ...target,
      command: ['sh', '-c', `head -c ${total} /dev/zero`],
      stdout: sink,
    });
    await new Promise<void>((resolve) => sink.end(resolve));
    expect(r.exitCode).toBe(0);
    expect(received).toBe(total);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(total)).digest('hex'));
    // Without pausing the socket, client-node would queue tens of MB here.
    expect(peakBuffered).toBeLessThan(4 * 1024 * 1024);
  }, 60_000);

  it('throttles a large stdin to what the socket can take', async () => {
    const total = 32 * 1024 * 1024;
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= total) return this.push(null);
        produced += 1024 * 1024;
        this.push(Buffer.alloc(1024 * 1024, 7));
      },
    });
    const r = await execCapture(podExec(server), {
      ...target,
      command: ['sh', '-c', 'sleep 0.3; wc -c'],
      stdin: source,
      requireStdinEof: true,
    });
    expect(r.exitCode).toBe(0);
    expect(Number(r.stdout.trim())).toBe(total);
  }, 30_000);
});
