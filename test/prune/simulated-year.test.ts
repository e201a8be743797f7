// 400 days of daily backups of two PVCs on the emulator: each day backup's own labelling (snapshotLabels over
// the PVC's snapshots in the cluster: every period, yearly included), then the retain and mark-and-delete
// commands with a fake clock.
import { DateTime } from 'luxon';
import { expect, it } from 'vitest';
import { Labels } from '../../lib/labels.js';
import { toSnapshotInfo } from '../../lib/snapshots/list.js';
import { snapshotLabels } from '../../lib/backup/snapshot-labels.js';
import { startCluster } from '../cluster/index.js';
import { SNAP_API, pruneNight, seedSnapshots, snapshotNames } from '../kit/index.js';

const ZONE = 'Europe/Berlin';
const FIRST_DAY = DateTime.fromISO('2025-01-01T02:30', { zone: ZONE }); // spans both DST changes and a new year
const DAYS = 400;
const PVCS = ['data', 'wal'];

const nameOf = (pvc: string, day: DateTime) => `${pvc}-${day.toFormat('yyyyMMdd')}`;

const KEYS = ['daily', 'weekly', 'monthly'] as const;
type Key = (typeof KEYS)[number];

/** Each backup day with its period values, worked out once (luxon is slow enough to matter here). */
const CALENDAR = Array.from({ length: DAYS }, (_, i) => {
  const d = FIRST_DAY.plus({ days: i });
  return {
    date: d.toFormat('yyyyMMdd'),
    week: `${d.weekYear}-${d.weekNumber}`,
    month: d.toFormat('yyyy-MM'),
  };
});

/**
 * Independent of the core: per backup date (yyyyMMdd), the keys that keep it on day `index` (the newest 7 days,
 * the firsts of the newest 4 ISO weeks, the firsts of the newest 12 months), from daily backups since FIRST_DAY.
 */
function keptKeysOn(index: number): Map<string, Set<Key>> {
  const days = CALENDAR.slice(0, index + 1);
  const firstOf = (period: (d: (typeof days)[number]) => string, count: number) => {
    const firsts = new Map<string, string>();
    for (const d of days) if (!firsts.has(period(d))) firsts.set(period(d), d.date);
    return [...firsts.values()].slice(-count);
  };
  const keptBy: Record<Key, string[]> = {
    daily: days.slice(-7).map((d) => d.date),
    weekly: firstOf((d) => d.week, 4),
    monthly: firstOf((d) => d.month, 12),
  };
  const kept = new Map<string, Set<Key>>();
  for (const key of KEYS)
    for (const date of keptBy[key]) kept.set(date, new Set([...(kept.get(date) ?? []), key]));
  return kept;
}

const keptOn = (index: number): Set<string> => new Set(keptKeysOn(index).keys());

/**
 * Independent of the core: the merge patches the runs need over the simulation. Each day, retain patches every
 * snapshot that loses keys (all it loses that day in one patch), and mark patches every snapshot that lost its
 * last one. Nothing else: the contents are already on Delete and there is no S3, so no finalizer.
 */
function expectedPatches(): number {
  let patches = 0;
  let before = new Map<string, Set<Key>>();
  for (let index = 0; index < DAYS; index++) {
    const now = keptKeysOn(index);
    for (const [date, keys] of before) {
      const left = now.get(date)?.size ?? 0;
      if (left < keys.size) patches++; // retain
      if (left === 0) patches++; // mark
    }
    before = now;
  }
  return patches;
}

it('keeps 7 daily, 4 weekly and 12 monthly per PVC after a simulated year', async () => {
  const cluster = await startCluster();
  const env = { NSBACKUP_KUBECONFIG: cluster.kubeconfigPath, TZ: ZONE, NSBACKUP_DELETE_PAUSE: '0' };
  try {
    let day = FIRST_DAY;
    for (let i = 0; i < DAYS; i++, day = day.plus({ days: 1 })) {
      const createdAt = day.toUTC().toISO({ suppressMilliseconds: true })!;
      const existing = cluster
        .list(SNAP_API, 'VolumeSnapshot', 'shop')
        .map((vs) => toSnapshotInfo(vs).record);
      seedSnapshots(
        cluster,
        PVCS.map((pvc) => ({
          namespace: 'shop',
          name: nameOf(pvc, day),
          pvc,
          createdAt,
          contentPolicy: 'Delete' as const,
          labels: snapshotLabels({
            backupId: `b${day.toFormat('yyyyMMdd')}`,
            pvc,
            type: 'scheduled',
            retain: { policy: 'gfs' },
            createdAt,
            timeZone: ZONE,
            existingOfSamePvc: existing.filter((r) => r.pvc === pvc),
          }),
        })),
      );
      await pruneNight(cluster, 'shop', env, day.plus({ minutes: 30 }).toJSDate());
    }
    // Kept today, or unkept since yesterday or today: marked and within the grace day.
    const expected = new Set([...keptOn(DAYS - 1), ...keptOn(DAYS - 2), ...keptOn(DAYS - 3)]);
    expect(snapshotNames(cluster, 'shop')).toEqual(
      PVCS.flatMap((pvc) => [...expected].map((d) => `${pvc}-${d}`)).sort(),
    );
    // Last day Wed 2026-02-04: 12 firsts of month (2025-03..2026-02), firsts of ISO weeks 3-6, 7 days, and
    // 01-27 / 01-28, which lost their daily label on the last two days: marked, inside their grace.
    expect([...expected].sort()).toMatchInlineSnapshot(`
      [
        "20250301",
        "20250401",
        "20250501",
        "20250601",
        "20250701",
        "20250801",
        "20250901",
        "20251001",
        "20251101",
        "20251201",
        "20260101",
        "20260112",
        "20260119",
        "20260126",
        "20260127",
        "20260128",
        "20260129",
        "20260130",
        "20260131",
        "20260201",
        "20260202",
        "20260203",
        "20260204",
      ]
    `);
    for (const pvc of PVCS) {
      const labels = cluster
        .list(SNAP_API, 'VolumeSnapshot', 'shop')
        .filter((vs) => vs.metadata.labels[Labels.pvc] === pvc)
        .map((vs) => vs.metadata.labels);
      expect(labels.filter((l) => l[Labels.daily]).length).toBe(7);
      expect(labels.filter((l) => l[Labels.weekly]).length).toBe(4);
      expect(labels.filter((l) => l[Labels.monthly]).length).toBe(12);
      expect(labels.filter((l) => !l[Labels.daily] && !l[Labels.weekly] && !l[Labels.monthly]).length).toBe(
        labels.filter((l) => l[Labels.deleteAfter]).length,
      );
    }
    // Only labels that change are patched: backup labels yearly too, and the default keeps 0 yearly, so
    // stripping it at once would be a patch per PVC per day (and the next backup would set it again).
    const patches = cluster.requests.filter((r) => r.verb === 'patch');
    expect(patches.length).toBe(PVCS.length * expectedPatches());
    expect(patches.every((r) => r.path.includes('/namespaces/shop/volumesnapshots/'))).toBe(true);
    // The yearly labels backup set are where they were: on the first backup of each year still kept.
    const yearly = cluster
      .list(SNAP_API, 'VolumeSnapshot', 'shop')
      .filter((vs) => vs.metadata.labels[Labels.yearly])
      .map((vs) => `${vs.metadata.name}=${vs.metadata.labels[Labels.yearly]}`);
    expect(yearly.sort()).toEqual(['data-20260101=2026', 'wal-20260101=2026']);
    // Deleting a snapshot deleted its content (deletionPolicy Delete): no storage left behind.
    expect(cluster.list(SNAP_API, 'VolumeSnapshotContent')).toHaveLength(
      snapshotNames(cluster, 'shop').length,
    );
  } finally {
    await cluster.close();
  }
}, 120_000);
