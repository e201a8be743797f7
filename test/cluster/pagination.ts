// Consistent paginated lists. A real server serves every page of a `limit`/`continue` list from the etcd
// revision of the first page; here the first page pins the list's objects (stored objects are never mutated,
// so a snapshot is an array of references) and later pages read that snapshot. Snapshots expire like etcd
// compaction does (5 minutes by default); an expired or unknown token gets 410 Expired.
import { randomUUID } from 'node:crypto';
import { Errors } from './status.js';

interface Snapshot {
  objects: any[];
  resourceVersion: number;
  expiresAt: number;
}

export interface ContinueToken {
  rv: number;
  start: string;
  snapshot: string;
  offset: number;
  /** The list the token came from (listScope). */
  scope: string;
}

/**
 * What a list is of: group, resource and namespace ('' for all namespaces or a cluster-scoped kind). A real
 * server's token only holds a key relative to the resource's prefix, so elsewhere it would quietly page
 * through another list from that key; the emulator's tokens point at a snapshot of one list, so it refuses
 * them anywhere else.
 */
export function listScope(r: { group: string; plural: string }, namespace: string | undefined): string {
  return `${r.group}/${r.plural}/${namespace ?? ''}`;
}

/** 400 unless the token came from a list of the same resource in the same namespace. */
export function checkContinueScope(token: ContinueToken, scope: string, raw: string): void {
  if (token.scope !== scope) {
    throw Errors.badRequest(
      `continue key is not valid: it was issued for the list ${token.scope}, not ${scope} (the nsbackup emulator serves a continue token only to the list it came from): ${raw}`,
    );
  }
}

const EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';

export class ListSnapshots {
  private snapshots = new Map<string, Snapshot>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly max = 256,
  ) {}

  open(objects: any[], resourceVersion: number): string {
    const id = randomUUID();
    this.snapshots.set(id, { objects, resourceVersion, expiresAt: Date.now() + this.ttlMs });
    // Oldest first out when too many lists are left half-read.
    while (this.snapshots.size > this.max) this.snapshots.delete(this.snapshots.keys().next().value!);
    return id;
  }

  /** The snapshot a token points at; 410 Expired when it is gone. */
  resume(token: ContinueToken): Snapshot {
    const snap = this.snapshots.get(token.snapshot);
    if (!snap || snap.expiresAt < Date.now()) {
      this.snapshots.delete(token.snapshot);
      throw Errors.gone(EXPIRED);
    }
    return snap;
  }

  close(id: string): void {
    this.snapshots.delete(id);
  }

  /** Forget every open list, as a compaction would. */
  expireAll(): void {
    this.snapshots.clear();
  }
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', ...token })).toString('base64url');
}

export function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      parsed.v !== 'meta.k8s.io/v1' ||
      typeof parsed.snapshot !== 'string' ||
      typeof parsed.scope !== 'string' ||
      !Number.isInteger(parsed.offset)
    ) {
      throw new Error('bad token');
    }
    return parsed;
  } catch {
    throw Errors.badRequest(`continue key is not valid: ${token}`);
  }
}
