// Dead-man's-switch pings: a GET after the run. A failing ping is logged and never fails the backup.
// Ping URLs are secrets (a token in the path or query, or user:password@): only scheme and host reach the log, and
// no error message is logged as it is, since fetch's messages quote the whole URL.

import type { Logger } from '../log.js';

export type Notifier = (url: string) => Promise<void>;

/** A notification that failed, in words that hold no part of the URL. */
export class NotifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotifyError';
  }
}

/** Where a ping goes, for the log: scheme and host (with port), no credentials, path or query. */
export function schemeAndHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(not a URL)';
  }
}

/** fetch refuses credentials in a URL: user:password@ becomes a basic Authorization header instead. */
export function pingRequest(url: string): { target: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (!u.username && !u.password) return { target: url, headers: {} };
  const basic = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
  u.username = '';
  u.password = '';
  return { target: u.href, headers: { Authorization: `Basic ${Buffer.from(basic).toString('base64')}` } };
}

/** Why a request failed: a timeout, a system error code (ECONNREFUSED, ENOTFOUND, ...), else nothing specific. */
export function describeFailure(e: unknown): string {
  if (e instanceof NotifyError) return e.message;
  const error = e as { name?: unknown; code?: unknown; cause?: { code?: unknown } };
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError') return 'no answer in time';
  for (const code of [error?.cause?.code, error?.code]) {
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return `request failed (${code})`;
  }
  return 'request failed';
}

export const httpGetNotifier =
  (timeoutMs = 10_000): Notifier =>
  async (url) => {
    const { target, headers } = pingRequest(url);
    let res: Response;
    try {
      res = await fetch(target, { method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new NotifyError(describeFailure(e));
    }
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new NotifyError(`HTTP ${res.status}`);
  };

export async function notify(
  notifier: Notifier,
  url: string,
  outcome: string,
  log: Logger,
): Promise<boolean> {
  if (!url) return true;
  const to = schemeAndHost(url);
  try {
    await notifier(url);
    log.info('notification sent', { outcome, to });
    return true;
  } catch (e) {
    log.warn('notification failed (the backup outcome is unchanged)', {
      outcome,
      to,
      error: describeFailure(e),
    });
    return false;
  }
}
