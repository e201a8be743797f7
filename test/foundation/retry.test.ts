import { describe, expect, it } from 'vitest';
import { KubeApiError, KubeConnectionError, retryDecision, withRetry } from '../../lib/kube/index.js';

const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 10_000 };

function failing(errors: unknown[]) {
  let calls = 0;
  return {
    fn: async () => {
      const e = errors[calls++];
      if (e) throw e;
      return 'ok';
    },
    calls: () => calls,
  };
}

describe('retry policy', () => {
  it('retries 429 honouring Retry-After, then succeeds', async () => {
    const waits: number[] = [];
    const f = failing([new KubeApiError(429, 'TooManyRequests', 'slow down', 'GET', '/x', 2)]);
    const r = await withRetry(
      f.fn,
      (e) => retryDecision(e, true),
      policy,
      async (ms) => void waits.push(ms),
    );
    expect(r).toBe('ok');
    expect(waits).toEqual([2000]);
  });

  it('backs off exponentially with jitter on 5xx and gives up after the attempts', async () => {
    const waits: number[] = [];
    const err = new KubeApiError(503, 'ServiceUnavailable', 'down', 'GET', '/x');
    const f = failing([err, err, err, err, err]);
    await expect(
      withRetry(
        f.fn,
        (e) => retryDecision(e, true),
        policy,
        async (ms) => void waits.push(ms),
        () => 1,
      ),
    ).rejects.toBe(err);
    expect(f.calls()).toBe(4);
    expect(waits).toEqual([100, 200, 400]);
  });

  it('does not retry a create on 500 or a reset connection, but does when nothing was sent', () => {
    expect(retryDecision(new KubeApiError(500, 'InternalError', 'x', 'POST', '/x'), false).retry).toBe(false);
    expect(retryDecision(new KubeConnectionError('reset', 'POST', '/x', false), false).retry).toBe(false);
    expect(retryDecision(new KubeConnectionError('refused', 'POST', '/x', true), false).retry).toBe(true);
    expect(retryDecision(new KubeApiError(404, 'NotFound', 'x', 'GET', '/x'), true).retry).toBe(false);
    expect(retryDecision(new KubeApiError(409, 'Conflict', 'x', 'PUT', '/x'), true).retry).toBe(false);
  });

  it('stops when the total time bound would be passed', async () => {
    const err = new KubeApiError(429, 'TooManyRequests', 'x', 'GET', '/x', 30);
    const f = failing([err, err]);
    await expect(
      withRetry(
        f.fn,
        (e) => retryDecision(e, true),
        { ...policy, maxDelayMs: 100_000, maxElapsedMs: 5000 },
        async () => {},
      ),
    ).rejects.toBe(err);
    expect(f.calls()).toBe(1);
  });
});
