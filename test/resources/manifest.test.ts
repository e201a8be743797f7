import { describe, expect, it } from 'vitest';
import {
  ManifestError,
  assertFileMatches,
  backupFolderKey,
  dumpFileName,
  parseManifest,
  serializeManifest,
  verifyManifest,
  type BackupManifest,
} from '../../lib/resources/index.js';

const sha = (c: string) => c.repeat(64);
const manifest = (): BackupManifest => ({
  formatVersion: 1,
  cluster: 'prod-eu',
  namespace: 'shop',
  backupId: 'shop-20240501-100000-abc',
  startedAt: '2024-05-01T10:00:00Z',
  completedAt: '2024-05-01T10:00:42Z',
  listResourceVersions: { ConfigMap: '48213', 'Deployment.apps': '48214' },
  counts: { ConfigMap: 1, 'Deployment.apps': 1 },
  objectCount: 2,
  paths: ['/api/v1/namespaces/shop/configmaps/settings', '/apis/apps/v1/namespaces/shop/deployments/web'],
  files: [
    { name: 'resources.ndjson.gz.enc', contents: 'resources', size: 1234, sha256: sha('a') },
    { name: 'dump-shop.sql.gz.enc', contents: 'dump', database: 'shop', size: 99, sha256: sha('b') },
  ],
  encryption: { algorithm: 'AES-256-GCM-SEGMENTED-V1', keyId: '0123456789abcdef', segmentSize: 65536 },
});

describe('layout', () => {
  it('places a backup under prefix/cluster/namespace/id/', () => {
    expect(backupFolderKey('backups/', 'prod-eu', 'shop', 'id1')).toBe('backups/prod-eu/shop/id1/');
    expect(backupFolderKey('', 'c', 'n', 'i')).toBe('c/n/i/');
    expect(() => backupFolderKey('p', 'c', 'a/b', 'i')).toThrow(/namespace/);
    expect(dumpFileName('shop', true)).toBe('dump-shop.sql.gz.enc');
    expect(() => dumpFileName('../x y', false)).toThrow();
  });
});

describe('manifest', () => {
  it('round-trips through its stored form', () => {
    expect(parseManifest(serializeManifest(manifest()))).toEqual(manifest());
  });

  it('refuses a newer format and broken fields', () => {
    expect(() => parseManifest(JSON.stringify({ ...manifest(), formatVersion: 2 }))).toThrow(
      /upgrade nsbackup/,
    );
    expect(() => parseManifest(JSON.stringify({ ...manifest(), objectCount: 3 }))).toThrow(/objectCount/);
    const badFile = { ...manifest(), files: [{ name: 'x', size: 1, sha256: 'nothex' }] };
    expect(() => parseManifest(JSON.stringify(badFile))).toThrow(/files\[0\].sha256/);
    expect(() => parseManifest('{')).toThrow(ManifestError);
  });

  it('never carries a key, only its id', () => {
    expect(Object.keys(manifest().encryption!)).toEqual(['algorithm', 'keyId', 'segmentSize']);
  });
});

describe('verifyManifest', () => {
  const good = [
    { name: 'resources.ndjson.gz.enc', size: 1234, sha256: sha('a') },
    { name: 'dump-shop.sql.gz.enc', size: 99, sha256: sha('b') },
    { name: 'unrelated.txt', size: 1, sha256: sha('c') },
  ];

  it('passes when every file matches', () => {
    expect(verifyManifest(manifest(), good)).toEqual({ ok: true, problems: [] });
  });

  it('lists every missing file and every size or checksum mismatch', () => {
    const check = verifyManifest(manifest(), [
      { name: 'resources.ndjson.gz.enc', size: 1235, sha256: sha('d') },
    ]);
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([
      'resources.ndjson.gz.enc: size 1235 bytes, manifest says 1234',
      `resources.ndjson.gz.enc: SHA-256 ${sha('d')}, manifest says ${sha('a')}`,
      'dump-shop.sql.gz.enc: missing',
    ]);
  });

  it('does not pass a file whose checksum was not computed', () => {
    expect(
      verifyManifest(manifest(), [good[0], { name: 'dump-shop.sql.gz.enc', size: 99 }]).problems,
    ).toEqual(['dump-shop.sql.gz.enc: checksum not computed']);
  });

  it('checks one file while it is read', () => {
    expect(() =>
      assertFileMatches(manifest(), 'dump-shop.sql.gz.enc', { size: 99, sha256: sha('b') }),
    ).not.toThrow();
    expect(() =>
      assertFileMatches(manifest(), 'dump-shop.sql.gz.enc', { size: 99, sha256: sha('e') }),
    ).toThrow(/SHA-256/);
    expect(() => assertFileMatches(manifest(), 'other', { size: 1, sha256: sha('e') })).toThrow(
      /not in the manifest/,
    );
  });
});
