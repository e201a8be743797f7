// Settings of etcd-backup and etcd-restore. Paths default to kubeadm's layout under /etc/kubernetes/pki; the
// client certificate is the one kube-apiserver itself uses to reach etcd.

import { bool, duration, int, list, oneOf, str, url } from '../config/index.js';
import { backupSettings } from '../backup/settings.js';
import { encryptionSettings } from '../crypto/index.js';
import { keepSettings, markAndDeleteSettings, timeZoneSetting } from '../prune/settings.js';
import { s3Settings } from '../s3/index.js';

/** The kubeadm files whoever restores a control plane needs: the CAs and the service-account signing keys. */
export const KUBEADM_PKI_FILES = [
  'ca.crt',
  'ca.key',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'sa.key',
  'sa.pub',
  'etcd/ca.crt',
  'etcd/ca.key',
] as const;

export const etcdClusterSetting = {
  clusterName: str({
    env: 'NSBACKUP_CLUSTER_NAME',
    flag: '--cluster',
    required: true,
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    description:
      'Cluster name in S3 keys: etcd backups go to <prefix>/<cluster>/_etcd/<backup id>/. Required: the ' +
      'etcd commands talk to etcd, not to the API server, so there is no kubeconfig to take it from.',
  }),
};

export const etcdToolSettings = {
  etcdctl: str({
    env: 'NSBACKUP_ETCDCTL',
    default: 'etcdctl',
    description:
      'The etcdctl program (a path, or a name looked up in PATH); same minor release as the server.',
  }),
  etcdutl: str({
    env: 'NSBACKUP_ETCDUTL',
    default: 'etcdutl',
    description:
      'The etcdutl program, for the trial restore and the restore (etcd 3.5+; before that etcdctl restores).',
  }),
  workDir: str({
    env: 'NSBACKUP_ETCD_WORK_DIR',
    defaultText: 'the system temp folder',
    description:
      'Folder for the snapshot file and the trial restore (needs about twice the database size free); ' +
      'everything written there is removed at the end of the run.',
  }),
};

export const etcdBackupSettings = {
  endpoint: str({
    env: 'NSBACKUP_ETCD_ENDPOINT',
    flag: '--endpoint',
    default: 'https://127.0.0.1:2379',
    pattern: /^https?:\/\/[^\s,]+$/,
    patternText: 'one http(s) URL',
    description:
      'The one etcd member the snapshot is taken from (a control-plane node runs one on 127.0.0.1).',
  }),
  caCert: str({
    env: 'NSBACKUP_ETCD_CACERT',
    default: '/etc/kubernetes/pki/etcd/ca.crt',
    description: "etcd's CA certificate.",
  }),
  cert: str({
    env: 'NSBACKUP_ETCD_CERT',
    default: '/etc/kubernetes/pki/apiserver-etcd-client.crt',
    description: 'Client certificate etcd accepts (kubeadm: the API server’s own).',
  }),
  key: str({
    env: 'NSBACKUP_ETCD_KEY',
    default: '/etc/kubernetes/pki/apiserver-etcd-client.key',
    description: 'Private key of the client certificate (read by etcdctl only, never logged).',
  }),
  pkiDir: str({
    env: 'NSBACKUP_PKI_DIR',
    default: '/etc/kubernetes/pki',
    description: 'The control plane’s PKI folder; the files of NSBACKUP_PKI_FILES are saved from it.',
  }),
  pkiFiles: list({
    env: 'NSBACKUP_PKI_FILES',
    default: [...KUBEADM_PKI_FILES],
    item: /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/,
    itemText: 'paths relative to NSBACKUP_PKI_DIR',
    description:
      'PKI files to save, relative to NSBACKUP_PKI_DIR. Every one must exist: a backup without the CA key ' +
      'cannot rebuild the cluster. The default is kubeadm’s CAs (cluster, front-proxy, etcd) and sa.key/sa.pub.',
  }),
  distribution: oneOf(['auto', 'kubeadm', 'k3s', 'rke2'] as const, {
    env: 'NSBACKUP_ETCD_DISTRIBUTION',
    default: 'auto',
    description:
      'auto: k3s or RKE2 when NSBACKUP_RANCHER_DIR holds their server folder, else kubeadm. On k3s and RKE2, which ' +
      'snapshot etcd themselves, the newest of their snapshots is checked for freshness instead of taking one.',
  }),
  rancherDir: str({
    env: 'NSBACKUP_RANCHER_DIR',
    default: '/var/lib/rancher',
    description: 'Where k3s and RKE2 keep their state (<dir>/k3s/server, <dir>/rke2/server).',
  }),
  maxSnapshotAge: duration({
    env: 'NSBACKUP_ETCD_MAX_SNAPSHOT_AGE',
    default: 13 * 3_600_000,
    min: 60_000,
    description:
      'On k3s and RKE2: fail when their newest etcd snapshot is older than this (their default schedule is every 12 h).',
  }),
  ownSnapshot: bool({
    env: 'NSBACKUP_ETCD_OWN_SNAPSHOT',
    flag: '--own-snapshot',
    default: false,
    description:
      'On k3s and RKE2: take and store a snapshot of our own as on kubeadm (set the certificate and PKI paths of ' +
      'that distribution: the kubeadm defaults do not exist there).',
  }),
  retain: oneOf(['gfs', 'days'] as const, {
    env: 'NSBACKUP_RETAIN',
    default: 'gfs',
    description:
      'Retention of the etcd backups in S3, applied after each successful backup: gfs keeps the newest ' +
      'NSBACKUP_KEEP_DAILY/_WEEKLY/_MONTHLY/_YEARLY periods, days keeps each backup NSBACKUP_RETAIN_DAYS days.',
  }),
  retainDays: int({
    env: 'NSBACKUP_RETAIN_DAYS',
    min: 1,
    description: 'For retain=days: days to keep each backup.',
  }),
  ...keepSettings,
  maxDeleteShare: markAndDeleteSettings.maxDeleteShare,
  maxDeleteCount: markAndDeleteSettings.maxDeleteCount,
  ...timeZoneSetting,
  notifyUrl: backupSettings.notifyUrl,
  notifyFailureUrl: backupSettings.notifyFailureUrl,
  ...etcdClusterSetting,
  ...etcdToolSettings,
  ...encryptionSettings,
  ...s3Settings,
};

/** NSBACKUP_ETCD_BACKUP: which stored etcd backup a command reads. */
function etcdBackupRefSetting(what: string) {
  return {
    backup: str({
      env: 'NSBACKUP_ETCD_BACKUP',
      flag: '--backup',
      default: 'latest',
      pattern: /^[A-Za-z0-9._-]+$/,
      patternText: 'a backup id or latest',
      description: `${what}: its id, or latest (the newest with a manifest).`,
    }),
  };
}

export const etcdRestoreSettings = {
  ...etcdBackupRefSetting('The etcd backup to restore'),
  dir: str({
    env: 'NSBACKUP_ETCD_RESTORE_DIR',
    flag: '--dir',
    required: true,
    description:
      'Local folder to write into (missing or empty): data/ (an etcd data directory), pki/, snapshot.db and ' +
      'RUNBOOK.txt. A running etcd is never touched.',
  }),
  memberName: str({
    env: 'NSBACKUP_ETCD_NAME',
    flag: '--name',
    defaultText: 'the name of the member the snapshot was taken from',
    description: 'Member name of the restored data directory (etcd --name).',
  }),
  initialCluster: str({
    env: 'NSBACKUP_ETCD_INITIAL_CLUSTER',
    flag: '--initial-cluster',
    defaultText: 'NAME=the first peer URL of that member',
    description:
      'etcd --initial-cluster of the restored member, e.g. a=https://10.0.0.1:2380,b=https://10.0.0.2:2380.',
  }),
  initialAdvertisePeerUrls: str({
    env: 'NSBACKUP_ETCD_INITIAL_ADVERTISE_PEER_URLS',
    flag: '--initial-advertise-peer-urls',
    defaultText: "this member's URL in --initial-cluster",
    description: 'etcd --initial-advertise-peer-urls of the restored member.',
  }),
  ...etcdClusterSetting,
  ...etcdToolSettings,
  ...encryptionSettings,
  ...s3Settings,
};

export const etcdVerifySettings = {
  ...etcdBackupRefSetting('The etcd backup to verify'),
  notifyFailureUrl: url({
    env: 'NSBACKUP_NOTIFY_FAILURE_URL',
    secret: true,
    description: 'GET when the verification fails. A failing request is logged only, with scheme and host.',
  }),
  ...etcdClusterSetting,
  ...etcdToolSettings,
  ...encryptionSettings,
  ...s3Settings,
};
