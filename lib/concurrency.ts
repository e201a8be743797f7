// Small helpers for doing independent async work side by side, and for pausing a loop that must stop promptly.

/**
 * Runs `work` on every item, at most `limit` at a time, in item order. Why bounded: a cluster-wide run may
 * patch tens of thousands of objects, one request at a time would take minutes, unbounded would trip API
 * priority and fairness. Once `signal` aborts no further item is started (those running finish). A rejection
 * rejects the whole at once; the other workers still go on through the remaining items.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
