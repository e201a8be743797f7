// Throughput of the test cluster emulator, so we know it is not what our benchmarks measure:
//   npx tsx bench/emulator.ts [--objects 10000] [--concurrency 32]
// Creates N ConfigMaps in one namespace through client-node (bounded concurrency), then lists them paginated
// (limit=500) and unpaginated, and reports objects/s and peak RSS. Emulator and client share this process,
// so the figures include client-node's own cost.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startCluster } from '../test/cluster/index.js';

const { values } = parseArgs({
  options: { objects: { type: 'string', default: '10000' }, concurrency: { type: 'string', default: '32' } },
});
const total = Number(values.objects);
const concurrency = Number(values.concurrency);

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;

const cluster = await startCluster();
const kc = new KubeConfig();
kc.loadFromFile(cluster.kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
await core.createNamespace({ body: { metadata: { name: 'bench' } } });

const payload = { 'settings.yaml': 'key: value\n'.repeat(20) };
let next = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      await core.createNamespacedConfigMap({
        namespace: 'bench',
        body: {
          metadata: {
            name: `cm-${String(i).padStart(6, '0')}`,
            labels: { app: 'bench', shard: String(i % 10) },
          },
          data: payload,
        },
      });
    }
  }),
);
const createMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const createCpuMs = (cpu.user + cpu.system) / 1000;

const t1 = performance.now();
let paged = 0;
let pages = 0;
let token: string | undefined;
do {
  const page = await core.listNamespacedConfigMap({ namespace: 'bench', limit: 500, _continue: token });
  paged += page.items.length;
  pages++;
  token = page.metadata?._continue;
} while (token);
const pagedMs = performance.now() - t1;

const t2 = performance.now();
const all = await core.listNamespacedConfigMap({ namespace: 'bench' });
const fullMs = performance.now() - t2;

const t3 = performance.now();
const selected = await core.listNamespacedConfigMap({ namespace: 'bench', labelSelector: 'shard=3' });
const selectMs = performance.now() - t3;

clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
if (paged !== total || all.items.length !== total || selected.items.length !== total / 10) {
  throw new Error(
    `counts are off: paged ${paged}, full ${all.items.length}, selected ${selected.items.length}`,
  );
}

console.log(
  `emulator benchmark: ${total} ConfigMaps in one namespace, client-node, concurrency ${concurrency}`,
);
console.log(`  create:               ${(createMs / 1000).toFixed(2)} s  ${rate(total, createMs)}`);
console.log(
  `  list limit=500:       ${(pagedMs / 1000).toFixed(2)} s  ${rate(total, pagedMs)}  (${pages} pages)`,
);
console.log(`  list unpaginated:     ${(fullMs / 1000).toFixed(2)} s  ${rate(total, fullMs)}`);
console.log(
  `  list labelSelector:   ${(selectMs / 1000).toFixed(2)} s  (${selected.items.length} of ${total})`,
);
console.log(`  create CPU (client+server, this process): ${(createCpuMs / total).toFixed(2)} ms per object`);
console.log(`  peak RSS:             ${mb(peakRss)}`);
console.log(
  `  load average at end:  ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} CPUs (wall-clock figures scale with it)`,
);
await cluster.close();
