// The steps that put a restored data directory into service, for the cluster's kind. Pure: text from facts.
// nsbackup never does these itself: they stop the control plane, and a person should be there when that happens.

import type { ClusterKind } from './manifest.js';
import type { Member } from './tools.js';

export interface RunbookFacts {
  clusterKind: ClusterKind;
  backupId: string;
  createdAt: string;
  revision: number;
  /** The local folder holding data/, pki/ and snapshot.db. */
  dir: string;
  /** The member the data directory was made for. */
  memberName: string;
  initialCluster: string;
  /** Every member of the cluster when the snapshot was taken. */
  members: Member[];
}

/** The restored member's own peer URL(s), from --initial-cluster. */
function advertisedPeer(f: RunbookFacts): string {
  const own = f.initialCluster
    .split(',')
    .filter((entry) => entry.startsWith(`${f.memberName}=`))
    .map((entry) => entry.slice(f.memberName.length + 1));
  return own.join(',') || '?';
}

export function runbook(f: RunbookFacts): string {
  const lines = [
    `Restore of etcd backup ${f.backupId} (taken ${f.createdAt}, revision ${f.revision}) in ${f.dir}:`,
    `  ${f.dir}/data        etcd data directory for member ${f.memberName} (--initial-cluster ${f.initialCluster})`,
    `  ${f.dir}/pki         the PKI files as they were (keys mode 0600)`,
    `  ${f.dir}/snapshot.db the verified snapshot, for the other members`,
    '',
    'data/ was made by the etcdutl this restore ran; for a cluster on an older etcd minor release, make it again',
    "with that release's etcdutl, so the server can read it:",
    `  etcdutl snapshot restore ${f.dir}/snapshot.db --data-dir ${f.dir}/data.again --name ${f.memberName} ` +
      `--initial-cluster ${f.initialCluster} --initial-advertise-peer-urls ${advertisedPeer(f)}`,
    '',
  ];
  if (f.clusterKind === 'k3s' || f.clusterKind === 'rke2') {
    const tool = f.clusterKind;
    lines.push(
      `${tool}: restore with its own tool, from the snapshot file, on one server node:`,
      `  systemctl stop ${tool === 'k3s' ? 'k3s' : 'rke2-server'}`,
      `  ${tool} server --cluster-reset --cluster-reset-restore-path=${f.dir}/snapshot.db`,
      `  systemctl start ${tool === 'k3s' ? 'k3s' : 'rke2-server'}`,
      'then on the other server nodes: stop, remove the db folder, start (they rejoin).',
    );
    return lines.join('\n') + '\n';
  }
  lines.push(
    'kubeadm, on each control-plane node (all of them stopped before any starts again):',
    '  1. Stop the control plane: move the static pod manifests away; the kubelet stops the pods.',
    '       mkdir -p /etc/kubernetes/manifests.stopped',
    '       mv /etc/kubernetes/manifests/*.yaml /etc/kubernetes/manifests.stopped/',
    '       (wait until `crictl ps` shows no etcd or kube-apiserver container)',
    '  2. Keep the old data directory, put the restored one in its place:',
    '       mv /var/lib/etcd /var/lib/etcd.before-restore',
    `       cp -a ${f.dir}/data /var/lib/etcd`,
    '  3. If the node lost its PKI: copy the files of pki/ back to /etc/kubernetes/pki (keys mode 0600) and let',
    '     `kubeadm init phase certs all` recreate the certificates the CAs sign.',
    '  4. Start the control plane again:',
    '       mv /etc/kubernetes/manifests.stopped/*.yaml /etc/kubernetes/manifests/',
    '  5. Check: kubectl get --raw /readyz; kubectl get nodes; kubectl get ns',
  );
  if (f.members.length > 1) {
    const initialCluster = f.members.map((m) => `${m.name}=${m.peerURLs[0] ?? '?'}`).join(',');
    lines.push(
      '',
      `This cluster had ${f.members.length} members. Make a data directory per member from the same snapshot, each`,
      'with its own --name and the same --initial-cluster, on its node (never copy one data directory to two nodes):',
      ...f.members.map(
        (m) =>
          `  etcdutl snapshot restore snapshot.db --data-dir /var/lib/etcd.restored --name ${m.name} ` +
          `--initial-cluster ${initialCluster} --initial-advertise-peer-urls ${m.peerURLs[0] ?? '?'}`,
      ),
      '(or run nsbackup etcd-restore on each node with --name, --initial-cluster and --initial-advertise-peer-urls),',
      'then use /var/lib/etcd.restored in step 2 on that node. Start all members before expecting a quorum.',
    );
  }
  return lines.join('\n') + '\n';
}
