// k3s and RKE2 take their own etcd snapshots on a schedule (every 12 hours by default, into
// <data dir>/server/db/snapshots). On those, etcd-backup checks that the newest of them is fresh instead of taking
// another (unless asked to take its own). Detection and the freshness verdict are pure; reading the folder is the
// adapter at the bottom.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JobError } from '../exit.js';
import type { Logger } from '../log.js';
import type { ClusterKind } from './manifest.js';

export type Distribution = ClusterKind;

/** Where k3s and RKE2 keep their server state, under the Rancher folder (default /var/lib/rancher). */
export function serverDirOf(rancherDir: string, distribution: 'k3s' | 'rke2'): string {
  return join(rancherDir, distribution, 'server');
}

export function snapshotDirOf(rancherDir: string, distribution: 'k3s' | 'rke2'): string {
  return join(serverDirOf(rancherDir, distribution), 'db', 'snapshots');
}

/** RKE2 runs on k3s's code and may leave a k3s folder behind: its own folder wins. */
export function detectDistribution(rancherDir: string, isDir: (path: string) => boolean): Distribution {
  if (isDir(serverDirOf(rancherDir, 'rke2'))) return 'rke2';
  if (isDir(serverDirOf(rancherDir, 'k3s'))) return 'k3s';
  return 'kubeadm';
}

export interface SnapshotFile {
  path: string;
  size: number;
  modifiedMs: number;
}

export interface Freshness {
  fresh: boolean;
  newest?: SnapshotFile;
  ageMs?: number;
  /** Why it is not fresh, for the log and the exit. */
  problem?: string;
}

/** Empty files and the snapshots' metadata side files do not count as snapshots. */
export function freshness(
  files: readonly SnapshotFile[],
  nowMs: number,
  maxAgeMs: number,
  dir: string,
): Freshness {
  const snapshots = files.filter((f) => f.size > 0 && !/\.(tmp|part|metadata)$/.test(f.path));
  if (snapshots.length === 0) return { fresh: false, problem: `no etcd snapshot in ${dir}` };
  const newest = snapshots.reduce((a, b) => (b.modifiedMs > a.modifiedMs ? b : a));
  const ageMs = nowMs - newest.modifiedMs;
  if (ageMs > maxAgeMs) {
    const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;
    return {
      fresh: false,
      newest,
      ageMs,
      problem: `the newest etcd snapshot ${newest.path} is ${hours(ageMs)} old, more than ${hours(maxAgeMs)}`,
    };
  }
  return { fresh: true, newest, ageMs };
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The files of a snapshot folder (not recursive); a missing folder has none. */
export function snapshotFiles(dir: string): SnapshotFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    try {
      const st = statSync(path);
      return st.isFile() ? [{ path, size: st.size, modifiedMs: st.mtimeMs }] : [];
    } catch {
      return [];
    }
  });
}

/**
 * On k3s and RKE2: their newest snapshot must be younger than `maxAgeMs`, else the run fails (exit 1). Nothing is
 * stored, so neither S3 nor a key is needed. Returns the summary fields of a fresh one.
 */
export function checkOwnSnapshots(
  distribution: 'k3s' | 'rke2',
  rancherDir: string,
  maxAgeMs: number,
  now: Date,
  log: Logger,
): Record<string, unknown> {
  const dir = snapshotDirOf(rancherDir, distribution);
  const verdict = freshness(snapshotFiles(dir), now.getTime(), maxAgeMs, dir);
  if (!verdict.fresh || !verdict.newest) {
    throw new JobError(
      `${distribution} takes its own etcd snapshots, but ${verdict.problem}: check its etcd-snapshot schedule ` +
        '(or set NSBACKUP_ETCD_OWN_SNAPSHOT=true to take ours)',
    );
  }
  const ageHours = Number(((verdict.ageMs ?? 0) / 3_600_000).toFixed(2));
  log.info(`${distribution} takes its own etcd snapshots; the newest is fresh`, {
    snapshot: verdict.newest.path,
    ageHours,
  });
  return { distribution, newestSnapshot: verdict.newest.path, ageHours, bytes: verdict.newest.size };
}
