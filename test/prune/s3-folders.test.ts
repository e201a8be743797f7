// Which S3 folder the sweep may delete for a snapshot: never wider than its own backup in its own namespace.
import { describe, expect, it } from 'vitest';
import { Annotations, Labels } from '../../lib/labels.js';
import { FolderReferences, s3FoldersOf, type S3Layout } from '../../lib/prune/s3-folders.js';
import { toSnapshotInfo } from '../../lib/snapshots/list.js';

const layout: S3Layout = { bucket: 'backups', prefix: 'nsbackup', cluster: 'prod' };

function info(opts: { ns?: string; name?: string; backup?: string; location?: string; deleting?: boolean }) {
  return toSnapshotInfo({
    metadata: {
      name: opts.name ?? 'data-1',
      namespace: opts.ns ?? 'shop',
      labels: opts.backup ? { [Labels.backup]: opts.backup } : {},
      annotations: opts.location ? { [Annotations.s3Location]: opts.location } : {},
      ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
  });
}

describe('s3FoldersOf', () => {
  it('uses the s3-location annotation, cut after the backup id', () => {
    expect(
      s3FoldersOf(info({ backup: 'b1', location: 's3://other/x/prod/shop/b1/dump.sql.gz' }), layout),
    ).toEqual({
      folders: [{ bucket: 'other', key: 'x/prod/shop/b1/' }],
    });
    expect(s3FoldersOf(info({ location: 's3://backups/nsbackup/prod/shop/b1/' }), layout)).toEqual({
      folders: [{ bucket: 'backups', key: 'nsbackup/prod/shop/b1/' }],
    });
  });

  it('reads the comma-separated locations backup writes (dump files and the export folder)', () => {
    const location =
      's3://backups/nsbackup/prod/shop/b1/dump-app.sql.gz,s3://backups/nsbackup/prod/shop/b1/, s3://b2/p/prod/shop/b1/x';
    expect(s3FoldersOf(info({ backup: 'b1', location }), layout)).toEqual({
      folders: [
        { bucket: 'backups', key: 'nsbackup/prod/shop/b1/' },
        { bucket: 'b2', key: 'p/prod/shop/b1/' },
      ],
    });
    const foreign = 's3://backups/nsbackup/prod/shop/b1/,s3://backups/nsbackup/prod/blog/b1/';
    expect(s3FoldersOf(info({ backup: 'b1', location: foreign }), layout)).toMatchObject({ folders: [] });
  });

  it('falls back to the label and the configured layout; nothing without either', () => {
    expect(s3FoldersOf(info({ backup: 'b1' }), layout)).toEqual({
      folders: [{ bucket: 'backups', key: 'nsbackup/prod/shop/b1/' }],
    });
    expect(s3FoldersOf(info({ backup: 'b1' }), undefined)).toEqual({ folders: [] });
    expect(s3FoldersOf(info({}), layout)).toEqual({ folders: [] });
  });

  it.each([
    ['s3://backups/nsbackup/prod/blog/b1/', 'b1', "not in this snapshot's namespace shop"],
    ['s3://backups/nsbackup/prod/shop/b2/', 'b1', 'does not contain the backup id b1'],
    ['s3://backups/nsbackup/', undefined, 'shorter than'],
    ['s3://backups/nsbackup/prod/shop/b1', undefined, 'not a folder'],
    ['https://backups/nsbackup/prod/shop/b1/', 'b1', 'is not s3://bucket/key'],
    ['s3://backups/shop/b1/', 'b1', 'shorter than'],
  ])('refuses %s (backup %s)', (location, backup, why) => {
    const lookup = s3FoldersOf(info({ location, backup }), layout);
    expect(lookup.folders).toEqual([]);
    expect(lookup.problem).toContain(why);
  });
});

describe('FolderReferences', () => {
  it('counts every live snapshot of a backup, and only live ones', () => {
    const data = info({ name: 'data-1', backup: 'b1' });
    const wal = info({ name: 'wal-1', backup: 'b1' });
    const going = info({ name: 'logs-1', backup: 'b1', deleting: true });
    const refs = new FolderReferences([data, wal, going], layout);
    const [folder] = s3FoldersOf(data, layout).folders;
    expect(refs.isLast(folder, data)).toBe(false);
    refs.forget(folder, wal);
    expect(refs.isLast(folder, data)).toBe(true);
    expect(refs.isUnreferenced(folder)).toBe(false);
    refs.forget(folder, data);
    expect(refs.isUnreferenced(folder)).toBe(true);
  });
});
