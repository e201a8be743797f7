// `npm run package` makes the CLI people download: one executable file. Run from an empty folder with no Node on
// PATH and no node_modules anywhere near, it must still be nsbackup: its version, and a real command against a
// cluster (the emulator).
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Labels } from '../../lib/labels.js';
import { packageNsbackup } from '../../tools/package.js';
import { startCluster, type Cluster } from '../cluster/index.js';
import { REPO_ROOT, seedSnapshots, startS3, type LocalS3 } from '../kit/index.js';

let work: string;
let executable: string;
let cluster: Cluster;
let s3: LocalS3;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nsbackup-package-'));
  [executable, cluster, s3] = await Promise.all([
    packageNsbackup(join(work, 'bin')),
    startCluster(),
    startS3('package'),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs the executable alone: an empty working folder, PATH without node, only the variables given. */
function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      executable,
      args,
      { cwd: work, env: { PATH: '/nonexistent', HOME: work, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the single-file nsbackup executable', () => {
  it('knows its version without a package.json beside it', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('runs a command against a cluster: list shows the namespace snapshots', async () => {
    seedSnapshots(cluster, [
      {
        namespace: 'shop',
        name: 'data-20261207-020000-abcdef',
        pvc: 'data',
        createdAt: '2026-12-07T02:00:00Z',
        labels: { [Labels.retain]: 'gfs', [Labels.daily]: '2026-12-07' },
      },
    ]);
    const listed = await run(['list', '-n', 'shop', '-o', 'json'], {
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).map((row: any) => row.snapshot)).toEqual([
      'data-20261207-020000-abcdef',
    ]);
  });

  it('runs in the time zone and the folder it is started in, not those of its build (the startup snapshot)', async () => {
    const listed = await run(['list', '-n', 'shop'], {
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      TZ: 'Asia/Tokyo',
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('2026-12-07 11:00');
    const exported = await run(['export', '-n', 'shop', '--dir', 'exported'], {
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
    });
    expect(exported.code, exported.stderr).toBe(0);
    expect(readdirSync(join(work, 'exported')).length).toBeGreaterThan(0);
  });

  it('reaches S3: the AWS SDK, loaded only by the commands that use it, is inside the executable', async () => {
    const listed = await run(['backups', '-n', 'shop', '-o', 'json'], {
      ...s3.env,
      NSBACKUP_S3_FORCE_PATH_STYLE: 'true',
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: 'package',
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it('refuses bad configuration as the image does (exit 2, the variable named)', async () => {
    const refused = await run(['list'], { NSBACKUP_NAMSPACE: 'shop' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('NSBACKUP_NAMESPACE');
  });
});
