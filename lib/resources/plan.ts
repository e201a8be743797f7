import { exclusionContextOf, regeneratedReason, withoutTokenSecretRefs } from './exclusions.js';
import { restoreSteps, type RestoreStep } from './order.js';
import { exclusionReason, shouldUpdateExisting, type RestorePreferences } from './preferences.js';
import { parseApiPath } from './resource-info.js';
import { prepareForRestore, type RestoreTransformOptions } from './transform.js';
import type { KubeObject, PathedObject } from './types.js';

/**
 * The whole decision side of a restore, as one pure function: which objects are left out and why,
 * what each remaining object looks like on its way in, where it goes, and in which step. The restore
 * command then only has to create (or, where `update` applies, update) each step's objects.
 */
export interface PlannedObject extends PathedObject {
  /** The API path in the backup. */
  path: string;
  /** The object as it is to be created (mapped, transformed, labelled). */
  object: KubeObject;
  /** The API path in the target cluster (the namespace mapped). */
  targetPath: string;
  /** What to do when the object already exists: leave it (`skip`) or make it match (`update`). */
  ifExists: 'skip' | 'update';
}

export interface RestorePlan {
  steps: RestoreStep<PlannedObject>[];
  excluded: { path: string; reason: string }[];
  /** Number of objects to create or update. */
  objectCount: number;
}

/** The API path with its namespace mapped (also the name of a Namespace object). */
export function mapApiPath(path: string, mapping: Record<string, string>): string {
  const parts = parseApiPath(path);
  const map = (ns: string) => (Object.prototype.hasOwnProperty.call(mapping, ns) ? mapping[ns] : ns);
  const root = parts.group ? `/apis/${parts.group}/${parts.version}` : `/api/${parts.version}`;
  if (parts.namespace !== undefined) {
    return `${root}/namespaces/${encodeURIComponent(map(parts.namespace))}/${parts.resource}/${encodeURIComponent(parts.name)}`;
  }
  const name = !parts.group && parts.resource === 'namespaces' ? map(parts.name) : parts.name;
  return `${root}/${parts.resource}/${encodeURIComponent(name)}`;
}

export function planRestore(
  items: PathedObject[],
  prefs: RestorePreferences,
  options: Omit<RestoreTransformOptions, 'rebindStorageClasses'>,
): RestorePlan {
  const context = exclusionContextOf(items.map((item) => item.object));
  const mapping = options.namespaceMapping ?? {};
  const excluded: RestorePlan['excluded'] = [];
  const planned: PlannedObject[] = [];
  for (const item of items) {
    // A backup never holds regenerated objects, but an export folder edited by hand might.
    const reason = regeneratedReason(item.object, context) ?? exclusionReason(item.object, item.path, prefs);
    if (reason) {
      excluded.push({ path: item.path, reason });
      continue;
    }
    planned.push({
      path: item.path,
      // An export folder may hold the token Secrets (left out just above) that a ServiceAccount names.
      object: prepareForRestore(withoutTokenSecretRefs(item.object, context), {
        ...options,
        rebindStorageClasses: prefs.rebindStorageClasses,
      }),
      targetPath: mapApiPath(item.path, mapping),
      ifExists: shouldUpdateExisting(item.path, prefs) ? 'update' : 'skip',
    });
  }
  const steps = restoreSteps(planned, { workloadsLast: prefs.workloadsLast });
  return { steps, excluded, objectCount: planned.length };
}
