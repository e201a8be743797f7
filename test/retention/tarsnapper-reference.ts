// A slow, literal reading of tarsnapper's published expire() (the algorithm k8s-snapshots uses),
// kept only to check the fast selection in lib/retention/deltas.ts against it. Quadratic on purpose.

export interface ReferenceBackup {
  name: string;
  ms: number;
}

/** The names tarsnapper keeps. Ties in time are broken by name, as the core does. */
export function referenceExpireKeep(
  backups: readonly ReferenceBackup[],
  deltaMs: readonly number[],
): Set<string> {
  if (backups.length === 0) return new Set();
  // Most recent first.
  const sorted = [...backups].sort((a, b) => b.ms - a.ms || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const deltas = [...deltaMs].sort((a, b) => a - b);
  const mostRecent = sorted[0].ms;
  const keep = new Set([sorted[0].name]);
  let lastDelta = deltas.pop() as number;
  while (deltas.length > 0) {
    const currentDelta = deltas.pop() as number;
    // (1) Start where the current generation ends.
    let pointer = mostRecent - lastDelta;
    let lastSelected: string | undefined;
    while (pointer < mostRecent) {
      // (2) The backup closest to the pointer: a stable sort of every backup by distance.
      const byDistance = sorted
        .map((b, order) => ({ b, order, distance: Math.abs(b.ms - pointer) }))
        .sort((x, y) => x.distance - y.distance || x.order - y.order);
      const best = byDistance[0].b;
      if (best.name === lastSelected) {
        pointer += currentDelta;
      } else {
        lastSelected = best.name;
        keep.add(best.name);
        // (3) Step forward by the current generation's delta.
        pointer = best.ms + currentDelta;
      }
    }
    lastDelta = currentDelta;
  }
  return keep;
}
