// The planner of backups that exist only as S3 folders (lib/retention/folders.ts) and how mark-and-delete reads a
// folder's record into it (lib/prune/s3-only.ts): the snapshot path's rules, derived from the records alone.
import { describe, expect, it } from 'vitest';
import { backupIdFor } from '../../lib/naming.js';
import { folderVerdict, planS3Only, S3_ONLY_GROUP } from '../../lib/prune/s3-only.js';
import type { BackupOutcome } from '../../lib/resources/outcome.js';
import {
  DEFAULT_GFS_KEEP,
  planFolderRetention,
  type FolderBackup,
  type FolderRetentionOptions,
} from '../../lib/retention/index.js';

const DAY = 86_400_000;
const options = (now: string, extra: Partial<FolderRetentionOptions> = {}): FolderRetentionOptions => ({
  keep: DEFAULT_GFS_KEEP,
  now: new Date(now),
  timeZone: 'Europe/Berlin',
  failedGraceDays: 1,
  maxDeleteShare: 1,
  maxDeleteCount: 1000,
  force: false,
  namespace: 'shop',
  group: S3_ONLY_GROUP,
  ...extra,
});

/** One backup a night at 01:30 UTC from `start`, `n` nights. */
function nightly(start: string, n: number, extra: Partial<FolderBackup> = {}): FolderBackup[] {
  return Array.from({ length: n }, (_, i) => {
    const at = new Date(Date.parse(start) + i * DAY);
    return {
      id: backupIdFor(at, () => 0),
      createdAt: at.toISOString(),
      failed: false,
      retain: { policy: 'gfs' },
      ...extra,
    };
  });
}

const ids = (plan: { deletions: { id: string }[] }) => plan.deletions.map((d) => d.id);

describe('planFolderRetention', () => {
  it('gfs: of 40 nights, keeps the newest 7 days, the first of the newest 4 weeks and of each month', () => {
    const backups = nightly('2026-10-01T01:30:00Z', 40); // Oct 1 .. Nov 9
    const plan = planFolderRetention(backups, options('2026-11-09T12:00:00Z'));
    const kept = backups.filter((b) => !ids(plan).includes(b.id)).map((b) => b.createdAt.slice(0, 10));
    expect(plan.refused).toBe(false);
    // Months: Oct 1, Nov 1. Weeks (the first of each ISO week; Nov 9 is a Monday, week 46): Nov 9, Nov 2,
    // Oct 26, Oct 19 (Oct 12, week 42, is the fifth). Days: Nov 3..9.
    expect(kept).toEqual([
      '2026-10-01',
      '2026-10-19',
      '2026-10-26',
      '2026-11-01',
      '2026-11-02',
      '2026-11-03',
      '2026-11-04',
      '2026-11-05',
      '2026-11-06',
      '2026-11-07',
      '2026-11-08',
      '2026-11-09',
    ]);
    // Input order does not matter.
    expect(planFolderRetention([...backups].reverse(), options('2026-11-09T12:00:00Z'))).toEqual(plan);
  });

  it('days: each goes the day after its last day; the newest good one never, even when every one is due', () => {
    const backups = nightly('2026-11-01T01:30:00Z', 3, { retain: { policy: 'days', days: 2 } });
    expect(ids(planFolderRetention(backups, options('2026-11-04T12:00:00Z')))).toEqual([backups[0].id]);
    expect(ids(planFolderRetention(backups, options('2027-01-01T12:00:00Z')))).toEqual([
      backups[0].id,
      backups[1].id,
    ]);
  });

  it('a failed run never holds a period nor counts as the newest: the next good night holds the day, and the failed one goes after the grace', () => {
    const [good, failedToday, laterToday] = [
      { id: '20261108-013000-aaaaaa', createdAt: '2026-11-08T01:30:00Z' },
      { id: '20261109-013000-bbbbbb', createdAt: '2026-11-09T01:30:00Z', failed: true },
      { id: '20261109-033000-cccccc', createdAt: '2026-11-09T03:30:00Z' },
    ].map((b) => ({ failed: false, retain: { policy: 'gfs' as const }, ...b }));
    // The day of the failed run: it stays through its grace (the day after the run), the later good run of
    // the same day holds Nov 9 (had the failed one taken it, the day would be lost with it).
    expect(
      ids(planFolderRetention([good, failedToday, laterToday], options('2026-11-10T12:00:00Z'))),
    ).toEqual([]);
    const after = planFolderRetention([good, failedToday, laterToday], options('2026-11-11T12:00:00Z'));
    expect(after.deletions).toEqual([
      { id: failedToday.id, createdAt: failedToday.createdAt, deleteAfter: '2026-11-10', runFailed: true },
    ]);
    // Only failed runs: none is the newest good backup, so they go all the same.
    const onlyFailed = planFolderRetention([{ ...failedToday }], options('2026-11-11T12:00:00Z'));
    expect(ids(onlyFailed)).toEqual([failedToday.id]);
  });

  it('ad-hoc floor: kept through its keep-until whatever gfs says, under days the later of the two', () => {
    const scheduled = nightly('2026-11-01T01:30:00Z', 3);
    const adhoc: FolderBackup = {
      id: '20261101-150000-adhoc0',
      createdAt: '2026-11-01T15:00:00Z',
      failed: false,
      retain: { policy: 'gfs' },
      keepUntil: '2026-12-01',
    };
    // The ad-hoc one holds no period (the 01:30 night took Nov 1): without its floor it goes at once.
    expect(ids(planFolderRetention([...scheduled, adhoc], options('2026-11-04T12:00:00Z')))).toEqual([]);
    const { keepUntil: _floor, ...unfloored } = adhoc;
    expect(ids(planFolderRetention([...scheduled, unfloored], options('2026-11-04T12:00:00Z')))).toEqual([
      adhoc.id,
    ]);
    expect(ids(planFolderRetention([...scheduled, adhoc], options('2026-12-02T12:00:00Z')))).toEqual([
      adhoc.id,
    ]);
    const days = { ...adhoc, retain: { policy: 'days' as const, days: 1 } };
    const newer = nightly('2026-11-05T01:30:00Z', 1, { retain: { policy: 'days', days: 1 } });
    expect(ids(planFolderRetention([days, ...newer], options('2026-11-20T12:00:00Z')))).toEqual([]);
    expect(ids(planFolderRetention([days, ...newer], options('2026-12-02T12:00:00Z')))).toEqual([days.id]);
  });

  it('deltas: the generations keep the newest and the closest to each step', () => {
    const backups = nightly('2026-11-01T01:30:00Z', 10, { retain: { policy: 'deltas', deltas: 'P1D P3D' } });
    const plan = planFolderRetention(backups, options('2026-11-10T12:00:00Z'));
    expect(plan.deletions.length).toBeGreaterThan(0);
    expect(ids(plan)).not.toContain(backups[9].id);
  });

  it('the safety valve refuses the whole set (nothing deleted) past the share or the count, force deletes', () => {
    const backups = nightly('2026-11-09T00:30:00Z', 1).concat(
      Array.from({ length: 9 }, (_, i) => ({
        id: `20261109-0${i + 1}3000-abcdef`,
        createdAt: `2026-11-09T0${i + 1}:30:00Z`,
        failed: false,
        retain: { policy: 'gfs' as const },
      })),
    );
    const valve = { maxDeleteShare: 0.5, maxDeleteCount: 20 };
    const refused = planFolderRetention(backups, options('2026-11-09T23:00:00Z', valve));
    expect(refused.refused).toBe(true);
    expect(refused.deletions).toEqual([]);
    expect(refused.refusals).toEqual([
      expect.objectContaining({ namespace: 'shop', pvc: S3_ONLY_GROUP, wouldDelete: 8, of: 10 }),
    ]);
    const byCount = planFolderRetention(backups, options('2026-11-09T23:00:00Z', { maxDeleteCount: 7 }));
    expect(byCount.refused).toBe(true);
    const forced = planFolderRetention(backups, options('2026-11-09T23:00:00Z', { ...valve, force: true }));
    // The first of the day holds its periods, the newest is never deleted.
    expect(ids(forced)).toEqual(backups.slice(1, -1).map((b) => b.id));
  });
});

const outcome = (backupId: string, extra: Partial<BackupOutcome> = {}): BackupOutcome => ({
  formatVersion: 1,
  backupId,
  outcome: 'succeeded',
  startedAt: '2026-11-01T01:30:00Z',
  finishedAt: '2026-11-01T01:31:00Z',
  failures: [],
  snapshots: [],
  type: 'scheduled',
  retain: { policy: 'gfs' },
  ...extra,
});

describe("a folder's record", () => {
  const id = '20261101-013000-abcdef';
  it('is S3-only only with snapshots: [], a known policy and an id nsbackup made', () => {
    expect(folderVerdict({ backupId: id, hasManifest: true, outcome: outcome(id) })).toMatchObject({
      kind: 's3-only',
      backup: { id, createdAt: '2026-11-01T01:30:00Z', failed: false, retain: { policy: 'gfs' } },
    });
    expect(
      folderVerdict({ backupId: id, hasManifest: true, outcome: outcome(id, { snapshots: ['data-x'] }) }),
    ).toEqual({
      kind: 'with-snapshots',
    });
    const leftAlone = [
      { backupId: id, hasManifest: true },
      { backupId: id, hasManifest: true, outcomeProblem: 'not JSON' },
      { backupId: id, hasManifest: true, outcome: outcome(id, { snapshots: undefined }) },
      { backupId: id, hasManifest: true, outcome: outcome(id, { snapshots: 'none' as any }) },
      { backupId: id, hasManifest: true, outcome: outcome(id, { retain: undefined }) },
      { backupId: id, hasManifest: true, outcome: outcome(id, { retain: { policy: 'days', days: 0 } }) },
      { backupId: id, hasManifest: true, outcome: outcome(id, { retain: { policy: 'forever' } as any }) },
      { backupId: id, hasManifest: true, outcome: outcome(id, { keepUntil: 'soon' }) },
      { backupId: id, hasManifest: true, outcome: outcome('20261101-013000-zzzzzz') },
      { backupId: 'before-upgrade', hasManifest: true, outcome: outcome('before-upgrade') },
      { backupId: '20261301-013000-abcdef', hasManifest: true, outcome: outcome('20261301-013000-abcdef') },
    ];
    for (const candidate of leftAlone)
      expect(folderVerdict(candidate).kind, JSON.stringify(candidate)).toBe('left-alone');
    expect(
      folderVerdict({ backupId: id, hasManifest: false, outcome: outcome(id, { outcome: 'failed' }) }),
    ).toMatchObject({
      kind: 's3-only',
      backup: { failed: true },
    });
  });

  it('planS3Only counts what it keeps, holds back and leaves alone, and forgets the copies of each deletion', () => {
    const backups = nightly('2026-11-01T01:30:00Z', 10, { retain: { policy: 'days', days: 3 } });
    const candidates = backups.map((b, i) => ({
      backupId: b.id,
      hasManifest: true,
      outcome: outcome(b.id, {
        retain: b.retain,
        ...(i === 0
          ? { volumes: [{ pvc: 'files', repository: 's3://b/r/', resticSnapshotId: 'x' } as any] }
          : {}),
      }),
    }));
    candidates.push({ backupId: 'hand-made', hasManifest: false, outcome: undefined as any });
    const folders = new Map([['shop', candidates]]);
    const keyOf = (ns: string, backupId: string) => `nsbackup/prod/${ns}/${backupId}/`;
    const plan = planS3Only(folders, keyOf, { ...options('2026-11-10T12:00:00Z'), graceDays: 1 });
    expect(plan.refused).toBe(false);
    expect(plan.deletions.map((d) => d.id)).toEqual(backups.slice(0, 6).map((b) => b.id));
    expect(plan.deletions[0]).toMatchObject({
      namespace: 'shop',
      key: keyOf('shop', backups[0].id),
      volumePvcs: ['files'],
    });
    expect(plan).toMatchObject({ kept: 4, heldBack: 0, withSnapshots: 0 });
    expect(plan.leftAlone).toEqual([
      { namespace: 'shop', backupId: 'hand-made', reason: 'not a backup id nsbackup makes' },
    ]);
    const held = planS3Only(folders, keyOf, {
      ...options('2026-11-10T12:00:00Z', { maxDeleteShare: 0.5 }),
      graceDays: 1,
    });
    expect(held).toMatchObject({ refused: true, deletions: [], kept: 4, heldBack: 6 });
  });
});
