// Runs one emulated cluster until SIGINT/SIGTERM:
//   npx tsx test/cluster/serve.ts [--port N] [--kubeconfig FILE] [--no-snapshot-crds] [--snapshot-ready-delay-ms N]
// With --kubeconfig the kubeconfig is written to FILE; without it, it is printed. The URL is printed either way.
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { startCluster } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    kubeconfig: { type: 'string' },
    'no-snapshot-crds': { type: 'boolean', default: false },
    'snapshot-ready-delay-ms': { type: 'string' },
    'cluster-name': { type: 'string' },
  },
});

const port = values.port !== undefined ? Number(values.port) : 0;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}

const cluster = await startCluster({
  port,
  kubeconfigPath: values.kubeconfig,
  snapshotCrds: !values['no-snapshot-crds'],
  snapshotReadyDelayMs: values['snapshot-ready-delay-ms']
    ? Number(values['snapshot-ready-delay-ms'])
    : undefined,
  clusterName: values['cluster-name'],
});

if (values.kubeconfig) console.log(`kubeconfig written to ${values.kubeconfig}`);
else process.stdout.write(`${YAML.stringify(cluster.kubeconfig)}---\n`);
console.log(`emulated Kubernetes API server listening on ${cluster.url}`);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    void cluster.close().then(() => process.exit(0));
  });
}
