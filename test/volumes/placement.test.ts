// Where the mover of a live claim (NSBACKUP_PVC_DATA_DIRECT) may run, from the claim's access modes and the pods
// that mount it: anywhere, pinned to one node (with the affinity the scheduler honours), or refused with a message
// that names the PVC and says what to do. And how `describe` shows a copy's method, for old manifests too.
import { describe, expect, it } from 'vitest';
import { claimsOf, moverPlacement, placementSpec } from '../../lib/volumes/placement.js';
import { backupRow, describeBackup, formatDescription } from '../../lib/catalog/backups.js';
import type { BackupCandidate } from '../../lib/export/latest.js';
import type { BackupManifest } from '../../lib/resources/index.js';

const claim = (modes: string[], phase = 'Bound') => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'shared', namespace: 'shop' },
  spec: { accessModes: modes, resources: { requests: { storage: '1Gi' } } },
  status: { phase, ...(phase === 'Bound' ? { accessModes: modes } : {}) },
});

const pod = (
  name: string,
  node: string | undefined,
  phase: string,
  claimName = 'shared',
  tolerations?: unknown[],
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop' },
  spec: {
    ...(node ? { nodeName: node } : {}),
    ...(tolerations ? { tolerations } : {}),
    containers: [{ name: 'app', image: 'app' }],
    volumes: [{ name: 'files', persistentVolumeClaim: { claimName } }],
  },
  status: { phase },
});

describe('moverPlacement', () => {
  it('ReadWriteMany and ReadOnlyMany: anywhere, whoever mounts them where', () => {
    const users = [pod('web-1', 'node-a', 'Running'), pod('web-2', 'node-b', 'Running')];
    expect(moverPlacement('shared', claim(['ReadWriteMany']), users).kind).toBe('anywhere');
    expect(moverPlacement('shared', claim(['ReadOnlyMany']), users).kind).toBe('anywhere');
    // A claim that offers several modes is as free as its freest.
    expect(moverPlacement('shared', claim(['ReadWriteOnce', 'ReadWriteMany']), users).kind).toBe('anywhere');
  });

  it("ReadWriteOnce used by a running pod on node X: on node X, with that pod's tolerations", () => {
    const tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'shop', effect: 'NoSchedule' }];
    const placement = moverPlacement('shared', claim(['ReadWriteOnce']), [
      pod('other', 'node-c', 'Running', 'not-this-one'),
      pod('web-1', 'node-x', 'Running', 'shared', tolerations),
    ]);
    expect(placement).toEqual({ kind: 'node', node: 'node-x', pods: ['web-1'], tolerations });
    expect(placementSpec(placement)).toEqual({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-x'] }] },
            ],
          },
        },
      },
      tolerations,
    });
  });

  it('ReadWriteOnce that no pod uses: anywhere, and nothing pins the mover', () => {
    const placement = moverPlacement('shared', claim(['ReadWriteOnce']), [
      pod('other', 'node-c', 'Running', 'not-this-one'),
    ]);
    expect(placement.kind).toBe('anywhere');
    expect(placementSpec(placement)).toEqual({});
  });

  it('ReadWriteOncePod used by a pod: refused, naming the PVC, the mode, the pod and what to do', () => {
    const placement = moverPlacement('shared', claim(['ReadWriteOncePod']), [
      pod('db-0', 'node-a', 'Running'),
    ]);
    expect(placement.kind).toBe('refuse');
    const message = placement.kind === 'refuse' ? placement.message : '';
    expect(message).toMatch(/^PVC shared is ReadWriteOncePod and pod db-0 uses it/);
    expect(message).toMatch(/NSBACKUP_PVC_DATA/);
    expect(message).toMatch(/while no pod uses it/);
  });

  it('ReadWriteOncePod that no pod uses: anywhere (the mover is its only user)', () => {
    expect(moverPlacement('shared', claim(['ReadWriteOncePod']), []).kind).toBe('anywhere');
    expect(
      moverPlacement('shared', claim(['ReadWriteOncePod']), [pod('db-0', undefined, 'Pending')]).kind,
    ).toBe('anywhere');
  });

  it('pending and finished pods are ignored: only a Running pod on a node holds the mount', () => {
    const placement = moverPlacement('shared', claim(['ReadWriteOnce']), [
      pod('web-new', 'node-b', 'Pending'),
      pod('web-unscheduled', undefined, 'Pending'),
      pod('web-old', 'node-c', 'Succeeded'),
      pod('web-failed', 'node-d', 'Failed'),
      pod('web-1', 'node-a', 'Running'),
    ]);
    expect(placement).toMatchObject({ kind: 'node', node: 'node-a', pods: ['web-1'] });
    expect(
      moverPlacement('shared', claim(['ReadWriteOnce']), [pod('web-new', 'node-b', 'Pending')]).kind,
    ).toBe('anywhere');
  });

  it('several pods on one node: that node, every one of them named', () => {
    const placement = moverPlacement('shared', claim(['ReadWriteOnce']), [
      pod('web-2', 'node-a', 'Running'),
      pod('web-1', 'node-a', 'Running'),
    ]);
    expect(placement).toMatchObject({ kind: 'node', node: 'node-a', pods: ['web-1', 'web-2'] });
  });

  it('a missing or unbound claim is refused with its name', () => {
    expect(moverPlacement('shared', undefined, [])).toEqual({
      kind: 'refuse',
      message: 'PVC shared does not exist',
    });
    const pending = moverPlacement('shared', claim(['ReadWriteMany'], 'Pending'), []);
    expect(pending.kind === 'refuse' && pending.message).toMatch(/^PVC shared is Pending, not Bound/);
    const lost = moverPlacement('shared', claim(['ReadWriteMany'], 'Lost'), []);
    expect(lost.kind === 'refuse' && lost.message).toMatch(/^PVC shared is Lost, not Bound/);
  });

  it('a generic ephemeral volume counts as the claim it makes (<pod>-<volume>)', () => {
    const p = {
      ...pod('web-1', 'node-a', 'Running'),
      spec: { nodeName: 'node-a', volumes: [{ name: 'scratch', ephemeral: { volumeClaimTemplate: {} } }] },
    };
    expect(claimsOf(p)).toEqual(['web-1-scratch']);
    expect(moverPlacement('web-1-scratch', claim(['ReadWriteOnce']), [p])).toMatchObject({ node: 'node-a' });
  });
});

describe('how describe shows a volume copy', () => {
  it('direct copies as not point-in-time; a manifest entry without copyMethod (older nsbackup) as a snapshot copy', () => {
    const row = backupRow('shop', 'prod', { backupId: 'b1', hasManifest: true } as BackupCandidate);
    const volume = {
      pvc: 'data',
      volumeSnapshot: 'data-20260101-020000-abcde',
      repository: 's3://backups/nsbackup/prod/shop.restic/',
      resticSnapshotId: 'a'.repeat(64),
      files: 12,
      bytesProcessed: 2048,
      bytesAdded: 2048,
      durationSeconds: 1,
    };
    const manifest = {
      counts: {},
      files: [],
      volumes: [
        volume,
        { ...volume, pvc: 'shared', volumeSnapshot: undefined, copyMethod: 'direct' as const },
      ],
    } as unknown as BackupManifest;
    const text = formatDescription(describeBackup(row, manifest, []));
    expect(text).toMatch(/^ {2}PVC data +aaaaaaaa +12 files +2\.0 KiB {2}snapshot: point-in-time$/m);
    expect(text).toMatch(
      /^ {2}PVC shared +aaaaaaaa +12 files +2\.0 KiB {2}direct: live claim, not point-in-time$/m,
    );
  });
});
