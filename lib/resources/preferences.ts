import { parseYamlDocuments } from './canonical.js';
import { matchesLabelSelector, parseLabelSelector, type LabelSelector } from './label-selector.js';
import { isJsonMap, parseApiVersion, type KubeObject } from './types.js';

/**
 * Restore preferences, from a YAML file (`nsbackup restore --preferences FILE`). Every field is optional:
 *
 * ```yaml
 * includeNamespaces: [shop]            # source namespaces; empty = all
 * excludeNamespaces: [shop-test]
 * includeResources: [Deployment.apps, ConfigMap, "*.cert-manager.io"]   # Kind.group; Kind = any group; * = any
 * excludeResources: [Secret]
 * includeApiPaths: [/api/v1/namespaces/shop/configmaps/]   # prefixes of the source API paths
 * excludeApiPaths: [/apis/apps/v1/namespaces/shop/deployments/old-]
 * labelSelector: "app=web,tier in (front,back),!legacy"
 * existing: skip                       # skip (default: create only, report the rest) | update
 * updatePaths: [/apis/apps/v1/]        # with `update`: only objects under these prefixes; empty = all
 * workloadsLast: [Deployment.apps, /apis/example.com/]  # restored last; resource patterns or path prefixes
 * rebindStorageClasses: [local-path]   # PVs of these classes are restored and their claims rebound
 * ```
 *
 * A PersistentVolume is only restored when its storage class is listed in `rebindStorageClasses`
 * (`""` for PVs without a class); every other claim gets a fresh volume from its StorageClass.
 */
export interface RestorePreferences {
  includeNamespaces: string[];
  excludeNamespaces: string[];
  includeResources: ResourcePattern[];
  excludeResources: ResourcePattern[];
  includeApiPaths: string[];
  excludeApiPaths: string[];
  labelSelector: LabelSelector;
  /** The selector as written, for reports. */
  labelSelectorText: string;
  existing: 'skip' | 'update';
  updatePaths: string[];
  workloadsLast: WorkloadMatcher;
  rebindStorageClasses: string[];
}

/** A resource type pattern: `group` undefined = any group; `kind` `*` = any kind (kinds match case-insensitively). */
export interface ResourcePattern {
  group?: string;
  kind: string;
}

export interface WorkloadMatcher {
  resources: ResourcePattern[];
  apiPaths: string[];
}

export const DEFAULT_WORKLOADS_LAST = [
  'Deployment.apps',
  'StatefulSet.apps',
  'DaemonSet.apps',
  'ReplicaSet.apps',
  'CronJob.batch',
  'Job.batch',
  'Pod',
];

/** An error in the preferences, naming the field (`excludeResources[1]: ...`). */
export class PreferencesError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`restore preferences: ${field}: ${message}`);
    this.name = 'PreferencesError';
  }
}

const FIELDS = [
  'includeNamespaces',
  'excludeNamespaces',
  'includeResources',
  'excludeResources',
  'includeApiPaths',
  'excludeApiPaths',
  'labelSelector',
  'existing',
  'updatePaths',
  'workloadsLast',
  'rebindStorageClasses',
];

/** Parses `Deployment.apps`, `ConfigMap`, `*.example.com`, `Widget.*`, `*`, or `{ group, kind }`. */
export function parseResourcePattern(value: unknown, field: string): ResourcePattern {
  if (isJsonMap(value)) {
    const kind = value.kind ?? '*';
    if (typeof kind !== 'string' || !kind)
      throw new PreferencesError(field, 'kind must be a non-empty string');
    if (value.group !== undefined && typeof value.group !== 'string') {
      throw new PreferencesError(field, 'group must be a string ("" for the core group)');
    }
    const group = value.group === '*' ? undefined : (value.group as string | undefined);
    return { kind, group };
  }
  if (typeof value !== 'string' || !value.trim()) {
    throw new PreferencesError(field, 'expected "Kind.group", "Kind", "*.group" or { group, kind }');
  }
  const text = value.trim();
  if (/[\s/]/.test(text))
    throw new PreferencesError(field, `"${text}" is not a resource pattern (Kind.group)`);
  const dot = text.indexOf('.');
  if (dot < 0) return { kind: text };
  const kind = text.slice(0, dot);
  const group = text.slice(dot + 1);
  if (!kind || !group) throw new PreferencesError(field, `"${text}" is not a resource pattern (Kind.group)`);
  return { kind, group: group === '*' ? undefined : group };
}

export function matchesResource(
  pattern: ResourcePattern,
  obj: Pick<KubeObject, 'apiVersion' | 'kind'>,
): boolean {
  const { group } = parseApiVersion(obj.apiVersion);
  if (pattern.group !== undefined && pattern.group !== group) return false;
  return pattern.kind === '*' || pattern.kind.toLowerCase() === obj.kind.toLowerCase();
}

function stringList(
  raw: Record<string, unknown>,
  field: string,
  check?: (item: string, at: string) => void,
): string[] {
  const value = raw[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PreferencesError(field, 'expected a list');
  return value.map((item, index) => {
    const at = `${field}[${index}]`;
    if (typeof item !== 'string') throw new PreferencesError(at, 'expected a string');
    check?.(item, at);
    return item;
  });
}

function checkApiPathPrefix(item: string, at: string): void {
  if (!/^\/(api|apis)(\/|$)/.test(item)) {
    throw new PreferencesError(at, `"${item}" is not an API path prefix (starts with /api/ or /apis/)`);
  }
}

function checkNotEmpty(item: string, at: string): void {
  if (!item.trim()) throw new PreferencesError(at, 'empty string');
}

function patternList(raw: Record<string, unknown>, field: string): ResourcePattern[] {
  const value = raw[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PreferencesError(field, 'expected a list');
  return value.map((item, index) => parseResourcePattern(item, `${field}[${index}]`));
}

function workloadMatcher(entries: unknown[], field: string): WorkloadMatcher {
  const matcher: WorkloadMatcher = { resources: [], apiPaths: [] };
  entries.forEach((entry, index) => {
    const at = `${field}[${index}]`;
    if (typeof entry === 'string' && entry.startsWith('/')) {
      checkApiPathPrefix(entry, at);
      matcher.apiPaths.push(entry);
    } else matcher.resources.push(parseResourcePattern(entry, at));
  });
  return matcher;
}

/** Validates parsed preferences (e.g. from JSON); `undefined`/`null` gives the defaults. */
export function validatePreferences(raw: unknown): RestorePreferences {
  if (raw === undefined || raw === null) raw = {};
  if (!isJsonMap(raw)) throw new PreferencesError('(top level)', 'expected a map of settings');
  for (const key of Object.keys(raw)) {
    if (!FIELDS.includes(key))
      throw new PreferencesError(key, `unknown setting (known: ${FIELDS.join(', ')})`);
  }
  const selectorText = raw.labelSelector ?? '';
  if (typeof selectorText !== 'string')
    throw new PreferencesError('labelSelector', 'expected a string like "app=web"');
  let labelSelector: LabelSelector;
  try {
    labelSelector = parseLabelSelector(selectorText);
  } catch (error) {
    throw new PreferencesError('labelSelector', (error as Error).message);
  }
  const existing = raw.existing ?? 'skip';
  if (existing !== 'skip' && existing !== 'update') {
    throw new PreferencesError('existing', `"${String(existing)}" is not one of skip, update`);
  }
  const updatePaths = stringList(raw, 'updatePaths', checkApiPathPrefix);
  if (updatePaths.length && existing !== 'update') {
    throw new PreferencesError('updatePaths', 'only meaningful with `existing: update`');
  }
  let workloadsLast: WorkloadMatcher;
  if (raw.workloadsLast === undefined || raw.workloadsLast === null) {
    workloadsLast = workloadMatcher(DEFAULT_WORKLOADS_LAST, 'workloadsLast');
  } else if (!Array.isArray(raw.workloadsLast)) {
    throw new PreferencesError('workloadsLast', 'expected a list of resource patterns or API path prefixes');
  } else workloadsLast = workloadMatcher(raw.workloadsLast, 'workloadsLast');

  return {
    includeNamespaces: stringList(raw, 'includeNamespaces', checkNotEmpty),
    excludeNamespaces: stringList(raw, 'excludeNamespaces', checkNotEmpty),
    includeResources: patternList(raw, 'includeResources'),
    excludeResources: patternList(raw, 'excludeResources'),
    includeApiPaths: stringList(raw, 'includeApiPaths', checkApiPathPrefix),
    excludeApiPaths: stringList(raw, 'excludeApiPaths', checkApiPathPrefix),
    labelSelector,
    labelSelectorText: selectorText,
    existing,
    updatePaths,
    workloadsLast,
    rebindStorageClasses: stringList(raw, 'rebindStorageClasses'),
  };
}

/** Parses and validates the preferences YAML; an empty file gives the defaults. */
export function parsePreferences(yamlText: string): RestorePreferences {
  let docs: unknown[];
  try {
    docs = parseYamlDocuments(yamlText, 'restore preferences');
  } catch (error) {
    throw new PreferencesError('(file)', (error as Error).message);
  }
  if (docs.length > 1) throw new PreferencesError('(file)', 'expected one YAML document');
  return validatePreferences(docs[0]);
}

export const defaultPreferences = (): RestorePreferences => validatePreferences({});

function describe(pattern: ResourcePattern): string {
  return pattern.group === undefined ? pattern.kind : `${pattern.kind}.${pattern.group || 'core'}`;
}

/** The namespace a preference filter sees: a Namespace object counts as its own namespace. */
function namespaceOf(obj: KubeObject): string | undefined {
  if (obj.kind === 'Namespace' && obj.apiVersion === 'v1') return obj.metadata.name;
  return obj.metadata.namespace;
}

/**
 * Why the preferences leave this object out of the restore, or `null` to restore it. `path` is the
 * object's API path in the backup (before any namespace mapping). Cluster-scoped objects are not
 * subject to the namespace filters.
 */
export function exclusionReason(obj: KubeObject, path: string, prefs: RestorePreferences): string | null {
  const namespace = namespaceOf(obj);
  if (namespace !== undefined) {
    if (prefs.includeNamespaces.length && !prefs.includeNamespaces.includes(namespace)) {
      return `namespace ${namespace} is not in includeNamespaces`;
    }
    if (prefs.excludeNamespaces.includes(namespace)) return `namespace ${namespace} is in excludeNamespaces`;
  }
  if (prefs.includeResources.length && !prefs.includeResources.some((p) => matchesResource(p, obj))) {
    return `${obj.kind} (${obj.apiVersion}) is not in includeResources`;
  }
  const excludedBy = prefs.excludeResources.find((p) => matchesResource(p, obj));
  if (excludedBy) return `${obj.kind} matches excludeResources ${describe(excludedBy)}`;
  if (prefs.includeApiPaths.length && !prefs.includeApiPaths.some((prefix) => path.startsWith(prefix))) {
    return 'API path is not under includeApiPaths';
  }
  const excludedPath = prefs.excludeApiPaths.find((prefix) => path.startsWith(prefix));
  if (excludedPath) return `API path is under excludeApiPaths ${excludedPath}`;
  if (!matchesLabelSelector(prefs.labelSelector, obj.metadata.labels)) {
    return `labels do not match ${prefs.labelSelectorText}`;
  }
  if (obj.kind === 'PersistentVolume' && obj.apiVersion === 'v1') {
    const storageClass = storageClassOf(obj);
    if (!prefs.rebindStorageClasses.includes(storageClass)) {
      return `PersistentVolume of storage class "${storageClass}" is not in rebindStorageClasses; its claim gets a new volume`;
    }
  }
  return null;
}

/** `spec.storageClassName` of a PV or PVC, `""` when none. */
export function storageClassOf(obj: KubeObject): string {
  const spec = isJsonMap(obj.spec) ? obj.spec : {};
  return typeof spec.storageClassName === 'string' ? spec.storageClassName : '';
}

/** With `existing: update`, whether an existing object at this path is updated to match the backup. */
export function shouldUpdateExisting(path: string, prefs: RestorePreferences): boolean {
  if (prefs.existing !== 'update') return false;
  return prefs.updatePaths.length === 0 || prefs.updatePaths.some((prefix) => path.startsWith(prefix));
}

/** Whether an object belongs to the last restore step. */
export function isWorkload(obj: KubeObject, path: string, matcher: WorkloadMatcher): boolean {
  return (
    matcher.resources.some((pattern) => matchesResource(pattern, obj)) ||
    matcher.apiPaths.some((prefix) => path.startsWith(prefix))
  );
}
