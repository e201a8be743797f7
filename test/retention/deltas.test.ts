import { describe, expect, it } from 'vitest';
import { decodeDeltas, deltasKeep, encodeDeltas, parseDeltas } from '../../lib/retention/index.js';
import { rng } from './gen.js';
import { referenceExpireKeep, type ReferenceBackup } from './tarsnapper-reference.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What the core keeps, as names, for backups given in any order. */
function fastKeep(backups: readonly ReferenceBackup[], deltaMs: number[]): Set<string> {
  const sorted = [...backups].sort((a, b) => b.ms - a.ms || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const deltas = deltaMs.map((ms) => ({ iso: `PT${ms / 1000}S`, ms }));
  const keep = deltasKeep(
    sorted.map((b) => b.ms),
    deltas,
  );
  return new Set([...keep].map((i) => sorted[i].name));
}

describe('deltas: parsing and the label value', () => {
  it('reads ISO 8601 durations of fixed length', () => {
    expect(parseDeltas('PT1H P1D P7D').map((d) => d.ms)).toEqual([HOUR, DAY, 7 * DAY]);
    expect(parseDeltas('P1W,PT30M').map((d) => d.ms)).toEqual([7 * DAY, 30 * 60_000]);
  });

  it('refuses months, years, zero, a single delta and nonsense', () => {
    expect(() => parseDeltas('P1D P1M')).toThrow(/no fixed length/);
    expect(() => parseDeltas('P1D P1Y')).toThrow(/no fixed length/);
    expect(() => parseDeltas('PT0S P1D')).toThrow(/positive/);
    expect(() => parseDeltas('P1D')).toThrow(/at least two/);
    expect(() => parseDeltas('daily weekly')).toThrow(/not an ISO 8601 duration/);
  });

  it('encodes to a valid label value and back', () => {
    const value = encodeDeltas(parseDeltas('PT1H P1D P7D P30D P360D'));
    expect(value).toBe('PT1H_P1D_P7D_P30D_P360D');
    expect(value).toMatch(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/);
    expect(decodeDeltas(value).map((d) => d.iso)).toEqual(['PT1H', 'P1D', 'P7D', 'P30D', 'P360D']);
    expect(() =>
      encodeDeltas(parseDeltas(Array.from({ length: 12 }, (_, i) => `PT${i + 1}0001S`).join(' '))),
    ).toThrow(/63/);
  });
});

describe('deltas: the keep set follows tarsnapper', () => {
  it("keeps B in tarsnapper's own regression case (1d 7d; A, B, C)", () => {
    const backups = [
      { name: 'A', ms: Date.UTC(2010, 5, 15) },
      { name: 'B', ms: Date.UTC(2010, 5, 19) },
      { name: 'C', ms: Date.UTC(2010, 5, 20) },
    ];
    expect(fastKeep(backups, [DAY, 7 * DAY])).toEqual(new Set(['A', 'B', 'C']));
  });

  it('thins hourly backups of 40 days to hourly for a day, daily for a week', () => {
    const backups = Array.from({ length: 40 * 24 }, (_, i) => ({ name: `h${i}`, ms: i * HOUR }));
    const kept = fastKeep(backups, [HOUR, DAY, 7 * DAY]);
    expect(kept.has(`h${40 * 24 - 1}`)).toBe(true);
    expect(kept.size).toBeGreaterThanOrEqual(24 + 6);
    expect(kept.size).toBeLessThanOrEqual(24 + 8);
    expect([...kept].every((name) => Number(name.slice(1)) >= 40 * 24 - 1 - 7 * 24 - 24)).toBe(true);
  });

  it('picks the same set as the published algorithm on random histories', () => {
    const deltaSets = [
      [HOUR, DAY],
      [HOUR, DAY, 7 * DAY],
      [6 * HOUR, DAY, 7 * DAY, 30 * DAY],
      [DAY, 3 * DAY],
      [DAY, 7 * DAY, 30 * DAY, 360 * DAY],
      [30 * 60_000, 2 * HOUR, DAY],
    ];
    for (let seed = 1; seed <= 600; seed++) {
      const r = rng(seed);
      const deltas = r.pick(deltaSets);
      const count = r.int(0, 70);
      let t = Date.UTC(2026, 0, 1);
      const backups: ReferenceBackup[] = [];
      for (let i = 0; i < count; i++) {
        // Gaps in units of each generation's step: none (equal times), a sliver, around the
        // midpoints the pointer walks over, and long holes it has to cross.
        const unit = r.pick(deltas);
        t += Math.round(unit * r.pick([0, 0.02, 0.5, 1, 1, 1.3, 2.5, 3.5, 12])) + r.int(0, 3) * 60_000;
        backups.push({ name: `b${r.int(0, 99)}-${i}`, ms: t });
      }
      expect(fastKeep(backups, deltas), `seed ${seed}`).toEqual(referenceExpireKeep(backups, deltas));
    }
  });

  it('plans 50,000 hourly backups of one PVC in well under a second', () => {
    const backups = Array.from({ length: 50_000 }, (_, i) => ({
      name: `h${i}`,
      ms: i * HOUR + (i % 7) * 1000,
    }));
    const started = performance.now();
    const kept = fastKeep(backups, [HOUR, DAY, 7 * DAY, 30 * DAY, 360 * DAY]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(kept.size).toBeLessThan(24 + 7 + 12 + 12 + 5);
  });

  it('jumps long gaps instead of stepping a short delta through them', () => {
    // PT1M inside P3650D with one backup five years back: the published loop needs ~1.3M steps.
    const backups = [
      { name: 'old', ms: Date.UTC(2021, 0, 1) },
      { name: 'new', ms: Date.UTC(2026, 0, 1) },
    ];
    const started = performance.now();
    expect(fastKeep(backups, [60_000, 3650 * DAY])).toEqual(new Set(['old', 'new']));
    expect(performance.now() - started).toBeLessThan(50);
  });
});
