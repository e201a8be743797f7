// HTTP front of the emulator: routing of Kubernetes API paths, body decoding, content negotiation (JSON,
// Table), fault injection, the request log, and hand-off to watch streams and the pods/exec upgrade.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import YAML from 'yaml';
import { managerName } from './managed-fields.js';
import { openApiV3GroupVersion, openApiV3Root } from './openapi.js';
import { decodeKubernetesProtobuf, UnsupportedProtobufError } from './protobuf.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { acceptExec, type ExecHandler, type ExecRequest } from './exec.js';
import type { Faults } from './faults.js';
import type { PatchType, Registry } from './registry.js';
import { groupVersion, type ResourceDef } from './resources.js';
import { ApiError, Errors, statusForCode } from './status.js';
import { patchScale, toScale, updateScale } from './scale.js';
import { toTable } from './table.js';
import { serveWatch } from './watch.js';
import { validateExec } from './exec-request.js';
import { deleteOptionsOf, dryRunOf, listOptionsOf } from './request-options.js';
import { STANDARD_VERBS } from './resources.js';

export interface RequestRecord {
  verb: string;
  path: string;
  query: string;
  contentType?: string;
  status: number;
}

interface ResourceRoute {
  r: ResourceDef;
  namespace?: string;
  name?: string;
  sub?: string;
}

type Route =
  | { type: 'discovery'; body: () => any }
  | { type: 'resource'; route: ResourceRoute }
  | { type: 'error'; error: ApiError };

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

function json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

function boolParam(q: URLSearchParams, key: string): boolean {
  const v = q.get(key);
  return v === 'true' || v === '1';
}

export class ApiServer {
  readonly http: http.Server;
  readonly requests: RequestRecord[] = [];
  readonly execHandlers = new Map<string, ExecHandler>();
  private watches = new Set<ServerResponse>();
  private address = '';

  constructor(
    private readonly registry: Registry,
    private readonly faults: Faults,
    private readonly token: string,
  ) {
    this.http = http.createServer((req, res) => void this.handle(req, res));
    this.http.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, socket, head));
    this.http.keepAliveTimeout = 30_000;
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = this.http.address() as AddressInfo;
    this.address = `127.0.0.1:${addr.port}`;
    return `http://${this.address}`;
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.end();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---- routing ---------------------------------------------------------------------------------

  private route(pathname: string): Route {
    const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const table = this.registry.table;
    if (pathname === '/version' || pathname === '/version/') return { type: 'discovery', body: versionInfo };
    if (parts[0] === 'api') {
      if (parts.length === 1) return { type: 'discovery', body: () => apiVersions(this.address) };
      if (parts[1] !== 'v1') return { type: 'error', error: Errors.noResource() };
      return this.resourceRoute('', 'v1', parts.slice(2));
    }
    if (parts[0] === 'apis') {
      if (parts.length === 1) return { type: 'discovery', body: () => apiGroupList(table) };
      const group = parts[1];
      const gv = table.groupVersions().find((g) => g.group === group);
      if (!gv) return { type: 'error', error: Errors.noResource() };
      if (parts.length === 2) return { type: 'discovery', body: () => apiGroup(group, gv.versions) };
      if (!gv.versions.includes(parts[2])) return { type: 'error', error: Errors.noResource() };
      return this.resourceRoute(group, parts[2], parts.slice(3));
    }
    if (parts[0] === 'openapi' && parts[1] === 'v3') {
      if (parts.length === 2)
        return { type: 'discovery', body: () => openApiV3Root(table, this.registry.store.resourceVersion) };
      const [group, version] = parts[2] === 'api' ? ['', parts[3]] : [parts[3], parts[4]];
      const doc = openApiV3GroupVersion(table, group ?? '', version ?? '');
      return doc ? { type: 'discovery', body: () => doc } : { type: 'error', error: Errors.noResource() };
    }
    if (pathname === '/healthz' || pathname === '/livez' || pathname === '/readyz') {
      return { type: 'discovery', body: () => 'ok' };
    }
    return { type: 'error', error: Errors.noResource() };
  }

  private resourceRoute(group: string, version: string, rest: string[]): Route {
    const table = this.registry.table;
    if (rest.length === 0) {
      return {
        type: 'discovery',
        body: () => apiResourceList(table, group, version) ?? Errors.noResource().toStatus(),
      };
    }
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const r = table.find(group, version, rest[2]);
      if (r?.namespaced) {
        if (rest.length > 5) return { type: 'error', error: Errors.noResource() };
        return { type: 'resource', route: { r, namespace: rest[1], name: rest[3], sub: rest[4] } };
      }
    }
    const r = table.find(group, version, rest[0]);
    if (!r || rest.length > 3) return { type: 'error', error: Errors.noResource() };
    if (r.namespaced && rest.length > 1) return { type: 'error', error: Errors.noResource() };
    return { type: 'resource', route: { r, name: rest[1], sub: rest[2] } };
  }

  private verbOf(method: string, route: Route, query: URLSearchParams): string {
    if (route.type !== 'resource') return 'get';
    const { name, sub } = route.route;
    if (sub === 'exec') return 'exec';
    switch (method) {
      case 'GET':
        if (name) return 'get';
        return boolParam(query, 'watch') ? 'watch' : 'list';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return name ? 'delete' : 'deletecollection';
      default:
        return method.toLowerCase();
    }
  }

  private authorized(req: IncomingMessage, pathname: string): boolean {
    if (PUBLIC_PATHS.has(pathname)) return true;
    // kubectl (client-go) sends no credentials over plain http, so a request without any is served, like
    // an insecure port; a wrong token is refused, so a client that sends one must send the right one.
    const auth = req.headers.authorization;
    return auth === undefined || auth === `Bearer ${this.token}`;
  }

  // ---- plain requests ----------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = this.route(url.pathname);
    const verb = this.verbOf(req.method ?? 'GET', route, url.searchParams);
    const record: RequestRecord = {
      verb,
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
      status: 0,
    };
    this.requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    try {
      const fault = this.faults.decide(verb, url.pathname);
      if (fault) {
        if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault.drop) {
          req.socket.destroy();
          return;
        }
        if (fault.status) {
          const err =
            fault.status === 429
              ? Errors.tooManyRequests(fault.retryAfterSeconds ?? 1)
              : statusForCode(fault.status);
          if (fault.retryAfterSeconds !== undefined)
            err.headers['Retry-After'] = String(fault.retryAfterSeconds);
          await readBody(req);
          return json(res, err.code, err.toStatus(), err.headers);
        }
      }
      if (!this.authorized(req, url.pathname)) {
        await readBody(req);
        return json(res, 401, new ApiError(401, 'Unauthorized', 'Unauthorized').toStatus());
      }
      if (route.type === 'error') throw route.error;
      if (route.type === 'discovery') {
        if (req.method !== 'GET') throw Errors.methodNotAllowed();
        const body = route.body();
        if (typeof body === 'string') {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end(body);
          return;
        }
        return json(res, body.kind === 'Status' ? body.code : 200, body);
      }
      await this.handleResource(req, res, route.route, verb, url.searchParams);
    } catch (e) {
      const err = e instanceof ApiError ? e : Errors.internal(e instanceof Error ? e.message : String(e));
      if (!(e instanceof ApiError)) console.error('[emulator] internal error', e);
      if (!res.headersSent) json(res, err.code, err.toStatus(), err.headers);
      else res.end();
    }
  }

  private async decodeBody(req: IncomingMessage, verb: string, body: Buffer): Promise<any> {
    const type = mediaType(req.headers['content-type']);
    if (type === 'application/vnd.kubernetes.protobuf') {
      if (verb !== 'create') {
        throw Errors.unsupportedMediaType(
          `the nsbackup emulator accepts application/vnd.kubernetes.protobuf bodies only on create, not on ${verb}`,
        );
      }
      try {
        return decodeKubernetesProtobuf(body);
      } catch (e) {
        if (e instanceof UnsupportedProtobufError) {
          throw Errors.unsupportedMediaType(
            `the nsbackup emulator cannot decode this protobuf body faithfully: ${(e as Error).message}`,
          );
        }
        throw Errors.badRequest(
          `unable to decode protobuf body: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    const text = body.toString('utf8');
    if (type === 'application/yaml') {
      try {
        return YAML.parse(text);
      } catch (e) {
        throw Errors.badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
      }
    }
    if (type === 'application/json' || type === '') {
      try {
        return JSON.parse(text);
      } catch (e) {
        throw Errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
      }
    }
    throw Errors.unsupportedMediaType(
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    );
  }

  private patchType(req: IncomingMessage, r: ResourceDef): PatchType {
    const type = mediaType(req.headers['content-type']);
    if (type === 'application/merge-patch+json') return 'merge';
    if (type === 'application/json-patch+json') return 'json';
    if (type === 'application/strategic-merge-patch+json' && !r.custom) return 'strategic';
    const accepted = r.custom
      ? 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml'
      : 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json';
    if (type === 'application/apply-patch+yaml') {
      throw Errors.unsupportedMediaType(
        'server-side apply (application/apply-patch+yaml) is not emulated by the nsbackup test cluster: it would need managedFields ownership to be faithful',
      );
    }
    throw Errors.unsupportedMediaType(
      `the body of the request was in an unknown format - accepted media types include: ${accepted}`,
    );
  }

  private dryRun(verb: string, query: URLSearchParams): boolean {
    return dryRunOf(verb, query.getAll('dryRun'));
  }

  /** The object as the client sees it: the requested version's apiVersion. */
  private out(r: ResourceDef, obj: any): any {
    const gv = groupVersion(r);
    return obj.apiVersion === gv ? obj : { ...obj, apiVersion: gv };
  }

  private wantsTable(req: IncomingMessage): boolean {
    const accept = req.headers.accept ?? '';
    return accept
      .split(',')
      .some((part) => part.includes('as=Table') && part.includes('g=meta.k8s.io') && part.includes('v=v1'));
  }

  private checkAcceptable(req: IncomingMessage): void {
    const accept = req.headers.accept;
    if (!accept) return;
    const types = accept.split(',').map((p) => mediaType(p));
    if (types.some((t) => t === 'application/json' || t === '*/*' || t === 'application/*' || t === ''))
      return;
    throw Errors.notAcceptable(
      `only the following media types are accepted: application/json, application/yaml`,
    );
  }

  private crdOf(r: ResourceDef): any {
    return this.registry.store.get(
      'apiextensions.k8s.io',
      'customresourcedefinitions',
      undefined,
      `${r.plural}.${r.group}`,
    );
  }

  private async handleResource(
    req: IncomingMessage,
    res: ServerResponse,
    route: ResourceRoute,
    verb: string,
    query: URLSearchParams,
  ): Promise<void> {
    const { r, namespace, name, sub } = route;
    const reg = this.registry;
    if (sub && !r.subresources.includes(sub)) throw Errors.noResource();
    // A verb the resource does not list in discovery (deletecollection on namespaces) has no route upstream.
    if (!sub && STANDARD_VERBS.includes(verb) && !r.verbs.includes(verb)) throw Errors.methodNotAllowed();
    if (sub === 'exec') throw Errors.badRequest('Upgrade request required');
    if (sub === 'log') {
      // Only what a Job runner printed; no other pod has a log here.
      const logText = reg.store.podLogs.get(`${namespace}/${name}`);
      if (logText === undefined)
        throw Errors.notImplemented('pods/log is not emulated by the nsbackup test cluster');
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(logText);
      return;
    }
    this.checkAcceptable(req);
    const raw = await readBody(req);
    if (sub === 'scale') return this.handleScale(req, res, route, verb, raw, query);
    const manager = managerName(query.get('fieldManager'), req.headers['user-agent']);
    const dryRun = ['create', 'update', 'patch'].includes(verb) ? this.dryRun(verb, query) : false;
    switch (verb) {
      case 'get': {
        if (sub && sub !== 'status') throw Errors.methodNotAllowed();
        const obj = reg.get(r, namespace, name!);
        if (this.wantsTable(req)) {
          return json(
            res,
            200,
            toTable(
              r,
              [obj],
              { resourceVersion: obj.metadata.resourceVersion },
              query.get('includeObject') ?? 'Metadata',
              this.crdOf(r),
            ),
          );
        }
        return json(res, 200, this.out(r, obj));
      }
      case 'list': {
        const page = listOptionsOf(query);
        const result = reg.list(r, namespace, {
          labelSelector: query.get('labelSelector') ?? undefined,
          fieldSelector: query.get('fieldSelector') ?? undefined,
          ...page,
        });
        const meta: any = { resourceVersion: result.resourceVersion };
        if (result.continue) meta.continue = result.continue;
        if (result.remainingItemCount !== undefined) meta.remainingItemCount = result.remainingItemCount;
        if (this.wantsTable(req)) {
          return json(
            res,
            200,
            toTable(r, result.items, meta, query.get('includeObject') ?? 'Metadata', this.crdOf(r)),
          );
        }
        // Typed lists of built-in kinds carry no apiVersion/kind per item; unstructured (custom) lists do.
        const items = r.custom
          ? result.items.map((o) => this.out(r, o))
          : result.items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
        return json(res, 200, { kind: `${r.kind}List`, apiVersion: groupVersion(r), metadata: meta, items });
      }
      case 'watch':
        return serveWatch(req, res, {
          store: reg.store,
          r,
          namespace,
          query,
          out: (o) => this.out(r, o),
          open: this.watches,
        });
      case 'create': {
        // A named path, or the all-namespaces path of a namespaced resource, only serves reads.
        if (name || (r.namespaced && !namespace)) throw Errors.methodNotAllowed();
        const body = await this.decodeBody(req, verb, raw);
        return json(res, 201, this.out(r, reg.create(r, namespace, body, { dryRun, manager })));
      }
      case 'update': {
        if (!name) throw Errors.methodNotAllowed();
        const body = await this.decodeBody(req, verb, raw);
        return json(
          res,
          200,
          this.out(r, reg.update(r, namespace, name, body, { dryRun, subresource: sub, manager })),
        );
      }
      case 'patch': {
        if (!name) throw Errors.methodNotAllowed();
        const type = this.patchType(req, r);
        let patch: any;
        try {
          patch = JSON.parse(raw.toString('utf8'));
        } catch (e) {
          throw Errors.badRequest(`error decoding patch: ${(e as Error).message}`);
        }
        return json(
          res,
          200,
          this.out(r, reg.patch(r, namespace, name, type, patch, { dryRun, subresource: sub, manager })),
        );
      }
      case 'delete': {
        if (sub) throw Errors.methodNotAllowed();
        const options = deleteOptionsOf(
          verb,
          raw.length ? await this.decodeBody(req, verb, raw) : undefined,
          query,
        );
        const { object, deleted } = reg.delete(r, namespace, name!, options);
        if (deleted && !r.custom) {
          return json(res, 200, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: {
              name,
              ...(r.group ? { group: r.group } : {}),
              kind: r.plural,
              uid: object.metadata.uid,
            },
          });
        }
        return json(res, 200, this.out(r, object));
      }
      case 'deletecollection': {
        if (r.namespaced && !namespace) throw Errors.methodNotAllowed();
        const options = deleteOptionsOf(
          verb,
          raw.length ? await this.decodeBody(req, verb, raw) : undefined,
          query,
        );
        const items = reg.deleteCollection(r, namespace, {
          labelSelector: query.get('labelSelector') ?? undefined,
          fieldSelector: query.get('fieldSelector') ?? undefined,
          dryRun: options.dryRun,
          orphan: options.orphan,
        });
        return json(res, 200, {
          kind: `${r.kind}List`,
          apiVersion: groupVersion(r),
          metadata: { resourceVersion: String(reg.store.resourceVersion) },
          items: items.map((o) => this.out(r, o)),
        });
      }
      default:
        throw Errors.methodNotAllowed();
    }
  }

  private async handleScale(
    req: IncomingMessage,
    res: ServerResponse,
    { r, namespace, name }: ResourceRoute,
    verb: string,
    raw: Buffer,
    query: URLSearchParams,
  ): Promise<void> {
    const opts = {
      dryRun: ['update', 'patch'].includes(verb) ? this.dryRun(verb, query) : false,
      manager: managerName(query.get('fieldManager'), req.headers['user-agent']),
    };
    switch (verb) {
      case 'get':
        return json(res, 200, toScale(this.registry.get(r, namespace, name!)));
      case 'update':
        return json(
          res,
          200,
          updateScale(this.registry, r, namespace, name!, await this.decodeBody(req, verb, raw), opts),
        );
      case 'patch': {
        let patch: any;
        try {
          patch = JSON.parse(raw.toString('utf8'));
        } catch (e) {
          throw Errors.badRequest(`error decoding patch: ${(e as Error).message}`);
        }
        return json(
          res,
          200,
          patchScale(this.registry, r, namespace, name!, this.patchType(req, r), patch, opts),
        );
      }
      default:
        throw Errors.methodNotAllowed();
    }
  }

  // ---- exec --------------------------------------------------------------------------------------

  private rawError(socket: Duplex, err: ApiError): void {
    const body = JSON.stringify(err.toStatus());
    socket.end(
      `HTTP/1.1 ${err.code} ${http.STATUS_CODES[err.code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = this.route(url.pathname);
    const verb = this.verbOf(req.method ?? 'GET', route, url.searchParams);
    const record: RequestRecord = {
      verb,
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      status: 0,
    };
    this.requests.push(record);
    socket.on('error', () => {});
    const fail = (err: ApiError) => {
      record.status = err.code;
      this.rawError(socket, err);
    };
    const fault = this.faults.decide(verb, url.pathname);
    if (fault) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.drop) return void socket.destroy();
      if (fault.status)
        return fail(
          fault.status === 429
            ? Errors.tooManyRequests(fault.retryAfterSeconds ?? 1)
            : statusForCode(fault.status),
        );
    }
    if (!this.authorized(req, url.pathname)) return fail(new ApiError(401, 'Unauthorized', 'Unauthorized'));
    if (route.type === 'error') return fail(route.error);
    if (
      route.type !== 'resource' ||
      route.route.sub !== 'exec' ||
      !route.route.r.subresources.includes('exec')
    ) {
      return fail(Errors.badRequest('the nsbackup emulator accepts connection upgrades only for pods/exec'));
    }
    if (req.method !== 'GET' && req.method !== 'POST') return fail(Errors.methodNotAllowed());
    try {
      const { exec, handler } = this.prepareExec(route.route, url.searchParams);
      record.status = 101;
      acceptExec(req, socket, head, exec, handler);
    } catch (e) {
      fail(e instanceof ApiError ? e : Errors.internal(String(e)));
    }
  }

  /** A validated exec request and the handler registered for its container (or one that fails loudly). */
  private prepareExec(route: ResourceRoute, q: URLSearchParams): { exec: ExecRequest; handler: ExecHandler } {
    const { r, namespace, name } = route;
    const exec = validateExec(namespace!, this.registry.get(r, namespace, name!), q);
    const key = `${namespace}/${name}/${exec.container}`;
    const handler =
      this.execHandlers.get(key) ??
      (async () => {
        throw new Error(
          `failed to exec in container: no exec handler is registered for ${key} in the nsbackup emulator (cluster.exec.register)`,
        );
      });
    return { exec, handler };
  }
}
