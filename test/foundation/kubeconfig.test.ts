// Loading kubeconfigs: a broken one is a configuration error that names the file and never quotes it (its tokens are
// secrets, and YAML parsers put the lines around a syntax error in their message); KUBECONFIG lists are merged.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { ExitCode } from '../../lib/exit.js';
import { connect } from '../../lib/kube/index.js';
import { command as list } from '../../scripts/list.js';

const TOKEN = 'kc-t0ken-that-must-not-leak';
const dir = mkdtempSync(join(tmpdir(), 'nsbackup-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const kubeconfig = (o: {
  cluster: string;
  server: string;
  user: string;
  context: string;
  current?: string;
}) =>
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${o.cluster}`,
    '  cluster:',
    `    server: ${o.server}`,
    'users:',
    `- name: ${o.user}`,
    '  user:',
    `    token: ${TOKEN}`,
    'contexts:',
    `- name: ${o.context}`,
    `  context: {cluster: ${o.cluster}, user: ${o.user}, namespace: ns-${o.context}}`,
    o.current ? `current-context: ${o.current}` : '',
  ].join('\n');

// Line 11 opens a flow sequence that never closes: the parser reports it on line 12 and quotes lines 9-14.
const BROKEN = [
  'apiVersion: v1',
  'kind: Config',
  'clusters:',
  '- name: c',
  '  cluster:',
  '    server: https://127.0.0.1:6443',
  'users:',
  '- name: u',
  '  user:',
  `    token: ${TOKEN}`,
  '    extra: [unclosed',
  'contexts:',
  '- name: ctx',
  '  context: {cluster: c, user: u}',
  'current-context: ctx',
].join('\n');

async function runList(argv: string[], env: NodeJS.ProcessEnv) {
  const lines: string[] = [];
  const code = await runCommand(list, { argv, env, write: (l) => void lines.push(l), out: () => undefined });
  return { code, text: lines.join('\n') };
}

describe('a kubeconfig that does not load', () => {
  const broken = file('broken.yaml', BROKEN);

  it.each([
    ['--kubeconfig', ['--kubeconfig', broken], {}],
    ['NSBACKUP_KUBECONFIG', [], { NSBACKUP_KUBECONFIG: broken }],
    ['KUBECONFIG', [], { KUBECONFIG: broken }],
    ['KUBECONFIG with several files', [], { KUBECONFIG: `${join(dir, 'missing.yaml')}:${broken}` }],
  ])('given by %s: exit 2, names the file and the line, never quotes it', async (_, argv, env) => {
    const { code, text } = await runList(argv, env);
    expect(code).toBe(ExitCode.badConfig);
    expect(text).toContain(`${broken} is not valid YAML (line 12, column 1)`);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('unclosed');
    expect(text).not.toContain('user:');
  });

  it('an unknown context lists the context names only', async () => {
    const good = file(
      'good.yaml',
      kubeconfig({ cluster: 'c', server: 'https://127.0.0.1:1', user: 'u', context: 'a', current: 'a' }),
    );
    for (const env of [{ KUBECONFIG: good }, { NSBACKUP_KUBECONFIG: good }]) {
      const { code, text } = await runList(['--context', 'nope'], env);
      expect(code).toBe(ExitCode.badConfig);
      expect(text).toContain('the kubeconfig has no context \\"nope\\" (contexts: a)');
      expect(text).not.toContain(TOKEN);
    }
  });

  it('a missing file or a file that is no kubeconfig says so without its contents', () => {
    expect(() => connect({ kubeconfigPath: join(dir, 'nothing.yaml') })).toThrow(
      `cannot read ${join(dir, 'nothing.yaml')} (ENOENT)`,
    );
    const notConfig = file('token.yaml', `- ${TOKEN}\n- clusters: 1`);
    const error = (() => {
      try {
        connect({ kubeconfigPath: notConfig });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message ?? '').not.toContain(TOKEN);
    const noServer = file(
      'no-server.yaml',
      `clusters:\n- name: c\n  cluster: {}\nusers:\n- name: ${TOKEN}\n`,
    );
    expect(() => connect({ kubeconfigPath: noServer })).toThrow(
      `${noServer}: clusters[0].cluster.server is missing`,
    );
  });
});

describe('KUBECONFIG with several files', () => {
  const first = file(
    'first.yaml',
    kubeconfig({
      cluster: 'shared',
      server: 'https://first:6443',
      user: 'u1',
      context: 'one',
      current: 'one',
    }),
  );
  const second = file(
    'second.yaml',
    kubeconfig({
      cluster: 'shared',
      server: 'https://second:6443',
      user: 'u2',
      context: 'two',
      current: 'two',
    }),
  );
  const third = file(
    'third.yaml',
    kubeconfig({ cluster: 'own', server: 'https://third:6443', user: 'u3', context: 'three' }),
  );

  it('merges them like kubectl: every context is usable, the first file wins an entry and current-context', () => {
    const env = { KUBECONFIG: [first, join(dir, 'absent.yaml'), '', second, third].join(':') };
    const kube = connect({ env });
    expect(kube.kc.getCurrentContext()).toBe('one');
    expect(kube.defaultNamespace).toBe('ns-one');
    expect(kube.kc.getContexts().map((c) => c.name)).toEqual(['one', 'two', 'three']);
    // "shared" is named by both files: the first file's server is used, also from the second file's context.
    expect(connect({ env, context: 'two' }).server).toBe('https://first:6443');
    expect(connect({ env, context: 'three' }).server).toBe('https://third:6443');
    expect(connect({ env, context: 'three' }).defaultNamespace).toBe('ns-three');
  });

  it('refuses a list of which no file exists', () => {
    expect(() => connect({ env: { KUBECONFIG: `${join(dir, 'x.yaml')}:${join(dir, 'y.yaml')}` } })).toThrow(
      /none of the kubeconfig files exists/,
    );
  });
});

describe('a server URL that is not the Kubernetes API', () => {
  it('says so, instead of "not found" or an HTML page, as kubectl does', async () => {
    // A web server at the kubeconfig's URL: an ingress, a proxy, a mistyped port. Every path is a 404 page.
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<html><body><h1>404 Not Found</h1></body></html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const path = file(
        'web-server',
        kubeconfig({
          cluster: 'c',
          server: `http://127.0.0.1:${port}`,
          user: 'u',
          context: 'ctx',
          current: 'ctx',
        }) + '\n',
      );
      // client-node speaks plain HTTP only with this set (see ../shared/wire-notes.md).
      writeFileSync(
        path,
        readFileSync(path, 'utf8').replace('    server:', '    insecure-skip-tls-verify: true\n    server:'),
      );
      const kube = connect({ kubeconfigPath: path });
      await expect(kube.get('/api/v1/namespaces/shop')).rejects.toThrow(
        `did not answer as a Kubernetes API server (HTTP 404, text/html instead of JSON)`,
      );
      const { code, text } = await runList(['-n', 'shop'], { NSBACKUP_KUBECONFIG: path });
      expect(code).toBe(ExitCode.failed);
      expect(text).toContain('check the server URL of the kubeconfig');
      expect(text).not.toContain('<html>');
      expect(text).not.toContain(TOKEN);
    } finally {
      server.close();
    }
  });
});
