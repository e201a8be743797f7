// Output for people: the log format asked for holds for every message (configuration errors too), backup takes
// -n like every command, and --help is short (--help-all has every setting).
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { emptyReport, finishReport, summaryOf } from '../../lib/restore/report.js';
import { createBackupCommand } from '../../scripts/backup.js';

async function run(argv: string[], env: Record<string, string>) {
  const lines: string[] = [];
  let stdout = '';
  const code = await runCommand(createBackupCommand(), {
    argv,
    env,
    write: (line) => lines.push(line),
    out: (text) => (stdout += text),
  });
  return { code, lines, stdout };
}

describe('output for people', () => {
  it('a configuration error comes out as text when NSBACKUP_LOG_FORMAT=text', async () => {
    const r = await run([], { NSBACKUP_LOG_FORMAT: 'text', NSBACKUP_NAMSPACE: 'shop' });
    expect(r.code).toBe(2);
    expect(r.lines.join('\n')).toMatch(/ERROR invalid configuration:/);
    expect(() => JSON.parse(r.lines[0])).toThrow();
  });

  it('and as JSON for a collector (no terminal, nothing asked)', async () => {
    const r = await run([], { NSBACKUP_NAMSPACE: 'shop' });
    expect(JSON.parse(r.lines[0])).toMatchObject({ level: 'error', exitCode: 2 });
  });

  it('backup takes -n, as every other command does', async () => {
    // A kubeconfig that does not exist: the run stops there, after the arguments were accepted.
    const r = await run(['-n', 'shop', '--dry-run'], {
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      NSBACKUP_KUBECONFIG: '/nonexistent/kubeconfig',
    });
    expect(r.lines.join('\n')).not.toMatch(/unknown option -n/);
    expect(r.lines.join('\n')).toMatch(/\/nonexistent\/kubeconfig/);
  });

  it('--help shows the settings with a flag; --help-all every one', async () => {
    const short = await run(['--help'], {});
    const all = await run(['--help-all'], {});
    expect(short.code).toBe(0);
    expect(short.stdout).toContain('--namespace, NSBACKUP_NAMESPACE');
    expect(short.stdout).not.toContain('NSBACKUP_DISK_THRESHOLD');
    expect(short.stdout).toMatch(/--help-all {2}show every setting \(\d+ more, environment variables only\)/);
    expect(all.stdout).toContain('NSBACKUP_DISK_THRESHOLD');
    expect(short.stdout.split('\n').length).toBeLessThan(all.stdout.split('\n').length / 2);
  });
});

describe("restore's summary line", () => {
  it('names the objects behind "already existed" and "failed", not only their counts', () => {
    const report = emptyReport({
      backupId: 'b1',
      source: 's3://backups/nsbackup/prod/shop/b1/',
      sourceNamespace: 'shop',
      namespaceMapping: {},
      dryRun: false,
    });
    report.alreadyExisted.push({
      path: '/api/v1/namespaces/shop/configmaps/settings',
      kind: 'ConfigMap',
      namespace: 'shop',
    } as any);
    for (let i = 0; i < 12; i++)
      report.failed.push({
        path: `/api/v1/namespaces/shop/secrets/s${i}`,
        kind: 'Secret',
        namespace: 'shop',
      } as any);
    const summary = summaryOf(finishReport(report));
    expect(summary.alreadyExistedObjects).toEqual(['ConfigMap shop/settings']);
    expect(summary.failedObjects).toHaveLength(11);
    expect((summary.failedObjects as string[])[10]).toBe('and 2 more (see the report)');
  });
});
