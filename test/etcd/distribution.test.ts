// On k3s and RKE2, which snapshot etcd themselves, etcd-backup checks that their newest snapshot is fresh instead
// of taking one: a stale or missing snapshot fails the run (and pings the failure URL), a fresh one passes, and
// nothing is stored either way.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { detectDistribution, freshness } from '../../lib/etcd/distribution.js';
import { createEtcdBackupCommand } from '../../scripts/etcd-backup.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbackup-rancher-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hour = 3_600_000;

describe('detection and freshness (pure)', () => {
  it('finds RKE2 before k3s, and kubeadm when neither is there', () => {
    const dirs =
      (...present: string[]) =>
      (path: string) =>
        present.includes(path);
    expect(detectDistribution('/r', dirs('/r/k3s/server'))).toBe('k3s');
    expect(detectDistribution('/r', dirs('/r/k3s/server', '/r/rke2/server'))).toBe('rke2');
    expect(detectDistribution('/r', dirs())).toBe('kubeadm');
  });

  it('judges the newest non-empty snapshot against the limit', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    const file = (path: string, ageH: number, size = 100) => ({ path, size, modifiedMs: now - ageH * hour });
    expect(freshness([file('a', 20), file('b', 2)], now, 13 * hour, 'd')).toMatchObject({
      fresh: true,
      newest: { path: 'b' },
    });
    expect(freshness([file('a', 20), file('b', 1, 0)], now, 13 * hour, 'd')).toMatchObject({
      fresh: false,
      problem: 'the newest etcd snapshot a is 20.0 h old, more than 13.0 h',
    });
    expect(freshness([file('x.metadata', 1)], now, 13 * hour, 'd')).toMatchObject({
      fresh: false,
      problem: 'no etcd snapshot in d',
    });
  });
});

describe('etcd-backup on k3s and RKE2', () => {
  async function run(distribution: 'k3s' | 'rke2', ageHours: number | undefined) {
    const rancher = mkdtempSync(join(dir, `${distribution}-`));
    const snapshots = join(rancher, distribution, 'server', 'db', 'snapshots');
    mkdirSync(snapshots, { recursive: true });
    if (ageHours !== undefined) {
      const file = join(snapshots, 'etcd-snapshot-server-1-1765000000');
      writeFileSync(file, Buffer.alloc(4096, 1));
      const at = new Date(Date.now() - ageHours * hour);
      utimesSync(file, at, at);
    }
    const lines: string[] = [];
    const pings: string[] = [];
    const code = await runCommand(
      createEtcdBackupCommand({ notifier: async (url) => void pings.push(url) }),
      {
        // No S3 and no key: nothing is stored on this path, so neither is asked for.
        env: {
          NSBACKUP_CLUSTER_NAME: 'edge',
          NSBACKUP_RANCHER_DIR: rancher,
          NSBACKUP_NOTIFY_URL: 'http://127.0.0.1:9/ok',
          NSBACKUP_NOTIFY_FAILURE_URL: 'http://127.0.0.1:9/failed',
        },
        write: (l) => lines.push(l),
        out: () => undefined,
      },
    );
    return { code, log: lines.join('\n'), summary: JSON.parse(lines.at(-1)!), pings };
  }

  it('passes when k3s has a fresh snapshot, without taking one', async () => {
    const { code, summary, pings } = await run('k3s', 2);
    expect(code).toBe(0);
    expect(summary).toMatchObject({ distribution: 'k3s', bytes: 4096 });
    expect(summary.newestSnapshot).toMatch(/etcd-snapshot-server-1-1765000000$/);
    expect(pings).toEqual(['http://127.0.0.1:9/ok']);
  });

  it('fails when RKE2’s newest snapshot is stale, and when there is none', async () => {
    const stale = await run('rke2', 30);
    expect(stale.code).toBe(1);
    expect(stale.log).toMatch(
      /rke2 takes its own etcd snapshots, but the newest etcd snapshot \S+ is 30\.0 h old/,
    );
    expect(stale.pings).toEqual(['http://127.0.0.1:9/failed']);
    const none = await run('k3s', undefined);
    expect(none.code).toBe(1);
    expect(none.log).toContain('k3s takes its own etcd snapshots, but no etcd snapshot in');
  });
});
