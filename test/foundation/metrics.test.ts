// Watching backups without a long-running process: every command pushes its run to a real Prometheus Pushgateway
// (Debian's prometheus-pushgateway), and `nsbackup status` is a dead man's switch over the snapshots.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { Labels } from '../../lib/labels.js';
import { command as listCommand } from '../../scripts/list.js';
import { createStatusCommand } from '../../scripts/status.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { seedSnapshots } from '../prune/fixtures.js';

let cluster: Cluster;
let gateway: ChildProcess;
let gatewayUrl: string;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  gateway = spawn('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  cluster = await startCluster();
  for (let i = 0; ; i++) {
    const up = await fetch(`${gatewayUrl}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 100) throw new Error('the pushgateway did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => {
  gateway?.kill();
  await cluster?.close();
});

async function run(cmd: any, argv: string[], extraEnv: Record<string, string> = {}) {
  const logs: string[] = [];
  const code = await runCommand(cmd, {
    argv,
    env: { NSBACKUP_KUBECONFIG: cluster.kubeconfigPath, NSBACKUP_PUSHGATEWAY_URL: gatewayUrl, ...extraEnv },
    write: (line) => logs.push(line),
    out: () => undefined,
  });
  return { code, logs: logs.join('\n') };
}

/** The gateway's value of `name` in the group of `command` and `namespace`, or undefined. */
async function metric(name: string, command: string, namespace: string): Promise<number | undefined> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!line.includes(`command="${command}"`) || !line.includes(`namespace="${namespace}"`)) continue;
    if (!line.includes('job="nsbackup"')) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics pushed to a Pushgateway', () => {
  it('a run pushes its attempt, success, duration and summary numbers; a failure keeps the last success time', async () => {
    seedSnapshots(cluster, [
      {
        namespace: 'm1',
        name: 'data-1',
        pvc: 'data',
        createdAt: new Date().toISOString(),
        labels: { [Labels.retain]: 'gfs' },
      },
    ]);
    expect((await run(listCommand, ['-n', 'm1'])).code).toBe(0);
    const success = await metric('nsbackup_last_success_timestamp_seconds', 'list', 'm1');
    expect(success).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(await metric('nsbackup_last_run_success', 'list', 'm1')).toBe(1);
    expect(await metric('nsbackup_last_run_snapshots', 'list', 'm1')).toBe(1);

    // The same command failing (the API answers 500 to the list, every retry).
    cluster.faults.add({ verb: 'list', path: /volumesnapshots/, status: 500 });
    let failed;
    try {
      failed = await run(listCommand, ['-n', 'm1']);
    } finally {
      cluster.faults.clear();
    }
    expect(failed.code).toBe(1);
    expect(await metric('nsbackup_last_run_success', 'list', 'm1')).toBe(0);
    expect(await metric('nsbackup_last_run_exit_code', 'list', 'm1')).toBe(1);
    expect(await metric('nsbackup_last_attempt_timestamp_seconds', 'list', 'm1')).toBeGreaterThanOrEqual(
      success!,
    );
    // Still the success before: "backup too old" counts from the last good run.
    expect(await metric('nsbackup_last_success_timestamp_seconds', 'list', 'm1')).toBe(success);
  });

  it('a Pushgateway that is down is logged, and never fails the run', async () => {
    const r = await run(listCommand, ['-n', 'm1'], { NSBACKUP_PUSHGATEWAY_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(0);
    expect(r.logs).toContain('could not push metrics to the Pushgateway');
  });
});

describe('nsbackup status', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  const status = createStatusCommand({ now: () => now });
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3600_000).toISOString();

  beforeAll(() => {
    seedSnapshots(cluster, [
      // fresh: backed up 3 h ago.
      {
        namespace: 's-fresh',
        name: 'a',
        pvc: 'data',
        createdAt: hoursAgo(3),
        labels: { [Labels.retain]: 'gfs' },
      },
      // stale: the newest good one is 50 h old; the run 2 h ago failed, and one is still in progress.
      {
        namespace: 's-stale',
        name: 'b',
        pvc: 'data',
        createdAt: hoursAgo(50),
        labels: { [Labels.retain]: 'gfs' },
      },
      {
        namespace: 's-stale',
        name: 'c',
        pvc: 'data',
        createdAt: hoursAgo(2),
        labels: { [Labels.retain]: 'gfs', [Labels.outcome]: 'failed', [Labels.failed]: 'true' },
      },
      {
        namespace: 's-stale',
        name: 'd',
        pvc: 'data',
        createdAt: hoursAgo(1),
        labels: { [Labels.retain]: 'gfs', [Labels.outcome]: 'in-progress' },
      },
    ]);
  });

  it('exits 0 for a namespace backed up within --max-age', async () => {
    const r = await run(status, ['-n', 's-fresh'], { NSBACKUP_PUSHGATEWAY_URL: '' });
    expect(r.code, r.logs).toBe(0);
  });

  it('exits 1 naming a namespace whose newest good backup is too old: failed and unfinished runs do not count', async () => {
    const r = await run(status, ['-A', '-o', 'json'], { NSBACKUP_PUSHGATEWAY_URL: '' });
    expect(r.code).toBe(1);
    expect(r.logs).toContain('s-stale');
    expect(r.logs).not.toMatch(/no good backup[^"]*s-fresh/);
  });

  it('exits 1 for a namespace asked for by name that has no backup at all', async () => {
    const r = await run(status, ['-n', 's-never'], { NSBACKUP_PUSHGATEWAY_URL: '' });
    expect(r.code).toBe(1);
    expect(r.logs).toContain('s-never');
  });
});
