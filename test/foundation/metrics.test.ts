// Watching backups without a long-running process: every command pushes its run to a real Prometheus Pushgateway
// (Debian's prometheus-pushgateway), and `nsbackup status` is a dead man's switch over the snapshots.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { Labels } from '../../lib/labels.js';
import { command as listCommand } from '../../scripts/list.js';
import { command as retainCommand } from '../../scripts/retain.js';
import { createStatusCommand } from '../../scripts/status.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { freePort, seedSnapshots } from '../kit/index.js';

let cluster: Cluster;
let gateway: ChildProcess;
let gatewayUrl: string;

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
    expect(r.logs).toMatch(/not backed up \(or verified\) in time: s-stale \(too old\)"/);
  });

  it('exits 1 for a namespace asked for by name that has no backup at all', async () => {
    const r = await run(status, ['-n', 's-never'], { NSBACKUP_PUSHGATEWAY_URL: '' });
    expect(r.code).toBe(1);
    expect(r.logs).toContain('s-never');
  });
});

describe('the status ConfigMap (NSBACKUP_STATUS_CONFIGMAP)', () => {
  const configMap = () => cluster.get('v1', 'ConfigMap', 'cm1', 'nsbackup-status');
  const retain = (extra: Record<string, string> = {}) =>
    run(retainCommand, ['-n', 'cm1'], {
      NSBACKUP_PUSHGATEWAY_URL: '',
      NSBACKUP_STATUS_CONFIGMAP: 'nsbackup-status',
      ...extra,
    });

  it('records each run; a failure keeps the last success and names the error', async () => {
    seedSnapshots(cluster, [
      {
        namespace: 'cm1',
        name: 'data-1',
        pvc: 'data',
        createdAt: new Date().toISOString(),
        labels: { [Labels.retain]: 'gfs' },
      },
    ]);
    const ok = await retain();
    expect(ok.code, ok.logs).toBe(0);
    const first = configMap()!.data;
    expect(first['retain.lastResult']).toBe('succeeded');
    expect(first['retain.lastSuccess']).toBe(first['retain.lastAttempt']);
    expect(configMap()!.metadata.labels['nsbackup.io/status']).toBe('true');

    await new Promise((r) => setTimeout(r, 1100)); // a later second
    cluster.faults.add({ verb: 'list', path: /volumesnapshots/, status: 500 });
    let failed;
    try {
      failed = await retain();
    } finally {
      cluster.faults.clear();
    }
    expect(failed.code).toBe(1);
    const after = configMap()!.data;
    expect(after['retain.lastResult']).toBe('failed');
    expect(after['retain.lastExitCode']).toBe('1');
    expect(after['retain.lastAttempt'] > first['retain.lastAttempt']).toBe(true);
    expect(after['retain.lastSuccess']).toBe(first['retain.lastSuccess']);
    expect(after['retain.lastError']).toMatch(/HTTP 500/);

    // A command that does not record status (list) leaves it alone, even with the setting.
    await run(listCommand, ['-n', 'cm1'], {
      NSBACKUP_PUSHGATEWAY_URL: '',
      NSBACKUP_STATUS_CONFIGMAP: 'nsbackup-status',
    });
    expect(Object.keys(configMap()!.data).some((k) => k.startsWith('list.'))).toBe(false);
  });

  it('a ConfigMap that cannot be written is logged, and never fails the run', async () => {
    cluster.faults.add({ verb: 'patch', path: /configmaps/, status: 403 });
    cluster.faults.add({ verb: 'create', path: /configmaps/, status: 403 });
    try {
      const r = await retain({ NSBACKUP_STATUS_CONFIGMAP: 'nsbackup-status-2' });
      expect(r.code, r.logs).toBe(0);
      expect(r.logs).toContain('could not record the run in the status ConfigMap');
    } finally {
      cluster.faults.clear();
    }
  });

  it('status: a namespace without snapshots is fresh by its recorded backup, and --max-verify-age needs a recent verify', async () => {
    const now = new Date();
    const iso = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * 3600_000).toISOString();
    cluster.seed({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'nsbackup-status', namespace: 'cm-s3only', labels: { 'nsbackup.io/status': 'true' } },
      data: {
        'backup.lastAttempt': iso(1),
        'backup.lastResult': 'failed',
        'backup.lastError': 'S3 is down',
        'backup.lastSuccess': iso(20),
        'backup.lastSuccessBackupId': '20261206-000000-abcdef',
        'verify.lastSuccess': iso(24 * 9),
      },
    });
    const status = createStatusCommand({ now: () => now });
    const lines: string[] = [];
    const code = await runCommand(status, {
      argv: ['-n', 'cm-s3only'],
      env: { NSBACKUP_KUBECONFIG: cluster.kubeconfigPath },
      write: () => undefined,
      out: (t) => lines.push(t),
    });
    expect(code).toBe(0);
    expect(lines.join('')).toMatch(
      /cm-s3only\s+backup 20261206-000000-abcdef\s+20h00m\s+failed 1h00m ago\s+9d0h ago\s+ok/,
    );

    const strict = await run(status, ['-n', 'cm-s3only', '--max-verify-age', '8d'], {
      NSBACKUP_PUSHGATEWAY_URL: '',
    });
    expect(strict.code).toBe(1);
    expect(strict.logs).toContain('cm-s3only (not verified)');
  });
});
