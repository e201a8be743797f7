// `npm run bench [-- name ...]`: runs the benchmarks one after another, each in its own process so their memory
// figures do not mix. Each prints its own figures (JSON or a table). The full set takes about half an hour on 2 cores;
// retention-cluster (50,000 snapshots through the emulator) is most of it.

import { fileURLToPath } from 'node:url';
import { $ } from 'zx';

const BENCHES: Record<string, string> = {
  startup: 'start-up of the shipped bundle (--version, list) vs kubectl version --client',
  emulator: 'API emulator: create and list throughput of 10,000 ConfigMaps',
  'retention-plan': 'retention planning of 50,000 snapshots over 500 PVCs (pure core)',
  'dump-stream': '1 GiB dump through pods/exec into S3 vs kubectl exec cat',
  'export-restore': 'export of a 5,000-object namespace vs kubectl get -o json',
  restore: 'restore of a 5,000-object namespace vs kubectl create -f',
  'retention-cluster': 'retain + mark-and-delete over 50,000 snapshots in the emulator',
  'etcd-backup':
    'etcd-backup of a 256 MiB etcd (save, trial restore, encrypt, upload) vs etcdctl snapshot save + upload',
  volumes:
    'volume data: nsbackup backup/restore-pvc with restic on the emulator vs restic backup/restore directly, peak RSS',
  realcluster:
    'real kube-apiserver + etcd: restore of 5,000 and 20,000 objects vs kubectl create and raw POSTs; export vs kubectl get',
};

const chosen = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = chosen.filter((n) => !BENCHES[n]);
if (unknown.length) {
  process.stderr.write(
    `unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`,
  );
  process.exit(2);
}
let failed = 0;
for (const name of chosen.length ? chosen : Object.keys(BENCHES)) {
  process.stdout.write(`\n=== ${name}: ${BENCHES[name]}\n`);
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const r = await $({ stdio: 'inherit', nothrow: true })`npx tsx ${script}`;
  if (r.exitCode !== 0) {
    failed++;
    process.stdout.write(`=== ${name} exited ${r.exitCode}\n`);
  }
}
process.exit(failed ? 1 : 0);
