// The chart's mode=etcd: one CronJob on a control-plane node, host network, the PKI folder read-only and nothing
// else from the host, no API access, no RBAC; its environment is exactly what etcd-backup accepts.
import { describe, expect, it } from 'vitest';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { runCommand } from '../../lib/command.js';
import { command as etcdBackup } from '../../scripts/etcd-backup.js';
import { command as etcdVerify } from '../../scripts/etcd-verify.js';
import { helmTemplate, helmTemplateError } from '../kit/index.js';
import { container, envOf, podSpecOf } from './rendered.js';

const etcdValues = {
  mode: 'etcd',
  clusterName: 'prod-eu',
  'etcd.encryptionKey.secretName': 'etcd-backup-key',
  's3.bucket': 'backups',
  's3.secret.name': 's3-credentials',
};

describe('chart mode=etcd', () => {
  const objects = helmTemplate({ release: 'etcd-backup', namespace: 'kube-system', set: etcdValues });

  it('renders the backup and the verify CronJob and nothing that grants anything', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'CronJob/etcd-backup-etcd',
      'CronJob/etcd-backup-etcd-verify',
    ]);
    for (const o of objects) new CronJob(o as any).validate();
    const off = helmTemplate({
      release: 'etcd-backup',
      set: { ...etcdValues, 'etcd.verify.enabled': 'false' },
    });
    expect(off.map((o) => o.metadata.name)).toEqual(['etcd-backup-etcd']);
  });

  it('verifies on any node: no host network, no host path, no token, non-root; its environment loads in etcd-verify', async () => {
    const pod = podSpecOf(objects[1]);
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.volumes.some((v: any) => v.hostPath)).toBe(false);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const c = container(pod, 'etcd-verify');
    expect(c.args).toEqual(['etcd-verify']);
    const env: Record<string, string> = {};
    for (const [name, v] of envOf(c)) {
      env[name] = v.value ?? (name === 'NSBACKUP_ENCRYPTION_KEY' ? 'A'.repeat(43) + '=' : 'from-a-secret');
    }
    expect(env.NSBACKUP_CLUSTER_NAME).toBeTruthy();
    const lines: string[] = [];
    const code = await runCommand(etcdVerify, {
      env: { ...env, NSBACKUP_S3_BUCKET: '' },
      write: (l) => lines.push(l),
      out: () => undefined,
    });
    // Configuration loads; without a bucket here it stops there (exit 2, naming it), not at an unknown variable.
    expect(code).toBe(2);
    expect(lines.join('\n')).toContain('NSBACKUP_S3_BUCKET is required');
    expect(lines.join('\n')).not.toContain('is not a setting of nsbackup');
  });

  it('runs on a control-plane node with the host network, the PKI read-only and no token', () => {
    const pod = podSpecOf(objects[0]);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(pod.tolerations).toContainEqual({
      key: 'node-role.kubernetes.io/control-plane',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    const hostPaths = pod.volumes.filter((v: any) => v.hostPath);
    expect(hostPaths).toEqual([
      { name: 'pki', hostPath: { path: '/etc/kubernetes/pki', type: 'Directory' } },
    ]);
    expect(pod.volumes.map((v: any) => v.name).sort()).toEqual(['pki', 'work']);
    const c = container(pod, 'etcd-backup');
    expect(c.args).toEqual(['etcd-backup']);
    expect(c.volumeMounts).toContainEqual({ name: 'pki', mountPath: '/etc/kubernetes/pki', readOnly: true });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    const env = envOf(c);
    expect(env.get('NSBACKUP_ENCRYPTION_KEY')?.valueFrom?.secretKeyRef).toEqual({
      name: 'etcd-backup-key',
      key: 'key',
    });
    expect(env.get('NSBACKUP_ETCD_CERT')?.value).toBe('/etc/kubernetes/pki/apiserver-etcd-client.crt');
  });

  it('its environment is accepted by etcd-backup (no unknown or malformed variable)', async () => {
    const env: Record<string, string> = {};
    for (const [name, v] of envOf(container(podSpecOf(objects[0]), 'etcd-backup'))) {
      env[name] = v.value ?? (name === 'NSBACKUP_ENCRYPTION_KEY' ? 'A'.repeat(43) + '=' : 'from-a-secret');
    }
    const lines: string[] = [];
    const code = await runCommand(etcdBackup, { env, write: (l) => lines.push(l), out: () => undefined });
    // Configuration loads; the run then stops at the first missing file of this machine (exit 2, naming it).
    expect(code).toBe(2);
    expect(lines.join('\n')).toContain(
      'NSBACKUP_ETCD_CACERT: /etc/kubernetes/pki/etcd/ca.crt does not exist',
    );
    expect(lines.join('\n')).not.toContain('is not a setting of nsbackup');
  });

  it('refuses to render without an encryption key or a cluster name', () => {
    expect(helmTemplateError({ set: { ...etcdValues, 'etcd.encryptionKey.secretName': '' } })).toContain(
      'etcd.encryptionKey.secretName is required',
    );
    expect(helmTemplateError({ set: { ...etcdValues, clusterName: '' } })).toContain(
      'clusterName is required',
    );
  });
});

describe('chart mode=etcd on k3s', () => {
  it('mounts only the k3s snapshot folder, read-only, and needs no key or S3', async () => {
    const [cronJob] = helmTemplate({
      release: 'etcd-backup',
      namespace: 'kube-system',
      set: { mode: 'etcd', clusterName: 'edge', 'etcd.distribution': 'k3s' },
    });
    const pod = podSpecOf(cronJob);
    expect(pod.volumes.filter((v: any) => v.hostPath)).toEqual([
      {
        name: 'snapshots',
        hostPath: { path: '/var/lib/rancher/k3s/server/db/snapshots', type: 'Directory' },
      },
    ]);
    const env = envOf(container(pod, 'etcd-backup'));
    expect(env.get('NSBACKUP_ETCD_DISTRIBUTION')?.value).toBe('k3s');
    expect(env.has('NSBACKUP_ENCRYPTION_KEY')).toBe(false);
    const vars: Record<string, string> = {};
    for (const [name, v] of env) vars[name] = v.value ?? '';
    const lines: string[] = [];
    const code = await runCommand(etcdBackup, {
      env: vars,
      write: (l) => lines.push(l),
      out: () => undefined,
    });
    // Loads, and on this machine (no k3s snapshots) fails as a stale schedule would: exit 1, not a config error.
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain('k3s takes its own etcd snapshots, but no etcd snapshot in');
  });
});
