// A minimal pods/exec server for the exec and dump tests (and the benchmark until the emulator is used):
// the emulator's own acceptExec with a handler chosen per pod name, plus a pod that hangs up mid-stream.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { acceptExec, localProcessHandler, type ExecHandler, type ExecRequest } from '../cluster/index.js';

export interface ExecServer {
  url: string;
  kc: KubeConfig;
  /** Every upgrade request's URL, in order (to check what a command line revealed). */
  urls: string[];
  /** Handlers by pod name; unknown pods get localProcessHandler(). */
  handlers: Map<string, ExecHandler>;
  close(): Promise<void>;
}

/** Pods with this name get their connection dropped after the handler wrote its first output. */
export const DROPPING_POD = 'drops-connection';

export async function startExecServer(env?: Record<string, string>): Promise<ExecServer> {
  const handlers = new Map<string, ExecHandler>();
  const urls: string[] = [];
  const fallback = localProcessHandler({ env });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    urls.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    if (!match) {
      socket.end(
        'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' +
          JSON.stringify({ kind: 'Status', status: 'Failure', message: 'pods "x" not found', code: 404 }),
      );
      return;
    }
    const flag = (name: string) => url.searchParams.get(name) === 'true';
    const container = url.searchParams.get('container') ?? '';
    const exec: ExecRequest = {
      namespace: match[1],
      pod: { metadata: { name: match[2], namespace: match[1] }, spec: { containers: [{ name: container }] } },
      container,
      command: url.searchParams.getAll('command'),
      stdin: flag('stdin'),
      stdout: flag('stdout'),
      stderr: flag('stderr'),
      tty: flag('tty'),
    };
    let handler = handlers.get(match[2]) ?? fallback;
    if (match[2] === DROPPING_POD) {
      const inner = handler;
      handler = (r, io) => {
        const origWrite = io.stdout.write.bind(io.stdout);
        let dropped = false;
        io.stdout.write = ((chunk: any, ...rest: any[]) => {
          const ok = origWrite(chunk, ...rest);
          if (!dropped) {
            dropped = true;
            setTimeout(() => socket.destroy(), 20);
          }
          return ok;
        }) as any;
        return inner(r, io);
      };
    }
    acceptExec(req, socket, head, exec, handler);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: url, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'test-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'tester' }],
    currentContext: 'test',
  });
  return {
    url,
    kc,
    urls,
    handlers,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
