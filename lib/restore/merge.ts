// Objects the cluster creates by itself before any restore can (a namespace's `default` ServiceAccount, made by
// its controller the moment the namespace exists) would otherwise always be "already there", and what the backup
// adds to them silently lost: pods then fail with ImagePullBackOff while the restore reports success. For those,
// `existing: skip` still merges in what the backup has and the live object lacks, never changing or removing
// what is live.

import { isJsonMap, type JsonMap, type KubeObject } from '../resources/index.js';

export interface Merge {
  /** The live object with the backup's additions (carries the live resourceVersion). */
  body: KubeObject;
  /** What was added, for the report: `imagePullSecrets regcred`, `label team`. */
  added: string[];
}

/** Objects the cluster itself creates in every namespace, which a restore merges into instead of skipping. */
export function isMergedOnRestore(obj: KubeObject): boolean {
  return obj.apiVersion === 'v1' && obj.kind === 'ServiceAccount' && obj.metadata.name === 'default';
}

/** nsbackup's own labels and annotations (which backup an object came from) are bookkeeping, never a reason to write. */
const isOwnKey = (key: string) => key.startsWith('nsbackup.io/');

function addMissingKeys(
  kind: string,
  backup: unknown,
  live: JsonMap | undefined,
  added: string[],
): JsonMap | undefined {
  if (!isJsonMap(backup)) return live;
  const out: JsonMap = { ...(live ?? {}) };
  for (const [key, value] of Object.entries(backup)) {
    if (out[key] !== undefined || isOwnKey(key)) continue;
    out[key] = value;
    added.push(`${kind} ${key}`);
  }
  return Object.keys(out).length ? out : live;
}

/** What merging the backup's ServiceAccount into the live one changes, or undefined when nothing. */
export function mergeServiceAccount(backup: KubeObject, live: KubeObject): Merge | undefined {
  const added: string[] = [];
  const body = structuredClone(live);
  delete body.metadata.managedFields;
  const labels = addMissingKeys('label', backup.metadata.labels, live.metadata.labels, added);
  const annotations = addMissingKeys(
    'annotation',
    backup.metadata.annotations,
    live.metadata.annotations,
    added,
  );
  if (labels) body.metadata.labels = labels as Record<string, string>;
  if (annotations) body.metadata.annotations = annotations as Record<string, string>;
  const wanted = Array.isArray(backup.imagePullSecrets) ? backup.imagePullSecrets.filter(isJsonMap) : [];
  const have = Array.isArray(live.imagePullSecrets) ? live.imagePullSecrets.filter(isJsonMap) : [];
  const haveNames = new Set(have.map((ref) => ref.name));
  const missing = wanted.filter((ref) => !haveNames.has(ref.name));
  if (missing.length) {
    body.imagePullSecrets = [...have, ...missing];
    added.push(`imagePullSecrets ${missing.map((ref) => String(ref.name)).join(',')}`);
  }
  if (backup.automountServiceAccountToken !== undefined && live.automountServiceAccountToken === undefined) {
    body.automountServiceAccountToken = backup.automountServiceAccountToken;
    added.push('automountServiceAccountToken');
  }
  return added.length ? { body, added } : undefined;
}
