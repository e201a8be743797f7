// Object storage: one map per group/resource, one cluster-wide resourceVersion counter (like etcd's
// revision), and change events that controllers and watches subscribe to.
import { EventEmitter } from 'node:events';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  type: ChangeType;
  group: string;
  resource: string;
  object: any;
  /** The object before a MODIFIED change. */
  previous?: any;
  resourceVersion: number;
}

interface Bucket {
  objects: Map<string, any>;
  sortedKeys: string[] | null; // cache, reset on add/remove
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Keeps the most recent changes so a watch can resume from a resourceVersion it was given. */
const HISTORY_LIMIT = 5000;

export class Store {
  /** What a Job runner printed, by `namespace/pod`: served as pods/log (other pods have none: 501). */
  readonly podLogs = new Map<string, string>();
  private buckets = new Map<string, Bucket>();
  private revision = 1;
  readonly events = new EventEmitter();
  readonly history: Change[] = [];

  constructor() {
    this.events.setMaxListeners(0);
  }

  get resourceVersion(): number {
    return this.revision;
  }

  nextResourceVersion(): string {
    this.revision += 1;
    return String(this.revision);
  }

  private bucket(group: string, resource: string): Bucket {
    const id = `${group}|${resource}`;
    let b = this.buckets.get(id);
    if (!b) {
      b = { objects: new Map(), sortedKeys: null };
      this.buckets.set(id, b);
    }
    return b;
  }

  get(group: string, resource: string, namespace: string | undefined, name: string): any | undefined {
    return this.bucket(group, resource).objects.get(objectKey(namespace, name));
  }

  /** Objects in key order (namespace/name), as etcd returns them; optionally one namespace only. */
  list(group: string, resource: string, namespace?: string): any[] {
    const b = this.bucket(group, resource);
    if (!b.sortedKeys) b.sortedKeys = [...b.objects.keys()].sort();
    const keys = b.sortedKeys;
    if (namespace === undefined) return keys.map((k) => b.objects.get(k));
    const prefix = `${namespace}/`;
    const out: any[] = [];
    let i = lowerBound(keys, prefix);
    for (; i < keys.length && keys[i].startsWith(prefix); i++) out.push(b.objects.get(keys[i]));
    return out;
  }

  /** Stores the object, stamping a fresh resourceVersion, and announces the change. */
  put(group: string, resource: string, obj: any): any {
    const b = this.bucket(group, resource);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const previous = b.objects.get(key);
    obj.metadata.resourceVersion = this.nextResourceVersion();
    b.objects.set(key, obj);
    if (!previous) b.sortedKeys = null;
    const type = previous ? 'MODIFIED' : 'ADDED';
    this.emit({ type, group, resource, object: obj, previous, resourceVersion: this.revision });
    return obj;
  }

  remove(group: string, resource: string, namespace: string | undefined, name: string): any | undefined {
    const b = this.bucket(group, resource);
    const key = objectKey(namespace, name);
    const obj = b.objects.get(key);
    if (!obj) return undefined;
    b.objects.delete(key);
    b.sortedKeys = null;
    // A deletion is a write too: the deleted object carries the revision of its removal. A copy, because
    // stored objects are never mutated (list snapshots hold references to them).
    const gone = { ...obj, metadata: { ...obj.metadata, resourceVersion: this.nextResourceVersion() } };
    this.emit({ type: 'DELETED', group, resource, object: gone, resourceVersion: this.revision });
    return gone;
  }

  /** Every group/resource that holds objects. */
  resources(): { group: string; resource: string }[] {
    return [...this.buckets.keys()].map((id) => {
      const [group, resource] = id.split('|');
      return { group, resource };
    });
  }

  dropResource(group: string, resource: string): void {
    for (const obj of this.list(group, resource))
      this.remove(group, resource, obj.metadata.namespace, obj.metadata.name);
    this.buckets.delete(`${group}|${resource}`);
  }

  private emit(change: Change): void {
    this.history.push(change);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    this.events.emit('change', change);
  }
}

export function lowerBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
