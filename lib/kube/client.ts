// A thin Kubernetes REST client: client-node loads the configuration and authenticates; requests are addressed by
// API path (which is how exports name objects) and go through the one retry policy.

import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeConnectionError, NotKubernetesApiError, retryDecision } from './errors.js';
import { KubeconfigError, kubeconfigPathsOf, loadKubeconfigFile, loadKubeconfigFiles } from './kubeconfig.js';
import { defaultRetryPolicy, withRetry } from './retry.js';
import type { RetryPolicy } from './retry.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ConnectOptions {
  /** Explicit kubeconfig file (one file); else $KUBECONFIG (merged), else in-cluster, else ~/.kube/config. */
  kubeconfigPath?: string;
  context?: string;
  env?: NodeJS.ProcessEnv;
  retry?: RetryPolicy;
  /** Per-request timeout. */
  timeoutMs?: number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Defaults: true for GET, PUT, PATCH, DELETE; false for POST. */
  idempotent?: boolean;
  /** The body as text, not parsed (pods/log). */
  text?: boolean;
}

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: any;
  };
  [k: string]: any;
};

export interface KubeList<T = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export class KubeClient {
  /** One keep-alive connection pool per client: a new TLS handshake per request would dominate big restores. */
  private pool?: http.Agent;

  constructor(
    readonly kc: KubeConfig,
    /** Namespace of the pod (in-cluster) or of the kubeconfig context. */
    readonly defaultNamespace: string,
    private readonly retry: RetryPolicy = defaultRetryPolicy,
    private readonly timeoutMs = 60_000,
  ) {}

  get server(): string {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    return cluster.server.replace(/\/$/, '');
  }

  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const idempotent = opts.idempotent ?? method !== 'POST';
    return withRetry(
      () => this.once<T>(method, path, opts),
      (e) => retryDecision(e, idempotent),
      this.retry,
    );
  }

  get<T = KubeObject>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /** A text resource such as pods/log. */
  getText(path: string, query?: RequestOptions['query']): Promise<string> {
    return this.request<string>('GET', path, { query, text: true });
  }

  /** Returns undefined on 404. */
  async getIfExists<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof KubeApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  /** Lists a collection page by page (limit/continue), so memory stays bounded. */
  async *listPages<T = KubeObject>(
    path: string,
    query: Record<string, string | number | undefined> = {},
    pageSize = 500,
  ): AsyncGenerator<KubeList<T>> {
    let token: string | undefined;
    do {
      const page = await this.get<KubeList<T>>(path, { ...query, limit: pageSize, continue: token });
      yield page;
      token = page.metadata?.continue || undefined;
    } while (token);
  }

  async listAll<T = KubeObject>(
    path: string,
    query: Record<string, string | number | undefined> = {},
  ): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.listPages<T>(path, query)) items.push(...page.items);
    return items;
  }

  create<T = KubeObject>(collectionPath: string, body: unknown, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('POST', collectionPath, { body, query });
  }

  /** JSON merge patch (RFC 7386): `null` removes a key, e.g. a label. */
  mergePatch<T = KubeObject>(path: string, patch: unknown, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('PATCH', path, {
      body: patch,
      contentType: 'application/merge-patch+json',
      query,
    });
  }

  delete<T = any>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('DELETE', path, { query });
  }

  private async once<T>(method: string, path: string, opts: RequestOptions): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const reqOpts: https.RequestOptions = {
      method,
      headers: {
        Accept: opts.text ? '*/*' : 'application/json',
        ...(body !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json' } : {}),
        ...(body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}),
        'User-Agent': 'nsbackup',
      },
      timeout: this.timeoutMs,
    };
    await this.kc.applyToHTTPSOptions(reqOpts);
    reqOpts.agent = this.pooled(reqOpts.agent);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      let sent = false;
      const req = transport.request(url, reqOpts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) =>
          reject(new KubeConnectionError(`${method} ${path}: ${e.message}`, method, path, false)),
        );
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          // The API server answers everything it handles with JSON, errors included (a Status), but for the text
          // a text resource (pods/log) is, when it succeeds.
          const contentType = String(res.headers['content-type'] ?? '');
          const textAnswer = opts.text && status >= 200 && status < 300;
          if (text && !textAnswer && !/json/i.test(contentType)) {
            reject(new NotKubernetesApiError(status, contentType.split(';')[0], method, path, this.server));
            return;
          }
          if (status >= 200 && status < 300) {
            if (opts.text) return resolve(text as T);
            try {
              resolve((text ? JSON.parse(text) : {}) as T);
            } catch {
              reject(
                new KubeApiError(
                  status,
                  'BadResponse',
                  `${method} ${path}: response is not JSON`,
                  method,
                  path,
                ),
              );
            }
            return;
          }
          reject(toApiError(status, text, method, path, res.headers['retry-after']));
        });
      });
      req.on('socket', (s) => {
        // A pooled socket may have been closed by the server while idle; whether this request got through is
        // then unknown, so only a fresh connection that never connected counts as "not sent".
        if (req.reusedSocket) sent = true;
        else s.once('connect', () => (sent = true));
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        const notSent = !sent || e.code === 'ECONNREFUSED';
        reject(new KubeConnectionError(`${method} ${path}: ${e.message}`, method, path, notSent));
      });
      req.end(body);
    });
  }

  /**
   * client-node builds a new agent (TLS settings from the kubeconfig) for every request; keep the first one's settings
   * in a keep-alive agent instead. Proxy agents are used as given.
   */
  private pooled(agent: unknown): http.Agent | undefined {
    if (this.pool) return this.pool;
    if (!(agent instanceof http.Agent) || agent.constructor.name.includes('Proxy'))
      return agent as http.Agent | undefined;
    const options = { ...(agent as http.Agent & { options: https.AgentOptions }).options };
    const pool = { keepAlive: true, maxSockets: 32, maxFreeSockets: 16, timeout: undefined };
    this.pool =
      agent instanceof https.Agent
        ? new https.Agent({ ...options, ...pool })
        : new http.Agent({ ...options, ...pool });
    return this.pool;
  }

  /** Closes pooled connections (a long-lived process that is done with the client). */
  close(): void {
    this.pool?.destroy();
    this.pool = undefined;
  }
}

function toApiError(
  status: number,
  text: string,
  method: string,
  path: string,
  retryAfter?: string,
): KubeApiError {
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const retrySeconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  const message = parsed?.message ?? (text.slice(0, 300) || `HTTP ${status}`);
  return new KubeApiError(
    status,
    parsed?.reason ?? String(status),
    message,
    method,
    path,
    retrySeconds,
    parsed?.details,
  );
}

/**
 * Loads the configuration: an explicit file, else the files of $KUBECONFIG (merged like kubectl), else the in-cluster
 * service account, else ~/.kube/config. Errors never quote a kubeconfig (see kubeconfig.ts).
 */
export function connect(opts: ConnectOptions = {}): KubeClient {
  const env = opts.env ?? process.env;
  let kc: KubeConfig;
  let inCluster = false;
  const defaultFile = join(env.HOME || homedir(), '.kube', 'config');
  if (opts.kubeconfigPath) {
    kc = loadKubeconfigFile(opts.kubeconfigPath);
  } else if (env.KUBECONFIG && kubeconfigPathsOf(env.KUBECONFIG).length) {
    kc = loadKubeconfigFiles(kubeconfigPathsOf(env.KUBECONFIG));
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(`${SA_DIR}/token`)) {
    kc = new KubeConfig();
    kc.loadFromCluster();
    inCluster = true;
  } else if (existsSync(defaultFile)) {
    kc = loadKubeconfigFile(defaultFile);
  } else {
    throw new KubeconfigError(
      'no Kubernetes configuration: set --kubeconfig (NSBACKUP_KUBECONFIG) or KUBECONFIG, run in a pod, or create ~/.kube/config',
    );
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new KubeconfigError(
        `the kubeconfig has no context "${opts.context}" (contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const namespace = inCluster
    ? readFileSync(`${SA_DIR}/namespace`, 'utf8').trim()
    : (kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default');
  return new KubeClient(kc, namespace, opts.retry, opts.timeoutMs);
}
