// startCluster(): one emulated Kubernetes API server on 127.0.0.1 with its controllers, for tests and the demo.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControllers, type Controllers } from './controllers.js';
import { runningPod } from './kubelet.js';
import type { ExecHandler } from './exec.js';
import { Faults, type FaultRule } from './faults.js';
import { buildKubeconfig, writeKubeconfig } from './kubeconfig.js';
import { now, Registry } from './registry.js';
import { BUILTIN_RESOURCES, ResourceTable, snapshotCrds, type ResourceDef } from './resources.js';
import { ApiServer, type RequestRecord } from './server.js';
import { Store } from './store.js';

export type { ExecHandler, ExecRequest, ExecIO } from './exec.js';
// Who runs pods/exec: real local processes, or (for a stand-alone exec server) the protocol alone.
export { acceptExec, localProcessHandler } from './exec.js';
export type { FaultRule } from './faults.js';
export type { RequestRecord } from './server.js';
export type { Controllers } from './controllers.js';
export type { JobRunner } from './jobs.js';

export interface ClusterOptions {
  port?: number;
  /** Install the snapshot.storage.k8s.io/v1 CRDs (default true). */
  snapshotCrds?: boolean;
  /** Delay before a VolumeSnapshot becomes readyToUse (default 0). */
  snapshotReadyDelayMs?: number;
  clusterName?: string;
  /** Where to write the kubeconfig (default: a temp file removed by close()). */
  kubeconfigPath?: string;
}

export interface Cluster {
  url: string;
  kubeconfigPath: string;
  kubeconfig: any;
  token: string;
  seed(...objects: any[]): void;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): any | undefined;
  list(apiVersion: string, kind: string, namespace?: string): any[];
  faults: { add(rule: FaultRule): void; clear(): void };
  requests: RequestRecord[];
  clearRequests(): void;
  exec: { register(namespace: string, pod: string, container: string, handler: ExecHandler): void };
  controllers: Controllers;
  close(): Promise<void>;
}

const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const clusterName = options.clusterName ?? 'nsbackup-emulator';
  const token = randomBytes(24).toString('hex');
  const store = new Store();
  const table = new ResourceTable(BUILTIN_RESOURCES);
  const registry = new Registry(store, table);
  const faults = new Faults();
  const server = new ApiServer(registry, faults, token);
  const controllers = startControllers(registry, { snapshotReadyDelayMs: options.snapshotReadyDelayMs });
  const nsDef = table.find('', 'v1', 'namespaces')!;
  for (const name of INITIAL_NAMESPACES) registry.create(nsDef, undefined, { metadata: { name } });
  const crdDef = table.find('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  if (options.snapshotCrds !== false)
    for (const crd of snapshotCrds()) registry.create(crdDef, undefined, crd);

  const url = await server.listen(options.port ?? 0);
  const tempDir = options.kubeconfigPath ? undefined : mkdtempSync(join(tmpdir(), 'nsbackup-cluster-'));
  const kubeconfigPath = options.kubeconfigPath ?? join(tempDir!, 'kubeconfig');
  const kubeconfig = buildKubeconfig(url, clusterName, token);
  writeKubeconfig(kubeconfigPath, kubeconfig);

  const resolve = (apiVersion: string, kind: string): ResourceDef => {
    const r = table.byKind(apiVersion, kind);
    if (!r) throw new Error(`the emulator serves no ${kind} in ${apiVersion}`);
    return r;
  };

  function seedOne(input: any): void {
    const r = resolve(input.apiVersion, input.kind);
    if (r.plural === 'customresourcedefinitions') {
      registry.create(r, undefined, {
        ...input,
        metadata: { ...input.metadata, resourceVersion: undefined },
      });
      return;
    }
    let obj = structuredClone(input);
    obj.metadata = { ...obj.metadata };
    if (r.namespaced) {
      obj.metadata.namespace = obj.metadata.namespace ?? 'default';
      if (!store.get('', 'namespaces', undefined, obj.metadata.namespace)) {
        registry.create(nsDef, undefined, { metadata: { name: obj.metadata.namespace } });
      }
    } else delete obj.metadata.namespace;
    obj.metadata.uid = obj.metadata.uid ?? randomUUID();
    obj.metadata.creationTimestamp = obj.metadata.creationTimestamp ?? now();
    if (r.group === '' && r.plural === 'namespaces') {
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
      obj.spec = { finalizers: ['kubernetes'], ...obj.spec };
      obj.status = obj.status ?? { phase: 'Active' };
    }
    if (r.group === '' && r.plural === 'pods' && !obj.status?.phase) obj = runningPod(obj);
    if (r.group === '' && r.plural === 'persistentvolumeclaims' && !obj.status?.phase)
      obj.status = { phase: 'Pending' };
    store.put(r.group, r.plural, obj);
  }

  return {
    url,
    kubeconfigPath,
    kubeconfig,
    token,
    seed: (...objects) => objects.forEach(seedOne),
    get: (apiVersion, kind, namespace, name) => {
      const r = resolve(apiVersion, kind);
      const obj = store.get(r.group, r.plural, r.namespaced ? namespace : undefined, name);
      return obj ? structuredClone(obj) : undefined;
    },
    list: (apiVersion, kind, namespace) => {
      const r = resolve(apiVersion, kind);
      return store
        .list(r.group, r.plural, r.namespaced ? namespace : undefined)
        .map((o) => structuredClone(o));
    },
    faults: { add: (rule) => faults.add(rule), clear: () => faults.clear() },
    requests: server.requests,
    clearRequests: () => {
      server.requests.length = 0;
    },
    exec: {
      register: (namespace, pod, container, handler) =>
        server.execHandlers.set(`${namespace}/${pod}/${container}`, handler),
    },
    controllers,
    close: async () => {
      controllers.stop();
      await server.close();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
