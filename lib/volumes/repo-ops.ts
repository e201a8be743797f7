// The restic operations nsbackup needs, on one repository: each checks restic's exit status and turns a failure
// into an error naming the operation and restic's last line. Used by the mover (inside its Job) and, for the
// repository-wide work (forget, unlock, prune, check, listing), by the pruner and the restore commands.

import {
  allSnapshotsArgs,
  backupArgs,
  catConfigArgs,
  checkArgs,
  forgetArgs,
  initArgs,
  pruneArgs,
  restoreArgs,
  snapshotsArgs,
  statsArgs,
  unlockArgs,
} from './restic-args.js';
import type { ResticGlobal } from './restic-args.js';
import {
  isMissingRepository,
  parseBackupSummary,
  parseSnapshots,
  parseStats,
  resticErrorLine,
} from './restic-output.js';
import type { BackupSummary, ResticSnapshot } from './restic-output.js';
import type { ResticResult, ResticRunner } from './restic.js';
import type { SnapshotRef, VolumeRef } from './repository.js';

export class ResticError extends Error {
  constructor(
    readonly operation: string,
    readonly result: ResticResult,
  ) {
    super(
      `restic ${operation} failed (exit ${result.exitCode}): ${resticErrorLine(result.stderr) || 'no message'}`,
    );
    this.name = 'ResticError';
  }
}

export class Repository {
  constructor(
    readonly global: ResticGlobal,
    private readonly run: ResticRunner,
    private readonly signal?: AbortSignal,
  ) {}

  private async ok(operation: string, args: string[], cwd?: string, measure = false): Promise<ResticResult> {
    const result = await this.run(args, { cwd, signal: this.signal, measure });
    if (result.exitCode !== 0) throw new ResticError(operation, result);
    return result;
  }

  /** Opens the repository, creating it when it does not exist (a concurrent creator wins: opened again). */
  async ensure(): Promise<'opened' | 'created'> {
    const probe = await this.run(catConfigArgs(this.global), { signal: this.signal });
    if (probe.exitCode === 0) return 'opened';
    if (!isMissingRepository(probe.stderr)) throw new ResticError('cat config', probe);
    const init = await this.run(initArgs(this.global), { signal: this.signal });
    if (init.exitCode === 0) return 'created';
    await this.ok('cat config', catConfigArgs(this.global)); // created by someone else meanwhile?
    return 'opened';
  }

  /** Whether the repository exists (and the password opens it). */
  async exists(): Promise<boolean> {
    const probe = await this.run(catConfigArgs(this.global), { signal: this.signal });
    if (probe.exitCode === 0) return true;
    if (isMissingRepository(probe.stderr)) return false;
    throw new ResticError('cat config', probe);
  }

  /**
   * Backs up `dir` (its contents at the snapshot's root). Any restic failure, including exit 3 (some files could
   * not be read: a snapshot without them exists, but it is not the volume), is a failure.
   */
  async backup(dir: string, ref: SnapshotRef): Promise<BackupSummary> {
    let result = await this.run(backupArgs(this.global, ref), { cwd: dir, signal: this.signal });
    // The first backup of a namespace creates its repository (one restic start fewer on every other night).
    if (result.exitCode !== 0 && isMissingRepository(result.stderr)) {
      await this.ensure();
      result = await this.run(backupArgs(this.global, ref), { cwd: dir, signal: this.signal });
    }
    if (result.exitCode === 3) {
      // restic 0.14: "some files could not be read", and a snapshot without them was saved. It is not the volume:
      // forgotten at once, so that no restore (`latest`) ever takes it for a good copy.
      const partial = await this.snapshotsOf(ref);
      await this.forget(partial.map((s) => s.id));
    }
    if (result.exitCode !== 0) throw new ResticError('backup', result);
    const summary = parseBackupSummary(result.stdout);
    if (!summary) throw new Error('restic backup exited 0 without a summary: the snapshot is unknown');
    // restic 0.14 prints the short id; records and restores use the full one, found by the run's own tags.
    const mine = (await this.snapshotsOf(ref)).filter((s) => s.id.startsWith(summary.snapshotId));
    if (mine.length !== 1)
      throw new Error(
        `restic backup made snapshot ${summary.snapshotId}, but its tags select ${mine.length}`,
      );
    return { ...summary, snapshotId: mine[0].id };
  }

  async restore(snapshotId: string, target: string): Promise<void> {
    await this.ok('restore', restoreArgs(this.global, snapshotId, target));
  }

  async snapshotsOf(ref: VolumeRef & { backupId?: string }): Promise<ResticSnapshot[]> {
    const result = await this.ok('snapshots', snapshotsArgs(this.global, ref));
    // restic filters by tags already; the check again is what makes a crossed PVC impossible here.
    return parseSnapshots(result.stdout).filter(
      (s) =>
        s.namespace === ref.namespace &&
        s.pvc === ref.pvc &&
        (ref.backupId === undefined || s.backupId === ref.backupId),
    );
  }

  async allSnapshots(): Promise<ResticSnapshot[]> {
    return parseSnapshots((await this.ok('snapshots', allSnapshotsArgs(this.global))).stdout);
  }

  async stats(snapshotId: string): Promise<{ bytes: number; files: number }> {
    return parseStats((await this.ok('stats', statsArgs(this.global, snapshotId))).stdout);
  }

  async forget(snapshotIds: readonly string[]): Promise<void> {
    if (snapshotIds.length) await this.ok('forget', forgetArgs(this.global, snapshotIds));
  }

  async unlock(): Promise<void> {
    await this.ok('unlock', unlockArgs(this.global));
  }

  /** Returns restic's report and its peak memory. */
  async prune(opts: { maxRepackSize?: string } = {}): Promise<{ output: string; peakRssBytes?: number }> {
    const result = await this.ok('prune', pruneArgs(this.global, opts), undefined, true);
    return { output: result.stdout, peakRssBytes: result.peakRssBytes };
  }

  async check(slice: { n: number; of: number }): Promise<string> {
    return (await this.ok('check', checkArgs(this.global, slice))).stdout;
  }
}
