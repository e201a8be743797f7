// A control plane's PKI in kubeadm's layout, made by openssl: the cluster, front-proxy and etcd CAs, sa.key/sa.pub,
// etcd's server certificate and the API server's etcd client certificate. EC keys (fast); sa.key is RSA as kubeadm's.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): void {
  const res = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${res.stderr}`);
}

function ca(dir: string, name: string, cn: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
    ],
    dir,
  );
}

function leaf(dir: string, name: string, caName: string, subject: string, ext: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.crt`,
      '-CAkey',
      `${caName}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

/** Writes the PKI into `dir` (the equivalent of /etc/kubernetes/pki) and returns it. */
export function makeKubeadmPki(dir: string): string {
  mkdirSync(join(dir, 'etcd'), { recursive: true });
  ca(dir, 'ca', 'kubernetes');
  ca(dir, 'front-proxy-ca', 'front-proxy-ca');
  ca(dir, 'etcd/ca', 'etcd-ca');
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  leaf(
    dir,
    'etcd/server',
    'etcd/ca',
    '/CN=etcd-server',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  leaf(
    dir,
    'apiserver-etcd-client',
    'etcd/ca',
    '/O=system:masters/CN=kube-apiserver-etcd-client',
    'extendedKeyUsage=clientAuth\n',
  );
  return dir;
}
