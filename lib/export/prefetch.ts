// Runs an async iterable ahead of its reader, holding at most `ahead` items: the listing of the next resource
// types proceeds while the current one is written, without any of them growing without bound.

export function prefetch<T>(source: AsyncIterable<T>, ahead: number): AsyncIterable<T> {
  const buffer: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wakeReader: (() => void) | undefined;
  let wakeWriter: (() => void) | undefined;
  let stopped = false;

  const wake = (which: 'reader' | 'writer') => {
    const fn = which === 'reader' ? wakeReader : wakeWriter;
    if (which === 'reader') wakeReader = undefined;
    else wakeWriter = undefined;
    fn?.();
  };

  void (async () => {
    try {
      for await (const item of source) {
        buffer.push(item);
        wake('reader');
        while (buffer.length >= ahead && !stopped) await new Promise<void>((r) => (wakeWriter = r));
        if (stopped) return;
      }
    } catch (error) {
      // Kept, not thrown: the reader meets it in order, after the items that came before.
      failure = { error };
    } finally {
      done = true;
      wake('reader');
    }
  })();

  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          if (buffer.length) {
            const item = buffer.shift()!;
            wake('writer');
            yield item;
            continue;
          }
          if (done) {
            if (failure) throw failure.error;
            return;
          }
          await new Promise<void>((r) => (wakeReader = r));
        }
      } finally {
        stopped = true;
        wake('writer');
      }
    },
  };
}
