// The pure parts of the volume data path: where the repository is, how snapshots are tagged and selected, what
// restic's output means, what the mover Jobs look like, which slice a night's check reads.
import { describe, expect, it } from 'vitest';
import { backupFolderKey } from '../../lib/resources/backup-files.js';
import {
  refOfTags,
  repositoryKey,
  repositoryUrl,
  snapshotHost,
  snapshotTags,
  tagFilter,
} from '../../lib/volumes/repository.js';
import { parseBackupSummary, parseSnapshots } from '../../lib/volumes/restic-output.js';
import { parseMoverResult } from '../../lib/volumes/mover-result.js';
import { clonePvcManifest, moverJobManifest, moverName } from '../../lib/volumes/mover-manifests.js';
import { largerSize } from '../../lib/volumes/backup-step.js';
import { claimSizeFor } from '../../lib/volumes/restore-volume.js';
import { sliceOfDay } from '../../lib/volumes/local-repo.js';
import { checkArgs, restoreArgs } from '../../lib/volumes/restic-args.js';

const location = { bucket: 'backups', prefix: '/nsbackup/', region: 'us-east-1', forcePathStyle: true };
const ref = { namespace: 'shop', pvc: 'data', backupId: '20261207-020000-abcdef' };

describe('the repository and its tags', () => {
  it('lies beside the namespace backup folders, never inside one (deleting a backup folder cannot reach it)', () => {
    const repo = repositoryKey({ ...location, prefix: 'nsbackup' }, 'prod', 'shop');
    expect(repo).toBe('nsbackup/prod/shop.restic');
    const folder = backupFolderKey('nsbackup', 'prod', 'shop', ref.backupId);
    expect(repo.startsWith(folder)).toBe(false);
    expect(`${repo}/`.startsWith(backupFolderKey('nsbackup', 'prod', 'shop', '_').slice(0, -2))).toBe(false);
    expect(
      repositoryUrl({ ...location, prefix: 'nsbackup', endpoint: 'https://minio:9000/' }, 'prod', 'shop'),
    ).toBe('s3:https://minio:9000/backups/nsbackup/prod/shop.restic');
    expect(repositoryUrl({ ...location, prefix: '' }, 'prod', 'shop')).toBe(
      's3:s3.amazonaws.com/backups/prod/shop.restic',
    );
    expect(() => repositoryKey(location, 'prod', 'a/b')).toThrow(/cannot be part of an S3 key/);
  });

  it('every selection names namespace and PVC; a snapshot without all three tags is not ours', () => {
    expect(tagFilter({ namespace: 'shop', pvc: 'data' })).toBe('nsbackup-namespace=shop,nsbackup-pvc=data');
    expect(tagFilter(ref)).toBe(`nsbackup-namespace=shop,nsbackup-pvc=data,nsbackup-backup=${ref.backupId}`);
    expect(refOfTags(snapshotTags(ref))).toEqual(ref);
    expect(refOfTags(['nsbackup-namespace=shop', 'nsbackup-pvc=data'])).toBeUndefined();
    expect(() => snapshotTags({ ...ref, pvc: 'a,b' })).toThrow(/restic tag/);
    expect(snapshotHost(ref)).not.toBe(snapshotHost({ ...ref, pvc: 'uploads' }));
  });
});

describe("restic's output", () => {
  it('the summary line among status lines', () => {
    const out = [
      '{"message_type":"status","percent_done":0.5}',
      '{"message_type":"summary","files_new":3,"files_changed":1,"data_added":2048,"total_files_processed":10,"total_bytes_processed":4096,"total_duration":1.234,"snapshot_id":"198fb6dd"}',
    ].join('\n');
    expect(parseBackupSummary(out)).toEqual({
      snapshotId: '198fb6dd',
      files: 10,
      filesNew: 3,
      filesChanged: 1,
      bytesAdded: 2048,
      bytesProcessed: 4096,
      durationSeconds: 1.2,
    });
    expect(parseBackupSummary('{"message_type":"status"}')).toBeUndefined();
  });

  it('snapshots: only ours, oldest first', () => {
    const list = JSON.stringify([
      {
        id: 'b'.repeat(64),
        time: '2026-12-02T00:00:00Z',
        hostname: 'h',
        tags: snapshotTags({ ...ref, backupId: 'two' }),
      },
      { id: 'c'.repeat(64), time: '2026-12-03T00:00:00Z', hostname: 'h', tags: ['someone-else'] },
      {
        id: 'a'.repeat(64),
        time: '2026-12-01T00:00:00Z',
        hostname: 'h',
        tags: snapshotTags({ ...ref, backupId: 'one' }),
      },
    ]);
    expect(parseSnapshots(list).map((s) => s.backupId)).toEqual(['one', 'two']);
  });

  it("a mover's result: its summary line's volume; a failure without one is no result", () => {
    const ok = JSON.stringify({
      summary: true,
      outcome: 'success',
      volume: { ok: true, operation: 'restore', snapshotId: 'x' },
    });
    expect(parseMoverResult(`noise\n${ok}\n`)).toMatchObject({ ok: true, snapshotId: 'x' });
    const failed = JSON.stringify({
      summary: true,
      outcome: 'failure',
      volume: { ok: false, operation: 'backup', error: 'boom' },
    });
    expect(parseMoverResult(failed)).toMatchObject({ ok: false, error: 'boom' });
    expect(
      parseMoverResult(JSON.stringify({ summary: true, outcome: 'failure', error: 'config' })),
    ).toBeUndefined();
  });

  it('argv: a restore takes a snapshot id only; a check slice must be in range', () => {
    expect(() => restoreArgs({ repository: 'r' }, 'latest; rm -rf /')).toThrow(/not a restic snapshot id/);
    expect(checkArgs({ repository: 'r' }, { n: 3, of: 7 })).toContain('--read-data-subset=3/7');
    expect(() => checkArgs({ repository: 'r' }, { n: 8, of: 7 })).toThrow(/out of range/);
  });
});

describe('mover objects', () => {
  const settings = {
    image: 'img',
    passwordSecret: 'restic',
    s3Secret: 's3',
    runAsUser: 999,
    runAsGroup: 999,
    timeoutSeconds: 600,
  };

  it('backup: non-root, read-only mount, password by reference only; restore: root to write owners, writable', () => {
    const backup = moverJobManifest({
      name: 'm',
      namespace: 'shop',
      operation: 'backup',
      claimName: 'c',
      repository: 's3:x',
      ref,
      settings,
    });
    const pod = backup.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999 });
    expect(pod.volumes[0].persistentVolumeClaim).toEqual({ claimName: 'c', readOnly: true });
    expect(pod.containers[0].securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const password = pod.containers[0].env.filter((e: any) => e.name === 'RESTIC_PASSWORD');
    expect(password).toEqual([
      { name: 'RESTIC_PASSWORD', valueFrom: { secretKeyRef: { name: 'restic', key: 'RESTIC_PASSWORD' } } },
    ]);
    expect(pod.containers[0].args).toEqual(['volume-mover']);
    expect(backup.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 600 });
    // A quota that demands requests and limits admits it; restic collects garbage before the limit kills it.
    expect(pod.containers[0].resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '1024Mi' },
    });
    expect(pod.containers[0].env).toContainEqual({ name: 'GOMEMLIMIT', value: '819MiB' });

    const restore = moverJobManifest({
      name: 'm',
      namespace: 'shop',
      operation: 'restore',
      claimName: 'c',
      repository: 's3:x',
      ref,
      snapshotId: 'a'.repeat(64),
      settings,
    });
    expect(restore.spec.template.spec.securityContext).toMatchObject({ runAsUser: 0 });
    expect(restore.spec.template.spec.volumes[0].persistentVolumeClaim.readOnly).toBe(false);
  });

  it("the clone: this run's snapshot as data source, at least as large as the snapshot and the claim", () => {
    const source = {
      metadata: { name: 'data' },
      spec: { storageClassName: 'fast', resources: { requests: { storage: '10Gi' } } },
    };
    const clone = clonePvcManifest({
      name: 'c',
      namespace: 'shop',
      snapshotName: 'data-1',
      source,
      restoreSize: largerSize('10Gi', '12Gi'),
      ref,
    });
    expect(clone.spec).toMatchObject({
      storageClassName: 'fast',
      resources: { requests: { storage: '12Gi' } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'data-1' },
    });
    expect(largerSize('10737418240', '9Gi')).toBe('10737418240');
    expect(moverName('nsbackup-mover', 'x'.repeat(63), 'abcde')).toHaveLength(63);
  });

  it('a restored claim holds the data with a tenth to spare, in whole GiB', () => {
    expect(claimSizeFor(0)).toBe('1Gi');
    expect(claimSizeFor(2 ** 30)).toBe('2Gi');
    expect(claimSizeFor(10 * 2 ** 30)).toBe('11Gi');
  });
});

describe("the nightly check's slice", () => {
  it('seven nights read seven different slices', () => {
    const start = Date.UTC(2026, 11, 7, 3);
    const slices = Array.from({ length: 7 }, (_, i) => sliceOfDay(new Date(start + i * 86_400_000), 7).n);
    expect([...slices].sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
