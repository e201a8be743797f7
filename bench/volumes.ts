// Volume data with restic: the whole path (`nsbackup backup` with NSBACKUP_PVC_DATA on the emulator: snapshot,
// clone, mover Job, the mover's own process running restic, its log read back) against `restic backup` run directly
// on the same tree; the second (incremental) run of both; `restore-pvc --from s3` against `restic restore`; the
// peak RSS of our processes (the backup and restore-pvc commands, and the mover's node process without restic).
//   npx tsx bench/volumes.ts [--size 1GiB] [--small-files 20000] [--big-files 8] [--rounds 2] [--copy-method direct]
// (--copy-method direct: the PVC in NSBACKUP_PVC_DATA_DIRECT, read from the live claim: no snapshot, no clone)
// (the big cases: --size 2GiB --big-files 1 --small-files 0, and --size 1GiB --small-files 100000)
//
// Processes as in a cluster: this one runs s3rver (HTTPS) and the emulator, whose Job runner starts the mover as
// its own process; the commands run as their own processes from the bundled image (test/realcluster/image.ts), under
// /usr/bin/time for their peak RSS. Goals (issue 12): whole-path throughput >= 90% of restic's; our peak RSS under
// 200 MB whatever the volume size (restic's own memory is restic's: reported beside it).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, type JobRunner } from '../test/cluster/index.js';
import { startS3 } from '../test/kit/index.js';
import { buildNsbackupImage } from '../test/realcluster/index.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    'small-files': { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '2' },
    'big-files': { type: 'string', default: '8' },
    'copy-method': { type: 'string', default: 'snapshot' },
  },
});
const copyDirect = values['copy-method'] === 'direct';
if (!['snapshot', 'direct'].includes(values['copy-method']!))
  throw new Error(`--copy-method: snapshot or direct, got ${values['copy-method']}`);
const size = parseSize(values.size!);

function parseSize(text: string): number {
  const m = /^(\d+)(MiB|GiB)$/.exec(text);
  if (!m) throw new Error(`--size: expected e.g. 512MiB or 1GiB, got ${text}`);
  return Number(m[1]) * (m[2] === 'GiB' ? 2 ** 30 : 2 ** 20);
}
const smallFiles = Number(values['small-files']);
const rounds = Number(values.rounds);
const bigFiles = Number(values['big-files']);
const PASSWORD = 'bench password';
const tmp = mkdtempSync(join(tmpdir(), 'nsbackup-bench-volumes-'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Timed {
  seconds: number;
  peakRssMiB?: number;
  code: number;
  stderr: string;
}

/** Runs argv under /usr/bin/time (peak RSS in KiB on its last stderr line). */
function timed(argv: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Timed> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', 'peak-kib=%M', ...argv], {
      env,
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const kib = /peak-kib=(\d+)/.exec(stderr);
      resolve({
        seconds,
        code: code ?? 1,
        stderr,
        peakRssMiB: kib ? Math.round(Number(kib[1]) / 1024) : undefined,
      });
    });
  });
}

function makeTree(root: string): void {
  mkdirSync(root, { recursive: true });
  const bigBytes = Math.floor((size - smallFiles * 4096) / bigFiles);
  for (let i = 0; i < bigFiles; i++) {
    // In chunks: a 2 GiB file never sits in this process's memory.
    const chunk = 16 * 2 ** 20;
    const file = join(root, `big-${i}.bin`);
    writeFileSync(file, '');
    for (let left = bigBytes; left > 0; left -= chunk)
      appendFileSync(file, randomBytes(Math.min(chunk, left)));
  }
  for (let i = 0; i < smallFiles; i++) {
    const dir = join(root, 'small', String(i % 100));
    if (i < 100) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}`), randomBytes(4096));
  }
}

async function main(): Promise<void> {
  const image = await buildNsbackupImage();
  const [cluster, s3] = await Promise.all([startCluster(), startS3('backups', { tls: true })]);
  const source = join(tmp, 'volume');
  makeTree(source);
  const restoreDirs = new Map<string, string>();
  const baseEnv = { PATH: process.env.PATH!, HOME: tmp, TMPDIR: tmp, ...s3.env };
  const node = [process.execPath, join(image.dir, 'dist/scripts/nsbackup.js')];
  const moverPeaks: number[] = [];

  // The mover Job: its container's variables, the claim's folder at the mount, a process of its own.
  const runner: JobRunner = async (job) => {
    const ns = job.metadata.namespace;
    const spec = job.spec.template.spec;
    const c = spec.containers[0];
    const env: Record<string, string> = { ...baseEnv };
    for (const e of c.env) env[e.name] = e.value ?? (e.valueFrom ? PASSWORD : '');
    const claim = spec.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName;
    const pvc = cluster.get('v1', 'PersistentVolumeClaim', ns, claim);
    let folder = source;
    // The source claim itself (a direct copy) or its clone hold the tree; any other claim is a restore's.
    if (claim !== 'data' && !pvc?.spec?.dataSource) {
      folder = join(tmp, 'restored-' + claim);
      mkdirSync(folder, { recursive: true });
      restoreDirs.set(claim, folder);
    }
    env.NSBACKUP_MOVER_PATH = folder;
    const t = await timed([...node, ...c.args], env);
    if (t.peakRssMiB) moverPeaks.push(t.peakRssMiB);
    return {
      exitCode: t.code,
      log: t.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .join('\n'),
    };
  };
  cluster.controllers.jobs.runner = runner;
  cluster.seed(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'restic', namespace: 'bench' },
      data: { RESTIC_PASSWORD: b64(PASSWORD) },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'bench' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
      status: { phase: 'Bound', capacity: { storage: '10Gi' } },
    },
  );

  const resticEnv = { ...baseEnv, RESTIC_PASSWORD: PASSWORD };
  const du = (dir: string) =>
    new Promise<string>((res) => execFile('du', ['-sb', dir], (_e, out) => res(out.split('\t')[0])));
  const runs: Record<'d1' | 'd2' | 'w1' | 'w2' | 'r1' | 'wr', Timed[]> = {
    d1: [],
    d2: [],
    w1: [],
    w2: [],
    r1: [],
    wr: [],
  };
  let restoredBytes = 0;
  // On a shared machine one run is noise: rounds alternate which side goes first, each into fresh repositories,
  // and the best of each figure is kept.
  for (let round = 1; round <= rounds; round++) {
    // restic on its own, into a repository of its own, with the same options our mover uses.
    const direct = `s3:${s3.endpoint}/backups/direct-${round}`;
    const restic = (args: string[], cwd?: string) =>
      timed(
        [
          'restic',
          '--repo',
          direct,
          '--cacert',
          s3.caFile!,
          '--cache-dir',
          join(tmp, `cache-direct-${round}`),
          ...args,
        ],
        resticEnv,
        cwd,
      );
    const backupEnv = {
      ...baseEnv,
      NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
      NSBACKUP_CLUSTER_NAME: `bench-${round}`,
      NSBACKUP_NAMESPACE: 'bench',
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: copyDirect ? '' : 'data',
      NSBACKUP_PVC_DATA: copyDirect ? '' : 'data',
      NSBACKUP_PVC_DATA_DIRECT: copyDirect ? 'data' : '',
      NSBACKUP_RESTIC_SECRET: 'restic',
      NSBACKUP_MOVER_IMAGE: 'nsbackup:bench',
      NSBACKUP_LOCK: 'false',
    };
    const directSide = async () => {
      await restic(['init']);
      runs.d1.push(await restic(['backup', '--json', '--quiet', '--host', 'bench', '.'], source));
      runs.d2.push(await restic(['backup', '--json', '--quiet', '--host', 'bench', '.'], source));
    };
    const wholeSide = async () => {
      // As on every night but the first: the repository exists (restic init is not what is measured, as above).
      const repository = `s3:${s3.endpoint}/backups/nsbackup/bench-${round}/bench.restic`;
      await timed(['restic', '--repo', repository, '--cacert', s3.caFile!, 'init'], resticEnv);
      for (const key of ['w1', 'w2'] as const) {
        const t = await timed([...node, 'backup'], backupEnv);
        if (t.code !== 0) throw new Error(`whole-path backup failed: ${t.stderr.slice(-2000)}`);
        runs[key].push(t);
      }
    };
    const directRestore = async () => {
      runs.r1.push(await restic(['restore', 'latest', '--target', join(tmp, `restored-direct-${round}`)]));
      rmSync(join(tmp, `restored-direct-${round}`), { recursive: true, force: true });
    };
    const wholeRestore = async () => {
      const claim = `data-restored-${round}`;
      const t = await timed(
        [...node, 'restore-pvc', '--from', 's3', '--pvc', 'data', '-n', 'bench', '--as', claim],
        {
          ...backupEnv,
          NSBACKUP_PVC: '',
          NSBACKUP_PVC_DATA: '',
          NSBACKUP_PVC_DATA_DIRECT: '',
          NSBACKUP_DB: '',
          NSBACKUP_NAMESPACE: '',
        },
      );
      if (t.code !== 0) throw new Error(`restore-pvc failed: ${t.stderr.slice(-2000)}`);
      runs.wr.push(t);
      restoredBytes = Number(await du(restoreDirs.get(claim)!));
      rmSync(restoreDirs.get(claim)!, { recursive: true, force: true });
    };
    const order =
      round % 2
        ? [directSide, wholeSide, directRestore, wholeRestore]
        : [wholeSide, directSide, wholeRestore, directRestore];
    for (const step of order) await step();
  }
  // Prune after a forget, as the pruner runs it: restic's peak memory under the chart's default soft limit.
  const pruneRepo = `s3:${s3.endpoint}/backups/direct-1`;
  const pruneArgs = [
    'restic',
    '--repo',
    pruneRepo,
    '--cacert',
    s3.caFile!,
    '--cache-dir',
    join(tmp, 'cache-direct-1'),
  ];
  await timed([...pruneArgs, 'forget', '--keep-last', '1'], resticEnv);
  const prune = await timed([...pruneArgs, 'prune'], { ...resticEnv, GOMEMLIMIT: '400MiB' });
  const best = (key: keyof typeof runs): Timed => runs[key].reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const [d1, d2, w1, w2, r1, wr] = (['d1', 'd2', 'w1', 'w2', 'r1', 'wr'] as const).map(best);
  const all = (key: keyof typeof runs) => runs[key].map((t) => round1(t.seconds));

  const mib = size / 2 ** 20;
  const rate = (t: Timed) => Math.round((mib / t.seconds) * 10) / 10;
  const figures = {
    tree: { bytes: size, smallFiles, bigFiles },
    copyMethod: copyDirect ? 'direct' : 'snapshot',
    rounds,
    allRunsSeconds: {
      resticBackup: all('d1'),
      wholePathBackup: all('w1'),
      resticSecond: all('d2'),
      wholePathSecond: all('w2'),
      resticRestore: all('r1'),
      wholePathRestore: all('wr'),
    },
    backup: {
      resticDirectSeconds: round1(d1.seconds),
      wholePathSeconds: round1(w1.seconds),
      resticDirectMiBs: rate(d1),
      wholePathMiBs: rate(w1),
      wholePathShareOfRestic: `${Math.round((d1.seconds / w1.seconds) * 100)}%`,
      resticPeakRssMiB: d1.peakRssMiB,
    },
    secondRun: { resticDirectSeconds: round1(d2.seconds), wholePathSeconds: round1(w2.seconds) },
    restore: {
      resticDirectSeconds: round1(r1.seconds),
      wholePathSeconds: round1(wr.seconds),
      wholePathShareOfRestic: `${Math.round((r1.seconds / wr.seconds) * 100)}%`,
      restoredBytes,
    },
    prune: { seconds: round1(prune.seconds), peakRssMiB: prune.peakRssMiB, gomemlimit: '400MiB' },
    ourPeakRssMiB: {
      backupCommand: Math.max(w1.peakRssMiB ?? 0, w2.peakRssMiB ?? 0),
      restorePvcCommand: wr.peakRssMiB,
      // The mover's node process plus restic, its child (time reports the largest of the two).
      moverProcessTree: Math.max(...moverPeaks),
    },
  };
  process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
  await Promise.all([cluster.close(), s3.close()]);
  rmSync(image.dir, { recursive: true, force: true });
}

const round1 = (s: number) => Math.round(s * 10) / 10;

main()
  .catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));
