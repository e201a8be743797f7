// 400 days of daily backups of two PVCs on the emulator: each day backup's labelling (gfsLabelsFor over
// the PVC's snapshots in the cluster), then the retain and mark-and-delete commands with a fake clock.
import { DateTime } from 'luxon';
import { expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { Labels } from '../../lib/labels.js';
import { toSnapshotInfo } from '../../lib/prune/snapshots.js';
import { activeGfsKeys, DEFAULT_GFS_KEEP, gfsLabelsFor } from '../../lib/retention/index.js';
import { createMarkAndDeleteCommand } from '../../scripts/mark-and-delete.js';
import { createRetainCommand } from '../../scripts/retain.js';
import { startCluster } from '../cluster/index.js';
import { SNAP_API, seedSnapshots, snapshotNames } from './fixtures.js';

const ZONE = 'Europe/Berlin';
const FIRST_DAY = DateTime.fromISO('2025-01-01T02:30', { zone: ZONE }); // spans both DST changes and a new year
const DAYS = 400;
const PVCS = ['data', 'wal'];

const nameOf = (pvc: string, day: DateTime) => `${pvc}-${day.toFormat('yyyyMMdd')}`;

/**
 * Independent of the core: the snapshots the policy keeps on `today` (7 days, first of the newest 4 ISO
 * weeks, first of the newest 12 months), from backups made daily since FIRST_DAY.
 */
function keptOn(today: DateTime): Set<string> {
  const days: DateTime[] = [];
  for (let d = FIRST_DAY; d <= today; d = d.plus({ days: 1 })) days.push(d);
  const firstOf = (key: (d: DateTime) => string, count: number) => {
    const firsts = new Map<string, DateTime>();
    for (const d of days) if (!firsts.has(key(d))) firsts.set(key(d), d);
    return [...firsts.values()].slice(-count);
  };
  const kept = [
    ...days.slice(-7),
    ...firstOf((d) => `${d.weekYear}-${d.weekNumber}`, 4),
    ...firstOf((d) => d.toFormat('yyyy-MM'), 12),
  ];
  return new Set(kept.map((d) => d.toFormat('yyyyMMdd')));
}

it('keeps 7 daily, 4 weekly and 12 monthly per PVC after a simulated year', async () => {
  const cluster = await startCluster();
  const env = { NSBACKUP_KUBECONFIG: cluster.kubeconfigPath, TZ: ZONE, NSBACKUP_DELETE_PAUSE: '0' };
  const logs: string[] = [];
  const write = (line: string) => logs.push(line);
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
          labels: {
            [Labels.retain]: 'gfs',
            [Labels.backup]: `b${day.toFormat('yyyyMMdd')}`,
            ...gfsLabelsFor(
              createdAt,
              ZONE,
              existing.filter((r) => r.pvc === pvc),
              activeGfsKeys(DEFAULT_GFS_KEEP),
            ),
          },
        })),
      );
      const now = () => day.plus({ minutes: 30 }).toJSDate();
      logs.length = 0;
      const retained = await runCommand(createRetainCommand(), { argv: ['-n', 'shop'], env, write });
      const swept = await runCommand(createMarkAndDeleteCommand({ now }), {
        argv: ['-n', 'shop'],
        env,
        write,
      });
      if (retained !== 0 || swept !== 0)
        throw new Error(`day ${day.toISODate()} failed:\n${logs.join('\n')}`);
      await cluster.controllers.idle();
    }
    const last = day.minus({ days: 1 });
    // Kept today, or unkept since yesterday or today: marked and within the grace day.
    const expected = new Set([
      ...keptOn(last),
      ...keptOn(last.minus({ days: 1 })),
      ...keptOn(last.minus({ days: 2 })),
    ]);
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
    // Deleting a snapshot deleted its content (deletionPolicy Delete): no storage left behind.
    expect(cluster.list(SNAP_API, 'VolumeSnapshotContent')).toHaveLength(
      snapshotNames(cluster, 'shop').length,
    );
  } finally {
    await cluster.close();
  }
}, 120_000);
