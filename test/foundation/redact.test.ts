// What the Redactor masks: registered secrets of any length, Secret data wherever a Secret appears (also as an item
// of a SecretList, which carries no kind), and the S3 session token of every run.

import { describe, expect, it } from 'vitest';
import { defineCommand, runCommand } from '../../lib/command.js';
import { str } from '../../lib/config/index.js';
import { Redactor } from '../../lib/redact.js';

describe('Redactor', () => {
  it('masks a short secret (1-3 characters) where it stands alone, not inside other words', () => {
    const r = new Redactor();
    r.add('x9!');
    r.add('q');
    expect(r.text('password x9!')).toBe('password [redacted]');
    expect(r.text('x9!')).toBe('[redacted]');
    expect(r.text('{"pw":"x9!"} user:x9!@host')).toBe('{"pw":"[redacted]"} user:[redacted]@host');
    expect(r.text('q')).toBe('[redacted]');
    // Inside words it stays: masking it there would mangle text and show which letters the secret is.
    expect(r.text('quick ax9!b')).toBe('quick ax9!b');
    expect(r.value({ note: 'q', list: ['x9!', 'fine'] })).toEqual({
      note: '[redacted]',
      list: ['[redacted]', 'fine'],
    });
  });

  it('masks longer secrets everywhere, the longest first, and their base64 form', () => {
    const r = new Redactor();
    r.add('abcd');
    r.add('abcdefgh');
    expect(r.text('xabcdefghx abcdx')).toBe('x[redacted]x [redacted]x');
    expect(r.text(Buffer.from('abcd').toString('base64'))).toBe('[redacted]');
  });

  it('never registers blanks (a mask on every space would hide the log, not a secret)', () => {
    const r = new Redactor();
    r.add(' ');
    r.add('');
    expect(r.text('a b c')).toBe('a b c');
  });

  it('masks the data of Secrets without a kind: the items of a SecretList, and anything typed like a Secret', () => {
    const r = new Redactor();
    const list = {
      kind: 'SecretList',
      apiVersion: 'v1',
      items: [
        { metadata: { name: 'a' }, data: { 'tls.key': 'UFJJVkFURQ==' }, stringData: { user: 'admin' } },
        { metadata: { name: 'b' }, type: 'Opaque', data: { x: 'c2VjcmV0' } },
      ],
    };
    const masked = JSON.stringify(r.value({ response: list }));
    expect(masked).not.toContain('UFJJVkFURQ==');
    expect(masked).not.toContain('admin');
    expect(masked).not.toContain('c2VjcmV0');
    expect(masked).toContain('"name":"a"');
    const typed = r.value({
      object: { metadata: { name: 'c' }, type: 'kubernetes.io/tls', data: { k: 'S0VZ' } },
    });
    expect(JSON.stringify(typed)).not.toContain('S0VZ');
    // A ConfigMap's data is not secret.
    expect(r.value({ kind: 'ConfigMap', data: { mode: 'fast' } })).toEqual({
      kind: 'ConfigMap',
      data: { mode: 'fast' },
    });
  });

  it('does not pass on what lies deeper than it walks', () => {
    let deep: Record<string, unknown> = { kind: 'Secret', data: { k: 'TOO-DEEP' } };
    for (let i = 0; i < 12; i++) deep = { inner: deep };
    deep = { inner: { ...deep, note: 'n' } };
    expect(JSON.stringify(new Redactor().value(deep))).not.toContain('TOO-DEEP');
  });
});

describe('every run', () => {
  it('masks AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, whatever the command and however it fails', async () => {
    const SESSION = 'IQoJb3JpZ2luX2VjE-session-token';
    const SECRET = 'wJalrXUtnFEMI-secret-key';
    const lines: string[] = [];
    const command = defineCommand({
      name: 'leaky',
      summary: 's',
      schema: { name: str({ env: 'NSBACKUP_NAME', description: 'n' }) },
      async run({ log, env }) {
        log.info('credentials', { session: env.AWS_SESSION_TOKEN, note: `key ${env.AWS_SECRET_ACCESS_KEY}` });
        throw new Error(`S3 refused token ${env.AWS_SESSION_TOKEN}`);
      },
    });
    const env = { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: SESSION };
    await runCommand(command, { env, write: (l) => void lines.push(l) });
    const text = lines.join('\n');
    expect(text).toContain('S3 refused token [redacted]');
    expect(text).not.toContain(SESSION);
    expect(text).not.toContain(SECRET);
  });
});
