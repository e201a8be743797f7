// Streaming a dump from a container to S3, against `kubectl exec -- cat` of the same bytes:
//   npx tsx bench/dump-stream.ts [--size 1GiB] [--repeat 2] [--skip-kubectl]
//
// Three processes, so that each figure is the process it claims to be: this one (the client: client-node's
// WebSocket, the exec wrapper, SHA-256, the multipart upload), the emulator (its pods/exec runs real local
// processes), and s3rver. The container's "pg_dump" is `cat` of a pre-generated file of random bytes and its
// "gzip" passes bytes through (random data does not compress, and compression speed is not what is measured),
// so both runs move exactly the same bytes through the same emulator; kubectl writes them to /dev/null (once for
// `cat FILE`, once for the same dump script we run), we upload them through streamDumpToS3 (a backup's path).
// Goals (issue 4): peak RSS of the client under 200 MB whatever the size; throughput >= 80% of kubectl's.
// Three figures: the exec path with the upload replaced by a reader that drops the bytes (what our wrapper
// costs against kubectl), s3rver on its own (the ceiling of any upload here), and the full path.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    'skip-kubectl': { type: 'boolean', default: false },
    // Which client phases to run (comma-separated): full (exec -> S3), discard (exec, output dropped), s3 (s3rver alone).
    only: { type: 'string', default: 'full,discard,s3' },
    // Writes a V8 CPU profile of the client process into this directory (open it in Chrome's DevTools).
    'cpu-prof': { type: 'string' },
    // Throughput on a shared machine is noisy: kubectl and the discard path run this many times, best kept.
    repeat: { type: 'string', default: '2' },
    role: { type: 'string' },
    pids: { type: 'string' },
    dir: { type: 'string' },
    sha256: { type: 'string' },
    s3: { type: 'string' },
  },
});

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(|B|KiB|MiB|GiB|KB|MB|GB)$/i.exec(text.trim());
  if (!m) throw new Error(`--size: expected e.g. 1GiB, 512MiB or a byte count, got ${text}`);
  const unit = m[2].toLowerCase();
  const factor: Record<string, number> = {
    '': 1,
    b: 1,
    kib: 2 ** 10,
    mib: 2 ** 20,
    gib: 2 ** 30,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
  };
  return Math.round(Number(m[1]) * factor[unit]);
}

const NS = 'bench';
const POD = 'db-0';
const CONTAINER = 'postgres';

// ---- child roles -------------------------------------------------------------------------------------
async function serveEmulator(dir: string): Promise<void> {
  const { startCluster } = await import('../test/cluster/index.js');
  const { localProcessHandler } = await import('../test/cluster/index.js');
  const cluster = await startCluster({ kubeconfigPath: join(dir, 'kubeconfig') });
  cluster.seed({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: POD, namespace: NS },
    spec: { containers: [{ name: CONTAINER, image: 'postgres:15' }] },
  });
  cluster.exec.register(
    NS,
    POD,
    CONTAINER,
    localProcessHandler({
      env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, BENCH_FILE: join(dir, 'dump') },
    }),
  );
  console.log(JSON.stringify({ url: cluster.url }));
  process.on('SIGTERM', () => void cluster.close().then(() => process.exit(0)));
}

async function serveS3(dir: string): Promise<void> {
  const { startS3 } = await import('../test/kit/index.js');
  const s3 = await startS3();
  console.log(JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket }));
  void dir;
  process.on('SIGTERM', () => void s3.close().then(() => process.exit(0)));
}

function startChild(
  role: string,
  dir: string,
): Promise<{ info: any; pid: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, process.argv[1], '--role', role, '--dir', dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) =>
      resolve({
        info: JSON.parse(line),
        pid: child.pid!,
        stop: () =>
          new Promise<void>((done) => {
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      }),
    );
  });
}

// ---- the measurement ----------------------------------------------------------------------------------
async function main(): Promise<void> {
  const size = parseSize(values.size!);
  const dir = mkdtempSync(join(tmpdir(), 'nsbackup-bench-dump-'));
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const rate = (bytes: number, ms: number) => `${(bytes / 2 ** 20 / (ms / 1000)).toFixed(1)} MiB/s`;
  const stops: (() => Promise<void>)[] = [];
  try {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'pg_dump'), '#!/bin/sh\nexec cat "$BENCH_FILE"\n');
    writeFileSync(
      join(dir, 'bin', 'gzip'),
      '#!/bin/sh\nif [ "${1:-}" = --version ]; then echo "pass-through gzip (bench)"; exit 0; fi\nexec cat\n',
    );
    for (const f of ['pg_dump', 'gzip']) chmodSync(join(dir, 'bin', f), 0o755);
    process.stdout.write(`generating ${mb(size)} of random bytes... `);
    await run('sh', ['-c', `head -c ${size} /dev/urandom > "$1"`, 'sh', join(dir, 'dump')]);
    const expected = await sha256File(join(dir, 'dump'));
    console.log('done');

    const emulator = await startChild('emulator', dir);
    stops.push(emulator.stop);
    const s3 = await startChild('s3', dir);
    stops.push(s3.stop);

    // kubectl twice: `cat` of the file (the raw exec stream) and the very dump script our path runs (same
    // container-side pipeline, sh + "pg_dump" | "gzip"), both to /dev/null. The second is the like-for-like one.
    let kubectlMs: number | undefined;
    if (!values['skip-kubectl']) {
      const { scriptInvocation } = await import('../lib/dump/argv.js');
      const script = scriptInvocation(
        'stream',
        { kind: 'postgres', password: { from: 'none' } },
        { args: ['bench'] },
      );
      const base = [
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--cache-dir',
        join(dir, 'kube-cache'),
        'exec',
        '-n',
        NS,
        POD,
        '-c',
        CONTAINER,
        '--',
      ];
      await run('kubectl', [...base, 'true']); // warm the discovery cache
      const best = async (command: string[]) => {
        let ms = Infinity;
        for (let i = 0; i < Number(values.repeat); i++) {
          const t0 = performance.now();
          await run('sh', ['-c', 'kubectl "$@" > /dev/null', 'sh', ...base, ...command]);
          ms = Math.min(ms, performance.now() - t0);
        }
        return ms;
      };
      const catMs = await best(['cat', join(dir, 'dump')]);
      console.log(
        `kubectl exec -- cat FILE > /dev/null: ${rate(size, catMs)} (${(catMs / 1000).toFixed(1)} s)`,
      );
      kubectlMs = await best(script.command);
      console.log(
        `kubectl exec -- <the same dump script> > /dev/null: ${rate(size, kubectlMs)} (${(kubectlMs / 1000).toFixed(1)} s)`,
      );
    }

    const client = await startClientProcess(values['cpu-prof']);
    const lines = await client([
      '--role',
      'client',
      '--dir',
      dir,
      '--size',
      String(size),
      '--sha256',
      expected,
      '--s3',
      JSON.stringify(s3.info),
      '--repeat',
      String(values.repeat),
      '--only',
      values.only!,
      '--pids',
      JSON.stringify({ emulator: emulator.pid, s3rver: s3.pid }),
    ]);
    for (const line of lines) {
      const m = JSON.parse(line) as Measured<unknown> & { label: string; note?: string };
      if (m.note) console.log(m.note);
      else report(m.label, size, m, m.label.startsWith('nsbackup') ? kubectlMs : undefined);
    }
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the measured client (its own process: its RSS is only the client's) -----------------------------
async function runClient(): Promise<void> {
  const { connect } = await import('../lib/kube/index.js');
  const { podExec } = await import('../lib/exec/index.js');
  const { streamDumpToS3 } = await import('../lib/dump/index.js');
  const { S3Store } = await import('../lib/s3/index.js');
  const TEST_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const dir = values.dir!;
  const size = Number(values.size);
  const expected = values.sha256!;
  const phases = new Set(values.only!.split(','));
  const s3 = JSON.parse(values.s3!) as { endpoint: string; bucket: string };
  const pids = JSON.parse(values.pids ?? '{}') as Record<string, number>;
  const emit = (label: string, m: Measured<unknown>) =>
    console.log(
      JSON.stringify({
        label,
        ms: m.ms,
        cpuMs: m.cpuMs,
        peakRss: m.peakRss,
        baselineRss: m.baselineRss,
        others: m.others,
      }),
    );
  const note = (text: string) => console.log(JSON.stringify({ note: text }));
  const store = new S3Store(
    {
      bucket: s3.bucket,
      prefix: 'bench',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
    },
    TEST_S3_CREDENTIALS,
  );
  const ctx = {
    exec: podExec(connect({ kubeconfigPath: join(dir, 'kubeconfig') })),
    target: { namespace: NS, pod: POD, container: CONTAINER },
    db: { kind: 'postgres' as const, password: { from: 'value' as const, value: 'not-used-by-the-bench' } },
  };
  note(`client after imports: RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);

  // 1. The backup's path (first, in a fresh process): exec -> sha256 -> S3 multipart upload.
  let full: Measured<unknown> | undefined;
  if (phases.has('full')) {
    const m = await measure(
      () => streamDumpToS3(ctx, { store, key: store.key('dump.sql.gz'), databases: ['bench'] }),
      pids,
    );
    check(m.result, size, expected);
    emit('nsbackup exec -> sha256 -> S3 multipart', m);
    full = m;
  }
  // 2. The same code path with a store that reads the stream and drops it: the exec side alone.
  if (phases.has('discard')) {
    const discard = {
      exists: async () => false,
      url: (key: string) => `null://${key}`,
      upload: async (_key: string, body: Readable) => {
        for await (const chunk of body) void chunk;
      },
    } as unknown as InstanceType<typeof S3Store>;
    let viaNull: Measured<{ sizeBytes: number; sha256: string }> | undefined;
    for (let i = 0; i < Number(values.repeat); i++) {
      const m = await measure(
        () => streamDumpToS3(ctx, { store: discard, key: 'x', databases: ['bench'] }),
        pids,
      );
      if (!viaNull || m.ms < viaNull.ms) viaNull = m;
    }
    check(viaNull!.result, size, expected);
    emit('nsbackup exec -> sha256 -> discard', viaNull!);
  }

  // 3. What s3rver can take on its own (same stream size, same uploader), for scale.
  if (phases.has('s3')) {
    let left = size;
    const zeros = Buffer.alloc(1 << 20);
    const s3Only = await measure(
      () =>
        store.upload(
          store.key('s3-only'),
          new Readable({
            read() {
              if (left <= 0) return this.push(null);
              left -= zeros.length;
              this.push(zeros);
            },
          }),
        ),
      pids,
    );
    emit('s3rver alone (upload of an in-memory stream)', s3Only);
    if (full) {
      note(
        `full path vs s3rver alone: ${((s3Only.ms / full.ms) * 100).toFixed(0)}% (the local S3 server is the ceiling here)`,
      );
    }
  }
  if (phases.has('full') || phases.has('discard')) {
    note('checksums verified: every stream carried exactly the generated bytes');
  }
}

// The client runs as plain JavaScript, as nsbackup does in its image: the tsx loader alone adds ~70 MB of RSS.
// esbuild (tsx's own compiler) bundles this file; packages stay external and resolve from node_modules.
async function startClientProcess(cpuProfDir?: string): Promise<(args: string[]) => Promise<string[]>> {
  let command = [...process.execArgv, process.argv[1]];
  try {
    const esbuild = await import('esbuild');
    const outfile = join(import.meta.dirname, '../node_modules/.cache/nsbackup-bench/dump-stream.mjs');
    await esbuild.build({
      entryPoints: [process.argv[1]],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node26',
      packages: 'external',
      outfile,
      logLevel: 'error',
    });
    command = [outfile];
  } catch (e) {
    console.log(`(esbuild unavailable, the client runs under tsx: RSS includes its loader) ${String(e)}`);
  }
  if (cpuProfDir) command = ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, ...command];
  return (args) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...command, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines: string[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('{') && lines.push(l));
      child.once('exit', (code) =>
        code === 0 ? resolve(lines) : reject(new Error(`client exited with ${code}`)),
      );
    });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

// sha256sum in a child, so that reading the file does not inflate this process's RSS before the measurement.
function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sha256sum', [path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out.split(' ')[0]) : reject(new Error('sha256sum failed')),
    );
  });
}

interface Measured<T> {
  result: T;
  ms: number;
  cpuMs: number;
  peakRss: number;
  baselineRss: number;
  /** CPU seconds the other processes (emulator, s3rver) spent meanwhile: which one is the bottleneck. */
  others?: Record<string, number>;
}

// Wall time, this process's CPU, its peak RSS and the other processes' CPU while fn runs. The peak is the
// kernel's high-water mark (VmHWM, reset through /proc/self/clear_refs), so no spike between samples is missed;
// where that is unavailable, RSS is sampled every 100 ms.
async function measure<T>(fn: () => Promise<T>, pids: Record<string, number> = {}): Promise<Measured<T>> {
  global.gc?.();
  const baselineRss = process.memoryUsage().rss;
  const kernelPeak = resetPeakRss();
  let peakRss = baselineRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const others0 = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSecondsOf(pid)]));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    const result = await fn();
    const cpu = process.cpuUsage(cpu0);
    const ms = performance.now() - t0;
    const others = Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, cpuSecondsOf(pid) - others0[name]]),
    );
    return {
      result,
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRss: kernelPeak ? Math.max(peakRss, peakRssOfThisProcess()) : peakRss,
      baselineRss,
      others,
    };
  } finally {
    clearInterval(sampler);
  }
}

function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function peakRssOfThisProcess(): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

// utime + stime of a process (Linux, 100 ticks a second); NaN elsewhere.
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function check(result: { sizeBytes: number; sha256: string }, size: number, expected: string): void {
  if (result.sizeBytes !== size || result.sha256 !== expected) {
    throw new Error(
      `streamed ${result.sizeBytes} bytes with sha256 ${result.sha256}, expected ${size} / ${expected}`,
    );
  }
}

function report(label: string, size: number, m: Measured<unknown>, kubectlMs?: number): void {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const vs =
    kubectlMs !== undefined
      ? `, ${((kubectlMs / m.ms) * 100).toFixed(0)}% of kubectl running the same script`
      : '';
  console.log(
    `${label}: ${(size / 2 ** 20 / (m.ms / 1000)).toFixed(1)} MiB/s (${(m.ms / 1000).toFixed(1)} s${vs}), ` +
      `CPU ${(m.cpuMs / 1000).toFixed(1)} s, peak RSS ${mib(m.peakRss)} (baseline ${mib(m.baselineRss)})` +
      Object.entries(m.others ?? {})
        .filter(([, seconds]) => Number.isFinite(seconds))
        .map(([name, seconds]) => `; ${name} CPU ${seconds.toFixed(1)} s`)
        .join(''),
  );
}

if (values.role === 'emulator') await serveEmulator(values.dir!);
else if (values.role === 's3') await serveS3(values.dir!);
else if (values.role === 'client') await runClient();
else await main();
