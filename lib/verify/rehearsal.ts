// `nsbackup verify --level rehearsal` in a cluster: the scratch namespace created (never one nsbackup did not make),
// the backup restored into it by the restore library (its objects in their rehearsal form: nothing runs), the restored
// namespace compared with the backup by diff's logic, and the namespace ALWAYS deleted and awaited: on success, on
// failure and when the run is stopped. The decisions are in rehearsal-plan.ts.
import { diffObjects, parseApiPath, type KubeObject, type PathedObject } from '../resources/index.js';
import {
  discover,
  liveObjects,
  maskSecretValues,
  pathOfFromDiscovery,
  reportDiscovery,
} from '../export/index.js';
import type { RehearsalVerification } from './integrity.js';
import { KubeApiError, type KubeClient } from '../kube/index.js';
import type { Logger } from '../log.js';
import { loadConfig } from '../config/index.js';
import { runRestore, type RestoreConfig } from '../restore/restore.js';
import { restoreSettings } from '../restore/settings.js';
import type { RestoreReport } from '../restore/report.js';
import type { S3Store } from '../s3/index.js';
import type { EncryptionKey } from '../crypto/index.js';
import { readBackupObjects } from '../export/s3-export.js';
import type { BackupManifest } from '../resources/index.js';
import {
  comparableForm,
  differencesOf,
  namespaceVerdict,
  rehearsalItems,
  rehearsalNamespaceObject,
} from './rehearsal-plan.js';

export interface RehearsalInput {
  kube: KubeClient;
  log: Logger;
  store: S3Store;
  /** The restore's settings: the backup (an id, not latest), its source and key; the rehearsal sets the rest. */
  restoreConfig: RestoreConfig;
  sourceNamespace: string;
  backupId: string;
  scratchNamespace: string;
  /** The backup's objects, by API path in the backup (what the comparison's backup side is). */
  backupObjects: PathedObject[];
  /** The backup left Secrets out on purpose: they are left out of the live side too. */
  secretsLeftOut: boolean;
  /** How long the scratch namespace may take to go away (its finalizers); a stopped run waits at most 20 s. */
  deleteTimeoutMs: number;
  pollMs?: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
}

/** `plural.group` (`plural` for the core group) of an object's API path, as collect names types. */
function typeOfPath(path: string): string {
  const p = parseApiPath(path);
  return p.group ? `${p.resource}.${p.group}` : p.resource;
}

const NS_PATH = (name: string) => `/api/v1/namespaces/${encodeURIComponent(name)}`;
/** A stopped run has its pod's grace period (30 s by default) to finish: the deletion is asked, not awaited long. */
const STOPPED_DELETE_WAIT_MS = 20_000;

/** Deletes the namespace and polls until it is gone (true), or the time is up (false: it goes away by itself). */
async function deleteNamespace(input: RehearsalInput, name: string, timeoutMs: number): Promise<boolean> {
  const { kube, log } = input;
  const sleep = input.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  try {
    await kube.delete(NS_PATH(name), { propagationPolicy: 'Background' });
  } catch (e) {
    if (!(e instanceof KubeApiError && e.code === 404)) throw e;
  }
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (!(await kube.getIfExists(NS_PATH(name)))) {
      log.info('rehearsal namespace deleted', { namespace: name });
      return true;
    }
    if (Date.now() > deadline) {
      log.error('the rehearsal namespace is still being deleted; it goes away by itself', {
        namespace: name,
        waitedSeconds: Math.round(timeoutMs / 1000),
      });
      return false;
    }
    await sleep(Math.min(input.pollMs ?? 1000, 100 * 2 ** attempt));
  }
}

/** Backup vs. the restored namespace: diff's comparison, backup side in rehearsal form, the namespace name mapped. */
async function compare(input: RehearsalInput, report: RestoreReport) {
  const { kube, log } = input;
  const resources = reportDiscovery(await discover(kube), log);
  const pathOf = pathOfFromDiscovery(resources);
  // What the restore leaves out by design (regenerated, not restorable) is reported as such, not as missing.
  const excluded = new Set(report.excluded.map((e) => e.path));
  const unreadable: string[] = [];
  const live = await liveObjects({
    kube,
    namespace: input.scratchNamespace,
    resources,
    clusterDependencies: false,
    exclude: input.secretsLeftOut ? ['secrets'] : [],
    signal: input.signal,
    unreadable,
  });
  // A type the verify may create but not read back (the chart grants Secrets create only: reading them would be
  // every Secret of the cluster) is not compared; the restore report still says whether each was created.
  const restored = rehearsalItems(input.backupObjects).filter((item) => !excluded.has(item.path));
  // Only the types the backup holds: the others (events, leases, ...) have nothing to compare.
  const held = new Set(restored.map((item) => typeOfPath(item.path)));
  const notCompared = new Set(unreadable.filter((type) => held.has(type)));
  const backupSide = restored.filter((item) => !notCompared.has(typeOfPath(item.path)));
  const liveSide = rehearsalItems(live.filter((item) => item.object.kind !== 'Namespace'));
  const result = diffObjects(
    backupSide.map((item) => maskSecretValues(comparableForm(item.object))),
    // The live side is put in rehearsal form too: a no-op on what the restore wrote, and the same canonical shape.
    liveSide.map((item) => maskSecretValues(comparableForm(item.object))),
    { pathOf, namespaceMapping: { [input.sourceNamespace]: input.scratchNamespace } },
  );
  return {
    result,
    // Cluster-scoped objects the rehearsal leaves out, and what the restore excludes by design.
    notRestored: input.backupObjects.length - rehearsalItems(input.backupObjects).length + excluded.size,
    notCompared: [...notCompared].sort(),
  };
}

export async function rehearse(input: RehearsalInput): Promise<RehearsalVerification> {
  const { kube, log, scratchNamespace: name } = input;
  const started = performance.now();
  const verifiedAt = (input.now ?? (() => new Date()))().toISOString();
  const base = {
    verifiedAt,
    namespace: name,
    objectsRestored: 0,
    failed: [] as RehearsalVerification['failed'],
    notRestored: 0,
    differences: [] as RehearsalVerification['differences'],
    equal: 0,
  };
  const elapsed = () => Math.round(performance.now() - started);

  const verdict = namespaceVerdict(
    name,
    await kube.getIfExists<KubeObject>(NS_PATH(name)),
    input.sourceNamespace,
  );
  if (verdict.use === 'refuse') {
    // Nothing was created and nothing is deleted: the namespace is someone else's.
    return { ...base, ok: false, namespaceDeleted: false, durationMs: elapsed(), problem: verdict.reason };
  }
  if (verdict.use === 'replace') {
    log.warn(verdict.reason, { namespace: name });
    if (!(await deleteNamespace(input, name, input.deleteTimeoutMs)))
      return {
        ...base,
        ok: false,
        namespaceDeleted: false,
        durationMs: elapsed(),
        problem: `namespace ${name}, left by an earlier rehearsal, is still being deleted`,
      };
  }

  const fromBackup = input.backupObjects.find(
    (item) => item.object.kind === 'Namespace' && item.object.metadata.name === input.sourceNamespace,
  )?.object;
  let created = false;
  let outcome: Omit<RehearsalVerification, 'namespaceDeleted' | 'durationMs'> | undefined;
  try {
    // Created before the restore with our label, so that only a namespace this run made is ever deleted.
    created = true;
    try {
      await kube.create(
        '/api/v1/namespaces',
        rehearsalNamespaceObject(name, input.sourceNamespace, input.backupId, fromBackup),
      );
    } catch (e) {
      // Made by someone else between the check and the create: theirs, never deleted.
      if (e instanceof KubeApiError && e.code === 409) created = false;
      throw e;
    }
    log.info('rehearsal namespace created', { namespace: name, backupId: input.backupId });
    const report = await runRestore(input.restoreConfig, {
      kube,
      log,
      store: input.store,
      signal: input.signal,
      pollMs: input.pollMs,
      adjustItems: rehearsalItems,
    });
    input.signal?.throwIfAborted();
    const { result, notRestored, notCompared } = await compare(input, report);
    const failed = report.failed.map((f) => ({ path: f.path, error: f.error ?? '' }));
    const differences = differencesOf(result, new Set(failed.map((f) => f.path)));
    outcome = {
      ...base,
      ok: failed.length === 0 && differences.length === 0,
      objectsRestored: report.counts.created,
      failed,
      notRestored,
      ...(notCompared.length ? { notCompared } : {}),
      differences,
      equal: result.unchanged,
      ...(failed.length
        ? { problem: `${failed.length} object${failed.length === 1 ? '' : 's'} could not be restored` }
        : differences.length
          ? {
              problem: `${differences.length} object${differences.length === 1 ? '' : 's'} differ after the restore`,
            }
          : {}),
    };
  } catch (e) {
    if (input.signal?.aborted || !(e instanceof Error)) {
      if (created) await deleteNamespace(input, name, STOPPED_DELETE_WAIT_MS).catch(() => false);
      throw e;
    }
    outcome = { ...base, ok: false, problem: `the rehearsal restore failed: ${e.message}` };
  }
  const namespaceDeleted = created
    ? await deleteNamespace(input, name, input.deleteTimeoutMs).catch((e: Error) => {
        log.error('could not delete the rehearsal namespace', { namespace: name, error: e.message });
        return false;
      })
    : true;
  return {
    ...outcome,
    ok: outcome.ok && namespaceDeleted,
    namespaceDeleted,
    durationMs: elapsed(),
    ...(!namespaceDeleted && !outcome.problem
      ? {
          problem: `the rehearsal namespace ${name} was not gone after ${Math.round(input.deleteTimeoutMs / 1000)} s`,
        }
      : {}),
  };
}

/**
 * The restore the rehearsal runs: the backup by id from the verify's source (S3, cluster name, key), the namespace
 * mapped to the scratch one, existing objects skipped (there are none), every setting of `nsbackup restore` at its
 * default but two. Claims come back EMPTY (pvcsFromSnapshots and pvcsFromS3 off): a claim from a backup's
 * VolumeSnapshot in another namespace needs a cluster-scoped VolumeSnapshotContent (kept, policy Retain, after the
 * namespace is gone) and a full copy of each volume; the volume data is what the integrity level's restic check and
 * `restore-pvc` cover.
 */
export function rehearsalRestoreConfig(
  verifyConfig: Record<string, unknown>,
  r: { sourceNamespace: string; backupId: string; scratchNamespace: string },
): RestoreConfig {
  const defaults = loadConfig(restoreSettings, { env: {} });
  const shared = Object.fromEntries(
    Object.keys(restoreSettings)
      .filter((key) => key in verifyConfig)
      .map((key) => [key, verifyConfig[key]]),
  );
  return {
    ...defaults,
    ...shared,
    namespace: r.sourceNamespace,
    backup: r.backupId,
    fromDir: '',
    namespaceMapping: [`${r.sourceNamespace}=${r.scratchNamespace}`],
    preferences: undefined,
    dryRun: false,
    report: '',
    pvcsFromSnapshots: false,
    pvcsFromS3: false,
  } as RestoreConfig;
}

/**
 * How long the scratch namespace may take to go away. Its objects have no finalizers of their own (nothing ran, claims
 * were never used), so a minute is plenty; longer means something holds it, which the verify reports.
 */
export const REHEARSAL_DELETE_TIMEOUT_MS = 5 * 60_000;

/** The backup's objects with their API paths (the manifest lists them in archive order). */
export async function readBackupItems(
  store: S3Store,
  folder: string,
  manifest: BackupManifest,
  key: EncryptionKey | undefined,
): Promise<PathedObject[]> {
  const items: PathedObject[] = [];
  for await (const object of readBackupObjects(store, folder, manifest, key))
    items.push({ path: manifest.paths[items.length], object });
  return items;
}
