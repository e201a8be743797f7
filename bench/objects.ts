// The benchmarks' namespace and how they time a tool: 5,000 (or any number of) objects of six kinds as a backup
// holds them, written to S3 as nsbackup's export writes them, and a command timed as a whole process.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx';
import { bundleNsbackup } from '../tools/bundle.js';

/** The namespace every object is in. */
export const NAMESPACE = 'bench';
export const BACKUP_ID = '20261121-000000-bench1';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * nsbackup bundled as shipped (dist/), into `.tmp/<folder>`, so that times and RSS are the product's and not a
 * TypeScript loader's; `reuse` keeps an earlier build. Returns the front door's path.
 */
export async function compiledNsbackup(folder: string, reuse: boolean): Promise<string> {
  const root = join(ROOT, '.tmp', folder);
  const entry = join(root, 'dist', 'scripts', 'nsbackup.js');
  // What ships: the bundle the Dockerfile builds (tools/bundle.ts).
  if (!reuse || !existsSync(entry)) await bundleNsbackup(root);
  return entry;
}

export interface Timed {
  ms: number;
  cpuMs: number;
  rssMb: number;
  stdout: string;
  stderr: string;
}

/** Runs a command under /usr/bin/time: wall time, CPU time (user + system), peak RSS, output. */
export async function timed(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Timed> {
  const started = performance.now();
  const { stdout, stderr } = await $({ env, quiet: true })`/usr/bin/time -f time=%U,%S,%M ${command} ${args}`;
  const ms = performance.now() - started;
  const [user, system, rssKb] = (/time=([\d.]+),([\d.]+),(\d+)/.exec(stderr) ?? []).slice(1).map(Number);
  return { ms, cpuMs: (user + system) * 1000, rssMb: rssKb / 1024, stdout, stderr };
}

/** The namespace as a backup holds it: canonical objects (no status, no server fields) of six kinds. */
/** The restore benches' mix of kinds, by share of the total; ServiceAccounts take what is left. */
export const RESTORE_MIX: [string, number][] = [
  ['ConfigMap', 0.36],
  ['Secret', 0.3],
  ['Service', 0.12],
  ['Deployment', 0.12],
  ['Role', 0.04],
  ['ServiceAccount', 0.06],
];

/**
 * `total` objects of the kinds in `mix`. With `clusterIPs`, Services carry the address an API server would have
 * assigned (objects as listed from a cluster); without, they are as a backup holds them.
 */
export function objectsOf(total: number, { mix = RESTORE_MIX, clusterIPs = false } = {}): any[] {
  const shares = mix;
  const out: any[] = [];
  for (const [kind, share] of shares) {
    const count = kind === 'ServiceAccount' ? total - out.length : Math.round(total * share);
    for (let i = 0; i < count; i++) {
      const name = `${kind.toLowerCase()}-${String(i).padStart(5, '0')}`;
      const metadata = {
        name,
        namespace: NAMESPACE,
        labels: { app: `app-${i % 50}`, tier: i % 2 ? 'web' : 'worker' },
        annotations: { 'example.com/owner': `team-${i % 7}` },
      };
      if (kind === 'ConfigMap') {
        out.push({ apiVersion: 'v1', kind, metadata, data: { 'app.yaml': `key: value-${i}\n`.repeat(20) } });
      } else if (kind === 'Secret') {
        const data = { password: Buffer.from(`secret-${i}`).toString('base64') };
        out.push({ apiVersion: 'v1', kind, metadata, type: 'Opaque', data });
      } else if (kind === 'Service') {
        out.push({
          apiVersion: 'v1',
          kind,
          metadata,
          spec: {
            type: 'ClusterIP',
            ...(clusterIPs ? { clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}` } : {}),
            selector: { app: `app-${i % 50}` },
            ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
          },
        });
      } else if (kind === 'Deployment') {
        out.push({
          apiVersion: 'apps/v1',
          kind,
          metadata,
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: {
                containers: [
                  {
                    name: 'app',
                    image: `registry.example.com/app:${i}`,
                    ports: [{ containerPort: 8080 }],
                    env: [{ name: 'MODE', value: 'production' }],
                    resources: { requests: { cpu: '100m', memory: '128Mi' } },
                  },
                ],
              },
            },
          },
        });
      } else if (kind === 'Role') {
        const rules = [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }];
        out.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata, rules });
      } else {
        out.push({ apiVersion: 'v1', kind, metadata });
      }
    }
  }
  return out;
}

export async function writeBackup(store: any, objects: any[], cluster = 'bench'): Promise<void> {
  const { buildManifest, createResourceArchiveWriter, guessApiPathOf, serializeManifest } =
    await import('../lib/resources/index.js');
  const folder = `${store.key(cluster, NAMESPACE, BACKUP_ID)}/`;
  const writer = createResourceArchiveWriter();
  const upload = store.upload(folder + writer.fileName, writer.stored);
  for (const obj of objects) await writer.add(obj, guessApiPathOf(obj));
  const resources = await writer.finish();
  await upload;
  const manifest = buildManifest({
    cluster,
    namespace: NAMESPACE,
    backupId: BACKUP_ID,
    startedAt: new Date(),
    listResourceVersions: {},
    resources,
  });
  await store.upload(`${folder}manifest.json`, serializeManifest(manifest));
}
