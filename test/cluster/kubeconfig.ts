// The kubeconfig clients use to reach an emulated cluster: plain http, a bearer token, and
// insecure-skip-tls-verify (client-node refuses an http server without it).
import { writeFileSync } from 'node:fs';
import YAML from 'yaml';

export function buildKubeconfig(url: string, clusterName: string, token: string): any {
  const user = `${clusterName}-admin`;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user, namespace: 'default' } }],
    'current-context': clusterName,
    preferences: {},
  };
}

export function writeKubeconfig(path: string, kubeconfig: any): void {
  writeFileSync(path, YAML.stringify(kubeconfig), { mode: 0o600 });
}
