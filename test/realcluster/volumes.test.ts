// Volume data on a real control plane: the backup clones the night's snapshot through the real snapshot-controller
// and CSI driver, the real Job controller runs the mover (this image's `volume-mover`, the real restic, as uid 1000
// with a read-only mount) on the test node, whose folder CSI driver makes the clone a real folder; then
// restore-pvc --from s3 fills a new claim in another namespace through a root mover Job. A file the mover may not
// read fails the backup, naming the PVC; nothing of the movers is left behind either way. A PVC of
// NSBACKUP_PVC_DATA_DIRECT is read from the live claim that a running pod holds, by a mover the real scheduler puts
// on that pod's node, and comes back the same.
import {
  chmodSync,
  chownSync,
  linkSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as backupCommand } from '../../scripts/backup.js';
import { command as restorePvcCommand } from '../../scripts/restore-pvc.js';
import { startS3, type LocalS3, runNsbackup, until } from '../kit/index.js';
import { describeTree } from '../volumes/tree.js';
import { buildNsbackupImage, NSBACKUP_IMAGE, type NsbackupImage } from './image.js';
import { startRealCluster, type RealCluster } from './index.js';
import { claim } from './shop.js';
import { placementSpec } from '../../lib/volumes/placement.js';

const PASSWORD = 'the restic password of the files namespace';
let cluster: RealCluster;
let s3: LocalS3;
let image: NsbackupImage;

const json = (args: string[]) => JSON.parse(cluster.kubectl([...args, '-o', 'json']));
const b64 = (s: string) => Buffer.from(s).toString('base64');

function secrets(ns: string): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'restic', namespace: ns },
      data: { RESTIC_PASSWORD: b64(PASSWORD) },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3-credentials', namespace: ns },
      data: {
        AWS_ACCESS_KEY_ID: b64(s3.env.AWS_ACCESS_KEY_ID),
        AWS_SECRET_ACCESS_KEY: b64(s3.env.AWS_SECRET_ACCESS_KEY),
      },
    },
  ];
}

/** The node folder of a bound claim's volume. */
async function volumeDir(ns: string, pvc: string): Promise<string> {
  const name = await until(`${ns}/${pvc} bound`, () => {
    const c = json(['-n', ns, 'get', 'pvc', pvc]);
    return c.status?.phase === 'Bound' && c.spec.volumeName;
  });
  return join(cluster.dir, 'node', 'volumes', name);
}

/** What an application running as uid 1000 keeps on its volume. */
function writeAppTree(root: string): void {
  mkdirSync(join(root, 'uploads/2026/12'), { recursive: true });
  mkdirSync(join(root, 'empty'), { recursive: true });
  writeFileSync(join(root, 'uploads/2026/12/invoice ✓.pdf'), 'not really a pdf');
  writeFileSync(join(root, 'config.yaml'), 'a: 1\n');
  chmodSync(join(root, 'config.yaml'), 0o640);
  writeFileSync(join(root, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(root, 'run.sh'), 0o750);
  linkSync(join(root, 'config.yaml'), join(root, 'config.hardlink'));
  symlinkSync('uploads/2026', join(root, 'latest'));
  const old = new Date('2021-06-01T00:00:00Z');
  utimesSync(join(root, 'config.yaml'), old, old);
  for (const p of [
    '',
    'uploads',
    'uploads/2026',
    'uploads/2026/12',
    'uploads/2026/12/invoice ✓.pdf',
    'empty',
    'config.yaml',
    'run.sh',
  ])
    chownSync(join(root, p), 1000, 1000);
}

const baseEnv = () => ({
  ...s3.env,
  NSBACKUP_KUBECONFIG: cluster.kubeconfigPath,
  NSBACKUP_CLUSTER_NAME: 'prod',
  NSBACKUP_RESTIC_SECRET: 'restic',
  NSBACKUP_S3_SECRET: 's3-credentials',
  NSBACKUP_MOVER_IMAGE: `${NSBACKUP_IMAGE}:test`,
});

const leftovers = (ns: string) =>
  json(['-n', ns, 'get', 'jobs,pvc', '-l', 'nsbackup.io/mover']).items.map(
    (o: any) => `${o.kind}/${o.metadata.name}`,
  );

let source: string;

beforeAll(async () => {
  image = await buildNsbackupImage();
  s3 = await startS3('backups', { tls: true });
  cluster = await startRealCluster({ images: { [NSBACKUP_IMAGE]: image.entrypoint } });
  cluster.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...secrets('files'), claim('files', 'data')] }),
  );
  source = await volumeDir('files', 'data');
  writeAppTree(source);
}, 300_000);

afterAll(async () => {
  await Promise.all([cluster?.close(), s3?.close()]);
  if (image) rmSync(image.dir, { recursive: true, force: true });
});

describe('volume data on a real control plane', () => {
  let backupId: string;

  it('backs up the files of a PVC from a clone of its snapshot, through a mover Job, and cleans up', async () => {
    const r = await runNsbackup(backupCommand, {
      ...baseEnv(),
      NSBACKUP_NAMESPACE: 'files',
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: 'data',
      NSBACKUP_PVC_DATA: 'data',
      NSBACKUP_EXPORT: 'true',
      NSBACKUP_LOCK: 'false',
    });
    expect(r.code, r.text).toBe(0);
    backupId = r.summary!.backupId;
    expect(r.summary!.volumes).toEqual([expect.stringMatching(/^data:[0-9a-f]{8}:\+\d+B$/)]);
    const store = s3.store();
    const manifest = JSON.parse(
      await store.downloadText(store.key('prod', 'files', backupId, 'manifest.json')),
    );
    expect(manifest.volumes[0], JSON.stringify(manifest.volumes)).toMatchObject({ pvc: 'data', files: 4 });
    await until('movers gone', () => leftovers('files').length === 0, 60_000);
    expect(r.text).not.toContain(PASSWORD);
  }, 240_000);

  it('restore-pvc --from s3 fills a new claim in another namespace with the same files, owners and times', async () => {
    cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: secrets('files-copy') }),
    );
    const r = await runNsbackup(restorePvcCommand, baseEnv(), [
      '--from',
      's3',
      '--pvc',
      'data',
      '--source-namespace',
      'files',
      '--backup',
      backupId,
      '--as',
      'data',
      '-n',
      'files-copy',
    ]);
    expect(r.code, r.text).toBe(0);
    const restored = await volumeDir('files-copy', 'data');
    expect(describeTree(restored)).toEqual(describeTree(source));
    expect(json(['-n', 'files-copy', 'get', 'jobs']).items).toEqual([]);
  }, 240_000);

  it('a file the non-root mover may not read fails the backup, naming the PVC; nothing is left behind', async () => {
    writeFileSync(join(source, 'root-only.key'), 'secret');
    chmodSync(join(source, 'root-only.key'), 0o600);
    try {
      const r = await runNsbackup(backupCommand, {
        ...baseEnv(),
        NSBACKUP_NAMESPACE: 'files',
        NSBACKUP_DB: 'none',
        NSBACKUP_PVC: 'data',
        NSBACKUP_PVC_DATA: 'data',
        NSBACKUP_LOCK: 'false',
      });
      expect(r.code).toBe(1);
      expect(r.summary!.error).toMatch(
        /volume data of PVC data not stored: .*restic backup failed \(exit 3\)/,
      );
      await until('movers gone', () => leftovers('files').length === 0, 60_000);
      // restic saved a snapshot without the unreadable file: it is forgotten, no restore can take it.
      cluster.kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: secrets('files-copy') }),
      );
      const latest = await runNsbackup(restorePvcCommand, baseEnv(), [
        ...['--from', 's3', '--pvc', 'data', '--source-namespace', 'files', '--backup', r.summary!.backupId],
        ...['--as', 'never', '-n', 'files-copy', '--dry-run'],
      ]);
      expect(latest.code).toBe(1);
      expect(latest.summary!.error).toMatch(/no volume data of PVC files\/data in backup/);
    } finally {
      rmSync(join(source, 'root-only.key'));
    }
  }, 240_000);
});

describe('volume data from the live claim on a real control plane (NSBACKUP_PVC_DATA_DIRECT)', () => {
  const app = (name: string, claimName: string, extra: object = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'files' },
    spec: {
      // An image the node has no entry for: the container idles, holding the mount, like an application.
      containers: [{ name: 'app', image: 'app' }],
      volumes: [{ name: 'files', persistentVolumeClaim: { claimName } }],
      ...extra,
    },
  });

  it('the real scheduler honours the pin: a pod with it for a node that does not exist stays unscheduled', async () => {
    const pinned = placementSpec({ kind: 'node', node: 'no-such-node', pods: ['x'], tolerations: [] });
    cluster.kubectl(['apply', '-f', '-'], JSON.stringify(app('pinned-elsewhere', 'data', pinned)));
    try {
      const why = await until('the scheduler to give up on the pod', () => {
        const pod = json(['-n', 'files', 'get', 'pod', 'pinned-elsewhere']);
        const c = (pod.status?.conditions ?? []).find((x: any) => x.type === 'PodScheduled');
        return c?.status === 'False' && c.message;
      });
      // 1.37's wording: the NodeAffinity plugin's pre-filter keeps only the named node, and there is none.
      expect(why).toMatch(
        /0\/1 nodes are available: 1 node\(s\) didn't satisfy plugin\(s\) \[NodeAffinity\]/,
      );
    } finally {
      cluster.kubectl(['-n', 'files', 'delete', 'pod', 'pinned-elsewhere', '--wait=false']);
    }
  }, 120_000);

  it("backs up a claim a running pod holds, on that pod's node, without a snapshot; restore-pvc --from s3 brings the same files back", async () => {
    cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [claim('files', 'live'), app('app', 'live')] }),
    );
    const live = await volumeDir('files', 'live');
    writeAppTree(live);
    const node = await until('the application pod running', () => {
      const pod = json(['-n', 'files', 'get', 'pod', 'app']);
      return pod.status?.phase === 'Running' && pod.spec.nodeName;
    });
    const r = await runNsbackup(backupCommand, {
      ...baseEnv(),
      NSBACKUP_NAMESPACE: 'files',
      NSBACKUP_DB: 'none',
      NSBACKUP_PVC: '',
      NSBACKUP_PVC_DATA_DIRECT: 'live',
      NSBACKUP_EXPORT: 'true',
      NSBACKUP_LOCK: 'false',
    });
    expect(r.code, r.text).toBe(0);
    const backupId = r.summary!.backupId;
    const note = r.logs.find((l) => /not point-in-time/.test(l.msg));
    expect(note).toMatchObject({ level: 'warn', pvc: 'live', placement: `node ${node} (pods app)` });
    // The mover's pod ran where the scheduler put it: the Job's events name the node it was bound to.
    const scheduled = json([
      '-n',
      'files',
      'get',
      'events',
      '--field-selector',
      'reason=Scheduled',
    ]).items.filter((e: any) => e.involvedObject.name.startsWith('nsbackup-mover-live-'));
    expect(scheduled.map((e: any) => e.message)).toEqual([expect.stringMatching(new RegExp(`to ${node}$`))]);
    expect(
      json(['-n', 'files', 'get', 'volumesnapshots', '-l', `nsbackup.io/backup=${backupId}`]).items,
    ).toEqual([]);
    const store = s3.store();
    const manifest = JSON.parse(
      await store.downloadText(store.key('prod', 'files', backupId, 'manifest.json')),
    );
    expect(manifest.volumes).toEqual([
      expect.objectContaining({ pvc: 'live', copyMethod: 'direct', files: 4 }),
    ]);
    await until('movers gone', () => leftovers('files').length === 0, 60_000);
    expect(json(['-n', 'files', 'get', 'pvc', 'live']).status.phase).toBe('Bound');

    cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: secrets('files-copy') }),
    );
    const restored = await runNsbackup(restorePvcCommand, baseEnv(), [
      ...['--from', 's3', '--pvc', 'live', '--source-namespace', 'files', '--backup', backupId],
      ...['--as', 'live', '-n', 'files-copy'],
    ]);
    expect(restored.code, restored.text).toBe(0);
    expect(describeTree(await volumeDir('files-copy', 'live'))).toEqual(describeTree(live));
  }, 240_000);
});
