// Watch streams (`?watch=true`): newline-delimited JSON events, resumable from a resourceVersion still in the
// store's change history (older ones get an ERROR event with 410 Expired, as after etcd compaction).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResourceDef } from './resources.js';
import {
  checkFieldSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from './selectors.js';
import { Errors } from './status.js';
import type { Change, Store } from './store.js';

export interface WatchContext {
  store: Store;
  r: ResourceDef;
  namespace: string | undefined;
  query: URLSearchParams;
  /** The object as the client sees it (requested version). */
  out: (obj: any) => any;
  /** Open watch responses, ended when the server closes. */
  open: Set<ServerResponse>;
}

export function serveWatch(req: IncomingMessage, res: ServerResponse, ctx: WatchContext): void {
  const { store, r, query } = ctx;
  let labels;
  let fields;
  try {
    labels = parseLabelSelector(query.get('labelSelector') ?? '');
    fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    checkFieldSelector(r.kind, fields);
  } catch (e) {
    if (e instanceof SelectorError) throw Errors.badRequest(e.message);
    throw e;
  }
  const ns = r.namespaced ? ctx.namespace : undefined;
  const matches = (o: any) =>
    (ns === undefined || o.metadata.namespace === ns) &&
    matchesLabels(labels, o.metadata.labels) &&
    matchesFields(r.kind, fields, o);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders(); // clients wait for the headers before they report the watch as open
  ctx.open.add(res);
  const send = (type: string, obj: any) => res.write(`${JSON.stringify({ type, object: ctx.out(obj) })}\n`);
  // A filtered watch sees an object enter (ADDED) or leave (DELETED) its selection, as the watch cache reports.
  const deliver = (c: Change) => {
    if (c.group !== r.group || c.resource !== r.plural) return;
    const selected = matches(c.object);
    if (c.type !== 'MODIFIED') return void (selected && send(c.type, c.object));
    const before = c.previous !== undefined && matches(c.previous);
    if (selected) send(before ? 'MODIFIED' : 'ADDED', c.object);
    else if (before) send('DELETED', c.object);
  };
  const rv = query.get('resourceVersion');
  if (!rv || rv === '0') {
    // Without a resourceVersion a watch starts with the current state, as synthetic ADDED events.
    for (const o of store.list(r.group, r.plural, ns)) if (matches(o)) send('ADDED', o);
  } else {
    const from = Number(rv);
    const oldest = store.history[0]?.resourceVersion ?? store.resourceVersion + 1;
    if (from + 1 < oldest && from < store.resourceVersion) {
      const status = Errors.gone(`too old resource version: ${rv} (${oldest - 1})`).toStatus();
      res.write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      ctx.open.delete(res);
      res.end();
      return;
    }
    for (const c of store.history) if (c.resourceVersion > from) deliver(c);
  }
  store.events.on('change', deliver);
  const stop = () => {
    store.events.off('change', deliver);
    clearTimeout(timer);
    ctx.open.delete(res);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(stop, Number(query.get('timeoutSeconds') ?? 1800) * 1000);
  req.on('close', stop);
  res.on('close', stop);
}
