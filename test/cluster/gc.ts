// Bookkeeping for the garbage collector: which objects name which owners (by uid), and which uids are alive.
// The collector itself (in controllers.ts) deletes dependents whose owners are all gone, or strips the
// owner reference when the owner was deleted with propagationPolicy=Orphan.
import type { Change } from './store.js';

export interface ObjectRef {
  group: string;
  resource: string;
  namespace: string | undefined;
  name: string;
}

const refKey = (r: ObjectRef) => `${r.group}|${r.resource}|${r.namespace ?? ''}|${r.name}`;

export class OwnerIndex {
  private dependents = new Map<string, Map<string, ObjectRef>>();
  private live = new Set<string>();

  observe(c: Change): void {
    const meta = c.object.metadata;
    const ref: ObjectRef = {
      group: c.group,
      resource: c.resource,
      namespace: meta.namespace,
      name: meta.name,
    };
    const key = refKey(ref);
    for (const o of c.previous?.metadata.ownerReferences ?? []) this.dependents.get(o.uid)?.delete(key);
    if (c.type === 'DELETED') {
      this.live.delete(meta.uid);
      for (const o of meta.ownerReferences ?? []) this.dependents.get(o.uid)?.delete(key);
      return;
    }
    this.live.add(meta.uid);
    for (const o of meta.ownerReferences ?? []) {
      let set = this.dependents.get(o.uid);
      if (!set) this.dependents.set(o.uid, (set = new Map()));
      set.set(key, ref);
    }
  }

  dependentsOf(uid: string): ObjectRef[] {
    return [...(this.dependents.get(uid)?.values() ?? [])];
  }

  alive(uid: string): boolean {
    return this.live.has(uid);
  }

  /** Owner uids that still have dependents on record but no longer exist. */
  deadOwners(): string[] {
    return [...this.dependents.keys()].filter((uid) => !this.live.has(uid));
  }

  forget(uid: string): void {
    this.dependents.delete(uid);
  }
}
