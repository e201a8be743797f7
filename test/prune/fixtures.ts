// What the pruner's tests observe and feed: the request log's writes, a command's log lines, S3 calls in order, list
// rows. Seeding snapshots is the test kit's (test/kit/snapshots.ts): the demo and the benches seed them too.
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SnapshotRow } from '../../lib/prune/list.js';
import type { Cluster } from '../cluster/index.js';

/** The writes in the request log (anything but get/list/watch). */
export function writes(cluster: Cluster) {
  return cluster.requests.filter((r) => !['get', 'list', 'watch'].includes(r.verb));
}

/** Collects runCommand's log lines and output. */
export function capture() {
  const lines: string[] = [];
  const output: string[] = [];
  return {
    lines,
    output,
    write: (line: string) => lines.push(line),
    out: (text: string) => output.push(text),
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, any>),
    summary: () => lines.map((l) => JSON.parse(l)).find((l) => l.summary === true) as Record<string, any>,
  };
}

/**
 * A pass-through proxy in front of the local S3 that reports each answer as it comes back, so a test can place
 * S3 calls in the emulator's request log (`onAnswer` reads `cluster.requests.length` at that moment).
 */
export async function s3Proxy(
  target: string,
  onAnswer: (method: string, url: string, status: number) => void,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    // Headers pass unchanged: the signature covers the Host header, which names this proxy.
    const upstream = httpRequest(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (answer) => {
        onAnswer(req.method ?? 'GET', req.url ?? '/', answer.statusCode ?? 0);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => res.destroy(error));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resolves once `condition` holds (polled), for acting in the middle of a running command. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A row of `nsbackup list` as formatting sees it: a ready scheduled gfs snapshot of shop/data, holding nothing. */
export function listRow(snapshot: string, createdAt: string, extra: Partial<SnapshotRow> = {}): SnapshotRow {
  return {
    namespace: 'shop',
    pvc: 'data',
    snapshot,
    createdAt,
    ready: true,
    failed: false,
    outcome: 'succeeded',
    size: '1Gi',
    type: 'scheduled',
    retain: 'gfs',
    daily: '',
    weekly: '',
    monthly: '',
    yearly: '',
    deleteAfter: '',
    keepUntil: '',
    pinned: false,
    backup: '',
    terminating: false,
    ...extra,
  };
}
