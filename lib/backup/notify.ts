// Dead-man's-switch pings: a GET after the run. A failing ping is logged and never fails the backup.

import type { Logger } from '../log.js';

export type Notifier = (url: string) => Promise<void>;

export const httpGetNotifier =
  (timeoutMs = 10_000): Notifier =>
  async (url) => {
    const res = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  };

export async function notify(
  notifier: Notifier,
  url: string,
  outcome: string,
  log: Logger,
): Promise<boolean> {
  if (!url) return true;
  // The URL may carry a token in its path or query: only its origin reaches the log.
  const origin = new URL(url).origin;
  try {
    await notifier(url);
    log.info('notification sent', { outcome, to: origin });
    return true;
  } catch (e) {
    log.warn('notification failed (the backup outcome is unchanged)', {
      outcome,
      to: origin,
      error: (e as Error).message,
    });
    return false;
  }
}
