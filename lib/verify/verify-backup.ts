// One `nsbackup verify` of a backup: the integrity level (lib/verify/integrity.ts) and, at level restore, the restore
// check of every dump that passed it, in a scratch Job; the record stored beside the backup as verification.json.
import type { Readable } from 'node:stream';
import { createDecryptStream, type EncryptionKey } from '../crypto/index.js';
import type { SqlDbKind } from '../dump/index.js';
import {
  readVerification,
  verifyBackupFiles,
  writeVerification,
  type RehearsalVerification,
  type RestoreVerification,
  type Verification,
  type VolumesVerification,
} from './integrity.js';
import type { BackupManifest } from '../resources/index.js';
import type { S3Store } from '../s3/index.js';
import type { Assertion } from './assertions.js';
import { createDumpScanner, type DumpScan } from './dump-scan.js';
import type { DumpLoad, DumpToLoad, RestoreCheck } from './restore-check.js';

export interface VerifyBackupInput {
  store: S3Store;
  folder: string;
  manifest: BackupManifest;
  key: EncryptionKey | undefined;
  /** Set for level restore: runs the restore check of the dumps that passed the integrity check. */
  restore?: {
    kind: SqlDbKind;
    assertions: Assertion[];
    run: (dumps: DumpToLoad[]) => Promise<RestoreCheck & { image?: string }>;
  };
  /** Set for level rehearsal: restores the backup into a scratch namespace, compares, deletes it. */
  rehearsal?: () => Promise<RehearsalVerification>;
  /** Set when the manifest lists volumes: their restic snapshots looked up and the repository checked. */
  volumes?: () => Promise<VolumesVerification>;
  now?: () => Date;
  signal?: AbortSignal;
}

/** The stored file of a dump, decrypted: gzip bytes, as the scratch pod's loader reads them. */
function openDecrypted(
  store: S3Store,
  key: string,
  encryption: EncryptionKey | undefined,
): () => Promise<Readable> {
  return async () => {
    const stored = await store.download(key);
    if (!encryption) return stored;
    const plain = createDecryptStream(encryption);
    stored.on('error', (e) => plain.destroy(e));
    return stored.pipe(plain);
  };
}

export async function verifyBackup(input: VerifyBackupInput): Promise<Verification> {
  const { store, folder, manifest, key } = input;
  const now = input.now ?? (() => new Date());
  const scanners = new Map<string, ReturnType<typeof createDumpScanner>>();
  const restoreKind = input.restore?.kind;
  const inspect = restoreKind
    ? (file: BackupManifest['files'][number]) => {
        if (file.contents !== 'dump') return undefined;
        const scanner = createDumpScanner(restoreKind);
        scanners.set(file.name, scanner);
        return (chunk: Buffer) => scanner.push(chunk);
      }
    : undefined;
  const verification = await verifyBackupFiles(store, folder, manifest, key, now, input.signal, inspect);
  if (input.volumes) {
    verification.volumes = await input.volumes();
    // A check cut short by SIGTERM is a stopped run, not a damaged repository.
    input.signal?.throwIfAborted();
    verification.ok = verification.ok && verification.volumes.ok;
  }
  if (input.restore) {
    verification.level = 'restore';
    verification.restore = await restoreLevel(input, verification, scanners);
    verification.ok = verification.ok && verification.restore.ok;
  } else if (input.rehearsal) {
    verification.level = 'rehearsal';
    verification.rehearsal = verification.ok
      ? await input.rehearsal()
      : notRehearsed(now(), 'not rehearsed: the integrity check failed');
    verification.ok = verification.ok && verification.rehearsal.ok;
  }
  // A run of one level keeps the last result of the others: whether the backup was ever proven restorable (its
  // dumps, its namespace) stays known.
  const previous = await readVerification(store, folder).catch(() => undefined);
  if (!verification.restore && previous?.restore) verification.restore = previous.restore;
  if (!verification.rehearsal && previous?.rehearsal) verification.rehearsal = previous.rehearsal;
  await writeVerification(store, folder, verification);
  return verification;
}

function notRehearsed(at: Date, problem: string): RehearsalVerification {
  return {
    verifiedAt: at.toISOString(),
    ok: false,
    namespace: '',
    objectsRestored: 0,
    failed: [],
    notRestored: 0,
    differences: [],
    equal: 0,
    namespaceDeleted: true,
    durationMs: 0,
    problem,
  };
}

async function restoreLevel(
  input: VerifyBackupInput,
  integrity: Verification,
  scanners: Map<string, { result(): DumpScan }>,
): Promise<RestoreVerification> {
  const started = performance.now();
  const verifiedAt = (input.now ?? (() => new Date()))().toISOString();
  const failedIntegrity: DumpLoad[] = [];
  const dumps: DumpToLoad[] = [];
  for (const file of input.manifest.files.filter((f) => f.contents === 'dump')) {
    const checked = integrity.files.find((f) => f.name === file.name);
    if (!checked?.ok) {
      failedIntegrity.push({
        name: file.name,
        database: file.database ?? '',
        ok: false,
        durationMs: 0,
        problem: `not loaded: the integrity check failed (${checked?.problem ?? 'not checked'})`,
      });
      continue;
    }
    dumps.push({
      name: file.name,
      database: file.database ?? '',
      open: openDecrypted(input.store, input.folder + file.name, input.key),
      scan: scanners.get(file.name)?.result(),
    });
  }
  if (!dumps.length)
    return {
      verifiedAt,
      ok: false,
      loads: failedIntegrity,
      assertions: [],
      durationMs: 0,
      problem: failedIntegrity.length
        ? 'no dump passed the integrity check: nothing to load'
        : 'the backup holds no database dump',
    };
  let check: RestoreCheck & { image?: string };
  try {
    check = await input.restore!.run(dumps);
  } catch (e) {
    // The scratch Job could not be run (not scheduled, refused, timed out): recorded and reported like a failed
    // load, so the failure URL is called and `backups` shows it. A stopped run (SIGTERM) stays a stopped run.
    if (input.signal?.aborted || !(e instanceof Error)) throw e;
    return {
      verifiedAt,
      ok: false,
      loads: failedIntegrity,
      assertions: [],
      durationMs: Math.round(performance.now() - started),
      problem: `the scratch database could not be run: ${e.message}`,
    };
  }
  return {
    verifiedAt,
    ok: check.ok && failedIntegrity.length === 0,
    ...(check.image ? { image: check.image } : {}),
    loads: [...failedIntegrity, ...check.loads],
    assertions: check.assertions,
    durationMs: Math.round(performance.now() - started),
    ...(check.problem ? { problem: check.problem } : {}),
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** What verify prints: every file, every load, every assertion; what was checked, how much and how long. */
export function formatVerification(v: Verification, totalMs: number): string {
  const lines = v.files.map(
    (f) =>
      `${f.ok ? 'ok    ' : 'FAILED'}  ${f.name}${f.ok ? ` (${f.contentBytes} bytes read back)` : `: ${f.problem}`}`,
  );
  const vol = v.volumes;
  if (vol) {
    lines.push(`volume data${vol.repository ? ` in ${vol.repository}` : ''}:`);
    if (vol.problem) lines.push(`FAILED  ${vol.problem}`);
    for (const s of vol.snapshots)
      lines.push(
        s.ok
          ? `ok      PVC ${s.pvc}: restic snapshot ${s.resticSnapshotId.slice(0, 8)} with this backup's tags`
          : `FAILED  PVC ${s.pvc}: ${s.problem}`,
      );
    if (vol.check)
      lines.push(
        vol.check.ok
          ? `ok      restic check, data subset ${vol.check.subset} read (${seconds(vol.durationMs)})`
          : `FAILED  restic check, data subset ${vol.check.subset}: ${vol.check.problem}`,
      );
  }
  const r = v.level === 'restore' ? v.restore : undefined;
  if (r) {
    lines.push(`restore check${r.image ? ` in a scratch ${r.image}` : ''}:`);
    if (r.problem) lines.push(`FAILED  ${r.problem}`);
    for (const l of r.loads) {
      const roles = l.roles?.length ? `, roles created: ${l.roles.join(', ')}` : '';
      lines.push(
        l.ok
          ? `ok      load ${l.name} into ${l.database || '(the databases it names)'} (${seconds(l.durationMs)}${roles})`
          : `FAILED  load ${l.name}: ${l.problem}`,
      );
      if (!l.ok && l.stderrTail) lines.push(...l.stderrTail.split('\n').map((s) => `          | ${s}`));
    }
    for (const a of r.assertions)
      lines.push(
        a.ok
          ? `ok      assertion ${a.name} = ${a.value} (${a.durationMs} ms)`
          : `FAILED  assertion ${a.name}: ${a.problem} (${a.durationMs} ms)`,
      );
  }
  const h = v.level === 'rehearsal' ? v.rehearsal : undefined;
  if (h) {
    lines.push(`rehearsal${h.namespace ? ` in namespace ${h.namespace}` : ''}:`);
    for (const f of h.failed) lines.push(`FAILED  not restored ${f.path}: ${f.error}`);
    for (const d of h.differences) {
      lines.push(`DIFFERS ${d.status} ${d.path}`);
      for (const field of d.fields ?? []) lines.push(`          | ${field}`);
    }
    if (h.notCompared?.length)
      lines.push(`note    restored, not compared (may not be read back): ${h.notCompared.join(', ')}`);
    if (h.problem) lines.push(`FAILED  ${h.problem}`);
    if (h.namespace)
      lines.push(
        `${h.ok ? 'ok    ' : h.failed.length || h.differences.length ? 'FAILED' : 'done  '}  ${h.objectsRestored} objects restored, ${h.equal} equal to the backup, ${h.notRestored} left out by design; namespace ${h.namespaceDeleted ? 'deleted' : 'NOT yet deleted'} (${seconds(h.durationMs)})`,
      );
  }
  const bytes = v.files.reduce((n, f) => n + (f.contentBytes ?? 0), 0);
  const what =
    `${v.files.length} files, ${bytes} bytes read back` +
    (r
      ? `; ${r.loads.filter((l) => l.ok).length}/${r.loads.length} dumps loaded, ${r.assertions.filter((a) => a.ok).length}/${r.assertions.length} assertions held`
      : '') +
    (h ? `; ${h.objectsRestored} objects restored, ${h.differences.length} differing` : '') +
    (vol
      ? `; ${vol.snapshots.filter((s) => s.ok).length}/${vol.snapshots.length} volume snapshots found`
      : '');
  lines.push(
    `${v.ok ? 'verified' : 'NOT verified'} (level ${v.level ?? 'integrity'}): ${what}, in ${seconds(totalMs)}`,
  );
  return lines.join('\n') + '\n';
}
