// nsbackup pin / unpin / expire, as a person runs them on the emulator: the label is set, the output says what
// retention will do, and what retention would not do is refused with the reason (nothing written).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { Labels } from '../../lib/labels.js';
import { createHandLabelCommand } from '../../scripts/hand-labels.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { seedSnapshots } from '../kit/index.js';

let cluster: Cluster;
const now = new Date('2026-12-07T12:00:00Z');

beforeAll(async () => {
  cluster = await startCluster();
  seedSnapshots(cluster, [
    {
      namespace: 'hl',
      name: 'old',
      pvc: 'data',
      createdAt: '2026-12-05T02:00:00Z',
      labels: { [Labels.retain]: 'gfs' },
    },
    {
      namespace: 'hl',
      name: 'newest',
      pvc: 'data',
      createdAt: '2026-12-07T02:00:00Z',
      labels: { [Labels.retain]: 'gfs', [Labels.daily]: '2026-12-07' },
    },
  ]);
});
afterAll(async () => cluster?.close());

async function run(action: 'pin' | 'unpin' | 'expire', snapshot: string) {
  const lines: string[] = [];
  let stdout = '';
  const code = await runCommand(createHandLabelCommand(action, { now: () => now }), {
    argv: [snapshot, '-n', 'hl'],
    env: { NSBACKUP_KUBECONFIG: cluster.kubeconfigPath, TZ: 'Europe/Berlin' },
    write: (line) => lines.push(line),
    out: (text) => (stdout += text),
  });
  return { code, stdout, logs: lines.join('\n') };
}

const labels = (name: string) =>
  cluster.get('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'hl', name).metadata.labels as Record<
    string,
    string
  >;

describe('pin, unpin, expire', () => {
  it('expire refuses the newest good snapshot of its PVC, saying it is kept', async () => {
    const r = await run('expire', 'newest');
    expect(r.code).toBe(1);
    expect(r.logs).toContain('kept: hl/newest is the newest good snapshot of PVC hl/data');
    expect(labels('newest')[Labels.deleteAfter]).toBeUndefined();
  });

  it('expire sets delete-after to yesterday in TZ, without GNU date, and says when it goes', async () => {
    const r = await run('expire', 'old');
    expect(r.code, r.logs).toBe(0);
    expect(labels('old')[Labels.deleteAfter]).toBe('2026-12-06');
    expect(r.stdout).toContain('mark-and-delete deletes it on its next run');
  });

  it('pin, then expire is refused until unpinned; unpin of an unpinned one is refused', async () => {
    expect((await run('pin', 'old')).code).toBe(0);
    expect(labels('old')[Labels.pin]).toBe('true');
    const refused = await run('expire', 'old');
    expect(refused.code).toBe(1);
    expect(refused.logs).toContain('is pinned: unpin it first');
    expect((await run('unpin', 'old')).code).toBe(0);
    expect(labels('old')[Labels.pin]).toBeUndefined();
    expect((await run('unpin', 'old')).code).toBe(1);
  });

  it('names a snapshot that is not there', async () => {
    const r = await run('pin', 'nope');
    expect(r.code).toBe(1);
    expect(r.logs).toContain('no VolumeSnapshot hl/nope');
  });
});
