// Runs one real control plane until SIGINT/SIGTERM, then stops everything it started:
//   npm run -s cluster:real -- [--kubeconfig FILE] [--snapshot-ready-after-ms N] [--keep]
// Builds the binaries first when the cache lacks them (test/realcluster/build.ts). With --kubeconfig the admin
// kubeconfig is written to FILE (usable by kubectl and client-node); without it, it is printed.
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { startRealCluster } from './index.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'snapshot-ready-after-ms': { type: 'string' },
    'cluster-name': { type: 'string' },
  },
});

const readyAfter = values['snapshot-ready-after-ms'];
if (readyAfter !== undefined && !/^\d+$/.test(readyAfter)) {
  console.error(`--snapshot-ready-after-ms must be a whole number of milliseconds, got ${readyAfter}`);
  process.exit(2);
}

const cluster = await startRealCluster({
  kubeconfigPath: values.kubeconfig,
  clusterName: values['cluster-name'],
  snapshotReadyAfterMs: readyAfter === undefined ? undefined : Number(readyAfter),
  log: (line) => console.error(line),
});

if (values.kubeconfig) console.log(`kubeconfig written to ${values.kubeconfig}`);
else process.stdout.write(`${YAML.stringify(cluster.kubeconfig)}---\n`);
console.log(`kube-apiserver listening on ${cluster.url} (state and logs in ${cluster.dir})`);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    void cluster.close().then(() => process.exit(0));
  });
}
