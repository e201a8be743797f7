// The one place that retries Kubernetes calls: 429 (honouring Retry-After), 5xx and connection errors,
// with exponential backoff and full jitter, bounded in attempts and in total time.

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up when the next wait would pass this much total time. */
  maxElapsedMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxElapsedMs: 60_000,
};

export interface RetryDecision {
  retry: boolean;
  /** Server-requested wait (Retry-After), if any. */
  afterMs?: number;
}

export type Classifier = (error: unknown) => RetryDecision;

export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  classify: Classifier,
  policy: RetryPolicy = defaultRetryPolicy,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  random: () => number = Math.random,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      const decision = classify(e);
      if (!decision.retry || attempt >= policy.attempts) throw e;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const wait =
        decision.afterMs !== undefined
          ? Math.min(decision.afterMs, policy.maxDelayMs * 3)
          : random() * backoff;
      if (Date.now() - started + wait > policy.maxElapsedMs) throw e;
      await sleep(wait);
    }
  }
}
