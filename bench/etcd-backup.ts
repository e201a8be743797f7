// etcd-backup of a 256 MiB etcd database (snapshot, trial restore, gzip + encryption, upload to s3rver) against the
// plain way: `etcdctl snapshot save` and an upload of the file as it is.
//   npx tsx bench/etcd-backup.ts [--size 256MiB]
//
// The etcd is the Go module build of test/realcluster, serving TLS in kubeadm's layout, filled with values that are
// half random and half repeated text (roughly how well Kubernetes objects compress). Our run is a child process
// running the etcd-backup command, so its peak RSS is the command's own (etcdctl and etcdutl are children of it
// and not counted; their time is). Goal (issue 13): the verification and encryption cost time, not memory.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand } from '../lib/command.js';
import { generateEncryptionKey } from '../lib/crypto/index.js';
import { S3Store } from '../lib/s3/index.js';
import { command as etcdBackup } from '../scripts/etcd-backup.js';
import { startEtcd, makeKubeadmPki, startS3, TEST_S3_CREDENTIALS } from '../test/kit/index.js';
import { ensureBuilt } from '../test/realcluster/index.js';

const { values } = parseArgs({
  options: { size: { type: 'string', default: '256MiB' }, role: { type: 'string' } },
});

if (values.role === 'child') {
  // The command as the CronJob runs it, in a process of its own; its peak RSS on the last line.
  const code = await runCommand(etcdBackup, {
    env: process.env,
    write: (l) => process.stderr.write(l + '\n'),
  });
  process.stdout.write(JSON.stringify({ code, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
  process.exit(0);
}

function parseSize(text: string): number {
  const m = /^(\d+)(MiB|GiB)$/.exec(text);
  if (!m) throw new Error(`--size: expected e.g. 256MiB or 1GiB, got ${text}`);
  return Number(m[1]) * 2 ** (m[2] === 'GiB' ? 30 : 20);
}

const seconds = (ms: number) => Number((ms / 1000).toFixed(2));
const target = parseSize(values.size!);
const bin = join(await ensureBuilt(), 'bin');
const dir = mkdtempSync(join(tmpdir(), 'nsbackup-bench-etcd-'));
const pki = makeKubeadmPki(join(dir, 'pki'));
const etcd = await startEtcd({ bin, dataDir: join(dir, 'etcd'), pki, logPath: join(dir, 'etcd.log') });
const s3 = await startS3();
try {
  // Fill: 512 KiB values through etcdctl's stdin (an argument is limited to 128 KiB), four at a time.
  const valueBytes = 512 * 1024;
  // bbolt's pages and etcd's own keys add about a fifth to the values: the database ends near the target.
  const count = Math.ceil((target * 0.81) / valueBytes);
  const fillStarted = Date.now();
  const tls = [
    `--endpoints=${etcd.endpoint}`,
    `--cacert=${join(pki, 'etcd/ca.crt')}`,
    `--cert=${join(pki, 'apiserver-etcd-client.crt')}`,
    `--key=${join(pki, 'apiserver-etcd-client.key')}`,
  ];
  const put = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(join(bin, 'etcdctl'), [...tls, 'put', `/registry/bench/${i}`], {
        stdio: ['pipe', 'ignore', 'inherit'],
      });
      const half = randomBytes(valueBytes / 4).toString('hex');
      child.stdin.end(half + 'x'.repeat(valueBytes - half.length));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`etcdctl put exited ${code}`))));
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) await put(next++);
    }),
  );
  const dbSize = statSync(join(dir, 'etcd', 'member', 'snap', 'db')).size;
  process.stdout.write(
    `filled ${count} keys, etcd db ${(dbSize / 2 ** 20).toFixed(0)} MiB in ${seconds(Date.now() - fillStarted)} s\n`,
  );

  // Plain: etcdctl snapshot save, then the file uploaded as it is (no gzip, no encryption, no verification).
  const plainFile = join(dir, 'plain.db');
  let t = Date.now();
  const save = spawnSync(join(bin, 'etcdctl'), [...tls, 'snapshot', 'save', plainFile], { encoding: 'utf8' });
  if (save.status !== 0) throw new Error(save.stderr);
  const saveSeconds = seconds(Date.now() - t);
  const store = new S3Store(
    { bucket: s3.bucket, prefix: 'plain', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
    TEST_S3_CREDENTIALS,
  );
  t = Date.now();
  await store.upload(store.key('snapshot.db'), createReadStream(plainFile, { highWaterMark: 1024 * 1024 }));
  const uploadSeconds = seconds(Date.now() - t);
  const snapshotMiB = statSync(plainFile).size / 2 ** 20;
  rmSync(plainFile);

  // Ours: the command in a child process (not spawnSync: s3rver runs in this process and must keep answering).
  const runChild = (extra: Record<string, string>) =>
    new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        'npx',
        ['tsx', new URL(import.meta.url).pathname, '--role', 'child'],
        {
          maxBuffer: 64 * 1024 * 1024,
          env: {
            ...process.env,
            ...s3.env,
            NSBACKUP_CLUSTER_NAME: 'bench',
            NSBACKUP_ENCRYPTION_KEY: generateEncryptionKey(),
            NSBACKUP_ETCD_ENDPOINT: etcd.endpoint,
            NSBACKUP_ETCD_CACERT: join(pki, 'etcd/ca.crt'),
            NSBACKUP_ETCD_CERT: join(pki, 'apiserver-etcd-client.crt'),
            NSBACKUP_ETCD_KEY: join(pki, 'apiserver-etcd-client.key'),
            NSBACKUP_PKI_DIR: pki,
            NSBACKUP_ETCDCTL: join(bin, 'etcdctl'),
            NSBACKUP_ETCDUTL: join(bin, 'etcdutl'),
            NSBACKUP_ETCD_WORK_DIR: dir,
            NSBACKUP_RANCHER_DIR: join(dir, 'no-rancher'),
            ...extra,
          },
        },
        (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve({ stdout, stderr })),
      ),
    );
  // The same process stopped at its first check (a missing certificate): what loading the program costs.
  const baseline = JSON.parse(
    (await runChild({ NSBACKUP_ETCD_CERT: join(dir, 'missing.crt') })).stdout.trim().split('\n').at(-1)!,
  );
  t = Date.now();
  const child = await runChild({});
  const oursSeconds = seconds(Date.now() - t);
  const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
  if (result.code !== 0) throw new Error(`etcd-backup exited ${result.code}:\n${child.stderr.slice(-3000)}`);
  const logLine = (msg: string) =>
    child.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === msg) ?? {};
  const uploaded = logLine('snapshot uploaded');
  let storedBytes = 0;
  for await (const o of s3.store('nsbackup').list('nsbackup/bench/_etcd/')) storedBytes += o.size;
  process.stdout.write(
    JSON.stringify(
      {
        snapshotMiB: Number(snapshotMiB.toFixed(1)),
        plain: { saveSeconds, uploadSeconds, totalSeconds: Number((saveSeconds + uploadSeconds).toFixed(2)) },
        etcdBackup: {
          totalSeconds: oursSeconds,
          saveSeconds: logLine('snapshot saved').seconds,
          trialRestoreSeconds: logLine('snapshot verified by a trial restore').seconds,
          uploadSeconds: uploaded.seconds,
          storedMiB: Number((storedBytes / 2 ** 20).toFixed(1)),
          peakRssMiB: Number(result.maxRssMiB.toFixed(0)),
          peakRssMiBOfTheSameProcessStoppedAtItsFirstCheck: Number(baseline.maxRssMiB.toFixed(0)),
        },
        note:
          'etcdBackup.totalSeconds includes starting node/tsx (about 1-2 s) and the trial restore; the RSS ' +
          'figures are of tsx, which compiles the TypeScript in the process (the built image runs plain node)',
      },
      null,
      2,
    ) + '\n',
  );
} finally {
  await etcd.stop();
  await s3.close();
  rmSync(dir, { recursive: true, force: true });
}
