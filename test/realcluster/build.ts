// Builds the real control plane's binaries once into a cache folder keyed by the Kubernetes release
// and a hash of this folder's Go sources; a second call finds them and returns at once.
//   npx tsx test/realcluster/build.ts         build if missing, print the folder
// REALCLUSTER_CACHE overrides the cache root (default ~/.cache/nsbackup-realcluster).
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';
import { $ } from 'zx';

export const KUBERNETES_RELEASE = 'v1.37.2';
const SNAPSHOTTER = 'v8.7.0';
const moduleDir = dirname(fileURLToPath(import.meta.url));

/** The programs, by import path; all but testnode come unmodified from published modules. */
const PROGRAMS: Record<string, string> = {
  etcd: './cmd/etcd',
  testnode: './cmd/testnode',
  'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
  'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
  'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
  'snapshot-controller': 'github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller',
  'csi-snapshotter': 'github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter',
  // The etcd clients of the same release as the server, for the etcd-backup tests (snapshot save, restore).
  etcdctl: 'go.etcd.io/etcd/etcdctl/v3',
  etcdutl: 'go.etcd.io/etcd/etcdutl/v3',
};

/** The file `go build -o DIR/` writes for a main package: its last path element, a major-version suffix skipped. */
function builtName(importPath: string): string {
  const parts = importPath.split('/');
  const last = parts.pop()!;
  return /^v\d+$/.test(last) && parts.length ? parts.pop()! : last;
}

/**
 * The release the binaries report (/version, kubectl version, helm's kubeVersion check), stamped as Kubernetes'
 * own build does; a plain `go build` of the module reports v0.0.0-master, which helm refuses.
 */
function versionFlags(): string {
  const [major, minor] = KUBERNETES_RELEASE.slice(1).split('.');
  const fields = { gitVersion: KUBERNETES_RELEASE, gitMajor: major, gitMinor: minor, gitTreeState: 'clean' };
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
    .flatMap((pkg) => Object.entries(fields).map(([k, v]) => `-X ${pkg}.${k}=${v}`))
    .join(' ');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.go$|^go\.(mod|sum)$/.test(e.name) ? [path] : [];
  });
}

export function cacheDir(): string {
  const hash = createHash('sha256').update(versionFlags()).update('\0');
  for (const file of sourceFiles(moduleDir).sort()) {
    hash.update(relative(moduleDir, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  const root = process.env.REALCLUSTER_CACHE || join(homedir(), '.cache', 'nsbackup-realcluster');
  return join(root, `${KUBERNETES_RELEASE}-${hash.digest('hex').slice(0, 12)}`);
}

export function isBuilt(dir = cacheDir()): boolean {
  return existsSync(join(dir, 'complete'));
}

/** Builds into `<cache>.partial` and renames, under a lock, so parallel callers build once. */
export async function ensureBuilt(
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Promise<string> {
  const dir = cacheDir();
  if (isBuilt(dir)) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const release = await lockfile.lock(dirname(dir), {
    lockfilePath: dir + '.lock',
    retries: { retries: 3600, minTimeout: 1000, maxTimeout: 1000 },
    stale: 60_000,
  });
  try {
    if (isBuilt(dir)) return dir;
    const partial = dir + '.partial';
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(join(partial, 'bin'), { recursive: true });
    const started = Date.now();
    log(`realcluster: building Kubernetes ${KUBERNETES_RELEASE} control plane into ${dir} (first time only)`);
    // Go's own output goes to our stderr as it comes (the first build takes minutes); zx throws on a failure.
    const go = $({
      cwd: moduleDir,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    await go`go build -trimpath ${`-ldflags=-s -w ${versionFlags()}`} -o ${join(partial, 'bin') + '/'} ${Object.values(PROGRAMS)}`;
    for (const name of Object.keys(PROGRAMS)) {
      const built = join(partial, 'bin', builtName(PROGRAMS[name]));
      if (built !== join(partial, 'bin', name)) renameSync(built, join(partial, 'bin', name));
    }
    // The VolumeSnapshot CRDs ship in the snapshotter's client module: take them from the module cache.
    const modCache = (await go({ stdio: 'pipe', quiet: true })`go env GOMODCACHE`).stdout.trim();
    const crdSource = join(
      modCache,
      'github.com/kubernetes-csi/external-snapshotter/client/v8@' + SNAPSHOTTER,
      'config/crd',
    );
    if (!existsSync(crdSource))
      await go`go mod download github.com/kubernetes-csi/external-snapshotter/client/v8`;
    mkdirSync(join(partial, 'crds'));
    for (const f of readdirSync(crdSource).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
      copyFileSync(join(crdSource, f), join(partial, 'crds', f));
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    writeFileSync(join(partial, 'complete'), `built in ${seconds} s\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    // Builds of older sources are never used again: keep one build per machine.
    for (const old of readdirSync(dirname(dir))) {
      const path = join(dirname(dir), old);
      if (path !== dir && /^v\d+\.\d+\.\d+-[0-9a-f]{12}$/.test(old))
        rmSync(path, { recursive: true, force: true });
    }
    log(`realcluster: built in ${seconds} s`);
    return dir;
  } finally {
    await release();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureBuilt().then(
    (dir) => console.log(dir),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
