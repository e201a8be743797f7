// Dead-man's-switch URLs are secrets: a bad value is not echoed, they are masked in logs, a failed ping is logged
// with scheme and host only (fetch's own messages quote the whole URL), and user:password@ is sent as basic auth.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notify, httpGetNotifier } from '../../lib/backup/notify.js';
import { backupSettings } from '../../lib/backup/settings.js';
import { runCommand } from '../../lib/command.js';
import { loadConfig, secretValues } from '../../lib/config/index.js';
import { ExitCode } from '../../lib/exit.js';
import { Logger } from '../../lib/log.js';
import { createBackupCommand } from '../../scripts/backup.js';

const PASSWORD = 'ping-pa55word';
const TOKEN = 'q-t0ken-4ab1e';
const PATH_TOKEN = 'c0ffee-uuid-path-token';

function capture() {
  const lines: string[] = [];
  return { lines, log: new Logger({ write: (l) => void lines.push(l) }), text: () => lines.join('\n') };
}

let server: Server;
let base: string;
/** A port nothing listens on (a closed server's). */
let closedPort: number;
const seen: { url?: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    res.statusCode = req.url?.startsWith('/down') ? 503 : 200;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
});
afterAll(() => new Promise((r) => server.close(r)));

describe('notification URLs', () => {
  it('a bad value is refused without being echoed', async () => {
    const lines: string[] = [];
    const code = await runCommand(createBackupCommand(), {
      env: {
        NSBACKUP_DB: 'none',
        NSBACKUP_PVC: 'data',
        NSBACKUP_NOTIFY_URL: `ftp://user:${PASSWORD}@hc.example.com/${PATH_TOKEN}?t=${TOKEN}`,
      },
      write: (l) => void lines.push(l),
    });
    expect(code).toBe(ExitCode.badConfig);
    const text = lines.join('\n');
    expect(text).toContain('NSBACKUP_NOTIFY_URL must be an http(s) URL');
    for (const secret of [PASSWORD, TOKEN, PATH_TOKEN, 'hc.example.com']) expect(text).not.toContain(secret);
  });

  it('are secret settings: the URL, its password, path and query are masked in logs', () => {
    const url = `https://user:${PASSWORD}@hc.example.com/ping/${PATH_TOKEN}?key=${TOKEN}`;
    const config = loadConfig(backupSettings, {
      env: { NSBACKUP_DB: 'none', NSBACKUP_PVC: 'data', NSBACKUP_NOTIFY_FAILURE_URL: url },
    });
    const { log, text } = capture();
    for (const v of secretValues(backupSettings, config)) log.redactor.add(v);
    log.info(`GET ${url}`, { path: `/ping/${PATH_TOKEN}?key=${TOKEN}`, auth: `user:${PASSWORD}` });
    for (const secret of [PASSWORD, TOKEN, PATH_TOKEN]) expect(text()).not.toContain(secret);
  });
});

describe('notify', () => {
  it('sends user:password@ as basic auth and logs scheme and host only', async () => {
    const { log, text } = capture();
    const url = `http://user:${PASSWORD}@${base}/ping/${PATH_TOKEN}?key=${TOKEN}`;
    expect(await notify(httpGetNotifier(2000), url, 'success', log)).toBe(true);
    const request = seen.at(-1)!;
    expect(request.url).toBe(`/ping/${PATH_TOKEN}?key=${TOKEN}`);
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from(`user:${PASSWORD}`).toString('base64')}`);
    expect(JSON.parse(text())).toMatchObject({ msg: 'notification sent', to: `http://${base}` });
    for (const secret of [PASSWORD, TOKEN, PATH_TOKEN]) expect(text()).not.toContain(secret);
  });

  it.each([
    ['an HTTP error', () => `http://user:${PASSWORD}@${base}/down/${PATH_TOKEN}?key=${TOKEN}`, 'HTTP 503'],
    [
      'a refused connection',
      () => `http://user:${PASSWORD}@127.0.0.1:${closedPort}/${PATH_TOKEN}?key=${TOKEN}`,
      'ECONNREFUSED',
    ],
  ])('a failure (%s) is logged without any part of the URL but scheme and host', async (_, url, reason) => {
    const { log, text } = capture();
    expect(await notify(httpGetNotifier(2000), url(), 'failure', log)).toBe(false);
    const line = JSON.parse(text());
    expect(line).toMatchObject({ level: 'warn', outcome: 'failure' });
    expect(line.error).toContain(reason);
    expect(line.to).toBe(new URL(url()).origin);
    for (const secret of [PASSWORD, TOKEN, PATH_TOKEN]) expect(text()).not.toContain(secret);
  });

  it("never logs a notifier's own message (it may quote the URL)", async () => {
    const { log, text } = capture();
    const url = `https://hc.example.com/ping/${PATH_TOKEN}`;
    await notify(async (u) => Promise.reject(new TypeError(`fetch failed for ${u}`)), url, 'success', log);
    expect(JSON.parse(text())).toMatchObject({ to: 'https://hc.example.com', error: 'request failed' });
    expect(text()).not.toContain(PATH_TOKEN);
  });
});
