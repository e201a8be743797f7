// Carries out a restore plan against a cluster: step by step, with bounded parallelism within a step; every
// object created (never overwritten unless the preferences say `update`), and every outcome recorded in the
// report. Running it again after an interruption completes the restore: what exists is skipped and reported.

import { forEachLimited, sleep } from '../concurrency.js';
import { JobError } from '../exit.js';
import {
  isAlreadyExists,
  isConflict,
  isForbidden,
  isNotFound,
  outcomeUnknown,
  type KubeClient,
} from '../kube/index.js';
import { Labels } from '../labels.js';
import type { Logger } from '../log.js';
import { isJsonMap, parseApiPath, withoutTakenNodePorts, type KubeObject } from '../resources/index.js';
import { describeEntry, type PlannedObject, type RestorePlan } from './plan.js';
import { cutError, type ReportEntry, type RestoreReport } from './report.js';
import { isMergedOnRestore, mergeServiceAccount } from './merge.js';
import { bodyForUpdate, matchesLive } from './update.js';

const CRD_STEP = 'CustomResourceDefinition.apiextensions.k8s.io';
/** Tries of one create whose outcome was unknown (5xx, a connection broken after sending) and was not stored. */
const UNKNOWN_CREATE_ATTEMPTS = 4;

/**
 * Whether a live object is the one this restore sent: it carries the same restored-from label (the backup's id).
 * Without that label on what we sent, nothing proves it: the object counts as one that already existed.
 */
function isThisRestores(live: { metadata?: { labels?: Record<string, string> } }, sent: KubeObject): boolean {
  const label = sent.metadata?.labels?.[Labels.restoredFrom];
  return label !== undefined && live.metadata?.labels?.[Labels.restoredFrom] === label;
}
/** Where a dry run checks objects bound for a namespace that does not exist yet: there on every cluster. */
export const DRY_RUN_STAND_IN = 'default';
const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

export interface ApplyOptions {
  kube: KubeClient;
  log: Logger;
  dryRun: boolean;
  concurrency: number;
  crdTimeoutMs: number;
  signal?: AbortSignal;
  /** Between polls of a CRD's condition (tests shorten it). */
  pollMs?: number;
  /** Runs once the claims exist and before the workloads (volume data restored into the new claims). */
  beforeWorkloads?: () => Promise<void>;
}

/** `<plural>.<group>` of a custom resource path: the name of its CRD. */
function crdNameOfPath(path: string): string | undefined {
  const parts = parseApiPath(path);
  return parts.group ? `${parts.resource}.${parts.group}` : undefined;
}

function isEstablished(crd: KubeObject | undefined): boolean {
  const conditions =
    isJsonMap(crd?.status) && Array.isArray(crd.status.conditions) ? crd.status.conditions : [];
  return conditions.some((c) => isJsonMap(c) && c.type === 'Established' && c.status === 'True');
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return cutError(typeof code === 'number' ? `${code}: ${e.message}` : e.message);
  }
  return cutError(String(e));
}

export async function applyPlan(
  plan: RestorePlan,
  report: RestoreReport,
  options: ApplyOptions,
): Promise<void> {
  const { kube, log, dryRun } = options;
  const query = dryRun ? { dryRun: 'All' } : undefined;
  /** Dry run: namespaces and CRDs that do not exist yet, so the server cannot check what goes into them. */
  const missingNamespaces = new Set<string>();
  const missingCrds = new Set<string>();
  /** CRDs the restore created: their resources may take a moment to be served. */
  const restoredCrds = new Set<string>();
  const entryOf = (item: PlannedObject): ReportEntry => ({
    ...describeEntry(item.targetPath, item.object, item.added ? undefined : item.path),
    ...(item.added ? { reason: `added by the restore: ${item.added}` } : {}),
  });

  const update = async (item: PlannedObject): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const live = await kube.get<KubeObject>(item.targetPath);
      const body = bodyForUpdate(item.object, live);
      if (matchesLive(body, live)) {
        report.alreadyExisted.push({ ...entryOf(item), reason: 'identical to the backup' });
        return;
      }
      try {
        await kube.request('PUT', item.targetPath, { body, query });
        report.updated.push(entryOf(item));
        return;
      } catch (e) {
        // Someone wrote it between our read and our write: read again (bounded).
        if (!isConflict(e) || attempt >= 3) throw e;
      }
    }
  };

  /** `existing: skip` on an object the cluster made itself: add what the backup has and the live one lacks. */
  const merge = async (item: PlannedObject): Promise<boolean> => {
    for (let attempt = 1; ; attempt++) {
      const live = await kube.get<KubeObject>(item.targetPath);
      const merged = mergeServiceAccount(item.object, live);
      if (!merged) return false;
      try {
        await kube.request('PUT', item.targetPath, { body: merged.body, query });
        report.updated.push({
          ...entryOf(item),
          reason: `merged into the existing object: ${merged.added.join('; ')}`,
        });
        return true;
      } catch (e) {
        if (!isConflict(e) || attempt >= 3) {
          throw new Error(
            `exists, and adding ${merged.added.join('; ')} from the backup failed: ${errorText(e)}`,
          );
        }
      }
    }
  };

  /** Why an object was created other than as the backup has it (a node port taken), for its report entry. */
  const createdAs = new Map<PlannedObject, string>();

  const create = async (
    item: PlannedObject,
    { standIn = false }: { standIn?: boolean } = {},
  ): Promise<'created' | 'exists'> => {
    let body = item.object;
    // A restore Job in the cluster has a namespaced Role: it may read its own Namespace but never create one, so
    // look before creating (otherwise an existing namespace would be a 403 failure).
    if (item.object.kind === 'Namespace' && (await kube.getIfExists(item.targetPath))) return 'exists';
    let lastUnknown = false;
    for (let attempt = 1; ; attempt++) {
      try {
        await kube.create(item.collectionPath, body, query);
        return 'created';
      } catch (e) {
        if (isAlreadyExists(e)) {
          // In a stand-in namespace a name already taken says nothing about the object: the server validated and
          // admitted it before it looked for the name.
          if (standIn) return 'created';
          // On the retry of a create whose outcome was unknown, the one stored may be the first attempt's.
          if (lastUnknown && !dryRun) {
            const live = await kube.getIfExists(item.targetPath).catch(() => undefined);
            if (live && isThisRestores(live, body)) return 'created';
          }
          return 'exists';
        }
        // A real API server checks authorization (RBAC escalation for a Role, say) before it looks for the name: an
        // object that is already there may come back 403, not 409. It exists: skipped, like any existing object.
        if (!standIn && isForbidden(e) && (await kube.getIfExists(item.targetPath).catch(() => undefined)))
          return 'exists';
        // A node port the backup chose is taken (by the original, restored next to it): a Service on other ports
        // beats no Service; the report says which ports changed.
        const retaken =
          e instanceof Error && (e as { code?: unknown }).code === 422 && attempt < 3
            ? withoutTakenNodePorts(body, e.message)
            : undefined;
        if (retaken) {
          body = retaken.service;
          const note = `node port ${retaken.taken.join(', ')} already allocated: created with ports the API server chose`;
          createdAs.set(item, createdAs.has(item) ? `${createdAs.get(item)}; ${note}` : note);
          continue;
        }
        const crd = crdNameOfPath(item.targetPath);
        // A CRD just established may not be served for a moment on a real API server.
        if (isNotFound(e) && crd && restoredCrds.has(crd) && attempt < 10) {
          await sleep(options.pollMs ?? 500);
          continue;
        }
        // A server error, or a connection that broke after the create was sent: it may or may not have been stored.
        // Look: there and ours (this restore's restored-from label), it was this create; not there, send it again.
        // A dry run stores nothing, so it is simply sent again.
        if (outcomeUnknown(e) && attempt < UNKNOWN_CREATE_ATTEMPTS) {
          if (!dryRun) {
            const live = await kube.getIfExists(item.targetPath);
            if (live) return isThisRestores(live, body) ? 'created' : 'exists';
          }
          lastUnknown = true;
          await sleep(Math.round(250 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
          continue;
        }
        throw e;
      }
    }
  };

  /**
   * Dry run into a namespace the restore would create: the server cannot take a dry-run create there (the namespace
   * does not exist), so the object is sent, dry run, into a namespace that does exist. Validation, defaulting,
   * admission and node-port allocation are the server's own; what the stand-in cannot show is named in the report.
   */
  const checkInStandIn = async (item: PlannedObject, namespace: string): Promise<void> => {
    const into = (path: string) =>
      path.replace(`/namespaces/${namespace}/`, `/namespaces/${DRY_RUN_STAND_IN}/`);
    // Both paths name the namespace as a segment with more after it (`/namespaces/<ns>/<resource>[/<name>]`).
    const shadow: PlannedObject = {
      ...item,
      object: { ...item.object, metadata: { ...item.object.metadata, namespace: DRY_RUN_STAND_IN } },
      collectionPath: into(item.collectionPath),
      targetPath: into(item.targetPath),
    };
    const checked = `checked in namespace ${DRY_RUN_STAND_IN} (namespace ${namespace} is created by the restore)`;
    try {
      await create(shadow, { standIn: true });
      const note = createdAs.get(shadow);
      report.created.push({ ...entryOf(item), reason: note ? `${checked}; ${note}` : checked });
    } catch (e) {
      // Refused where it was only a stand-in: no right to write there, nothing learned about the object.
      if (isForbidden(e)) {
        report.notChecked.push({
          ...entryOf(item),
          reason: `namespace ${namespace} is created by the restore, and a dry run in ${DRY_RUN_STAND_IN} was refused: ${errorText(e)}`,
        });
      } else report.failed.push({ ...entryOf(item), error: errorText(e) });
    }
  };

  const restoreOne = async (item: PlannedObject): Promise<void> => {
    const namespace = item.object.metadata.namespace;
    const crd = crdNameOfPath(item.targetPath);
    if (dryRun && crd && missingCrds.has(crd)) {
      report.notChecked.push({ ...entryOf(item), reason: `CRD ${crd} is created by the restore` });
      return;
    }
    if (dryRun && namespace && missingNamespaces.has(namespace)) {
      await checkInStandIn(item, namespace);
      return;
    }
    try {
      const outcome = await create(item);
      if (outcome === 'created') {
        const note = createdAs.get(item);
        report.created.push(note ? { ...entryOf(item), reason: note } : entryOf(item));
        if (note)
          report.warnings.push(
            `${describeEntry(item.targetPath, item.object).kind} ${item.object.metadata.name}: ${note}`,
          );
        if (dryRun && item.object.kind === 'Namespace') missingNamespaces.add(item.object.metadata.name!);
        if (item.object.kind === 'CustomResourceDefinition') {
          (dryRun ? missingCrds : restoredCrds).add(item.object.metadata.name!);
        }
        return;
      }
      // An existing Namespace is never rewritten (as Velero): its labels and annotations are often the platform's
      // (pod security, quotas, network policy selectors), and a restore Job's namespaced Role may not update it.
      if (item.ifExists === 'update' && item.object.kind !== 'Namespace') await update(item);
      else if (isMergedOnRestore(item.object) && (await merge(item))) return;
      else
        report.alreadyExisted.push({
          ...entryOf(item),
          reason:
            item.added || item.object.kind === 'Namespace'
              ? 'exists (an existing namespace is never changed)'
              : 'skip (existing: skip)',
        });
    } catch (e) {
      report.failed.push({ ...entryOf(item), error: errorText(e) });
    }
  };

  const total = plan.steps.reduce((n, step) => n + step.items.length, 0);
  const progress = log.progress(dryRun ? 'restore (dry run)' : 'restore', { unit: 'objects', total });
  const restoreCounted = async (item: PlannedObject) => {
    await restoreOne(item);
    progress.add(1);
  };
  try {
    await applySteps(plan, options, restoreCounted);
  } finally {
    progress.done();
  }
  if (options.signal?.aborted) {
    throw new JobError(
      'restore stopped before it finished; run it again to complete it (existing objects are skipped)',
    );
  }
}

/** The plan's steps in order, each with bounded parallelism; CRDs the restore created are Established before the next. */
async function applySteps(
  plan: RestorePlan,
  options: ApplyOptions,
  restoreOne: (item: PlannedObject) => Promise<void>,
): Promise<void> {
  const { log, dryRun } = options;
  let workloadsReached = false;
  for (const step of plan.steps) {
    if (options.signal?.aborted) break;
    if (step.name === 'workloads' && !workloadsReached) {
      workloadsReached = true;
      await options.beforeWorkloads?.();
    }
    const started = Date.now();
    await forEachLimited(step.items, options.concurrency, restoreOne, options.signal);
    log.info('restore step done', { step: step.name, objects: step.items.length, ms: Date.now() - started });
    if (step.name === CRD_STEP && !dryRun) await waitForCrds(step.items, options);
  }
  if (!workloadsReached && !options.signal?.aborted) await options.beforeWorkloads?.();
}

/** Waits until every CRD of the step that exists is Established (a failed one is in the report already). */
async function waitForCrds(items: PlannedObject[], options: ApplyOptions): Promise<void> {
  const deadline = Date.now() + options.crdTimeoutMs;
  for (const item of items) {
    const name = item.object.metadata.name!;
    for (;;) {
      const crd = await options.kube.getIfExists<KubeObject>(`${CRD_PATH}/${encodeURIComponent(name)}`);
      if (!crd || isEstablished(crd)) break;
      if (Date.now() > deadline) {
        throw new JobError(
          `CustomResourceDefinition ${name} is not Established after ${options.crdTimeoutMs} ms`,
        );
      }
      await sleep(options.pollMs ?? 500);
    }
  }
}
