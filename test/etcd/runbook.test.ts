// What etcd-restore tells the operator to do, and which member the data directory is made for.
import { describe, expect, it } from 'vitest';
import type { EtcdManifest } from '../../lib/etcd/manifest.js';
import { manifestProblems } from '../../lib/etcd/manifest.js';
import { restoreMemberOf } from '../../lib/etcd/restore.js';
import { runbook } from '../../lib/etcd/runbook.js';

const members = [
  { id: '1', name: 'cp-1', peerURLs: ['https://10.0.0.1:2380'], clientURLs: ['https://10.0.0.1:2379'] },
  { id: '2', name: 'cp-2', peerURLs: ['https://10.0.0.2:2380'], clientURLs: ['https://10.0.0.2:2379'] },
  { id: '3', name: 'cp-3', peerURLs: ['https://10.0.0.3:2380'], clientURLs: ['https://10.0.0.3:2379'] },
];
const manifest = { etcd: { memberName: 'cp-2', members } } as unknown as EtcdManifest;

describe('etcd restore runbook', () => {
  it('makes the data directory for the member the snapshot came from, unless told otherwise', () => {
    expect(restoreMemberOf(manifest, {})).toEqual({
      name: 'cp-2',
      initialCluster: 'cp-2=https://10.0.0.2:2380',
      initialAdvertisePeerUrls: 'https://10.0.0.2:2380',
    });
    const all = members.map((m) => `${m.name}=${m.peerURLs[0]}`).join(',');
    expect(restoreMemberOf(manifest, { name: 'cp-3', initialCluster: all })).toEqual({
      name: 'cp-3',
      initialCluster: all,
      initialAdvertisePeerUrls: 'https://10.0.0.3:2380',
    });
  });

  it('for several members: one restore per member, own --name, the same --initial-cluster', () => {
    const text = runbook({
      clusterKind: 'kubeadm',
      backupId: '20261207-020000-abcdef',
      createdAt: '2026-12-07T02:00:00Z',
      revision: 42,
      dir: '/root/restore',
      memberName: 'cp-2',
      initialCluster: 'cp-2=https://10.0.0.2:2380',
      members,
    });
    expect(text).toContain('mv /etc/kubernetes/manifests/*.yaml /etc/kubernetes/manifests.stopped/');
    expect(text).toContain('This cluster had 3 members.');
    const initialCluster = 'cp-1=https://10.0.0.1:2380,cp-2=https://10.0.0.2:2380,cp-3=https://10.0.0.3:2380';
    for (const m of members) {
      expect(text).toContain(
        `--name ${m.name} --initial-cluster ${initialCluster} --initial-advertise-peer-urls ${m.peerURLs[0]}`,
      );
    }
  });

  it('a single kubeadm member gets no multi-member steps; k3s gets its own reset', () => {
    const facts = {
      backupId: 'x',
      createdAt: 't',
      revision: 1,
      dir: '/r',
      memberName: 'cp-1',
      initialCluster: 'cp-1=https://10.0.0.1:2380',
      members: members.slice(0, 1),
    };
    expect(runbook({ ...facts, clusterKind: 'kubeadm' })).not.toContain('members.');
    expect(runbook({ ...facts, clusterKind: 'rke2' })).toContain(
      'rke2 server --cluster-reset --cluster-reset-restore-path=/r/snapshot.db',
    );
  });

  it('refuses a manifest that is not an etcd backup of this cluster or lists files outside it', () => {
    const good = {
      kind: 'nsbackup-etcd-backup',
      formatVersion: 1,
      cluster: 'c',
      backupId: 'b',
      encryption: { keyId: 'k' },
      files: [
        {
          name: 'etcd-snapshot.db.gz',
          role: 'snapshot',
          sha256: 'a'.repeat(64),
          storedSha256: 'b'.repeat(64),
        },
      ],
    };
    expect(manifestProblems(good, { cluster: 'c', backupId: 'b' })).toEqual([]);
    expect(manifestProblems(good, { cluster: 'other', backupId: 'b' })).toEqual([
      'manifest.json names cluster c, not other',
    ]);
    const escaping = {
      ...good,
      files: [...good.files, { ...good.files[0], role: 'pki', name: 'pki/../../x' }],
    };
    expect(manifestProblems(escaping, { cluster: 'c', backupId: 'b' })).toEqual([
      'manifest.json lists a file outside the backup: pki/../../x',
    ]);
  });
});
