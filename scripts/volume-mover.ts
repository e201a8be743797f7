// `nsbackup volume-mover`: what a mover Job runs (lib/volumes/mover-manifests.ts), not a command for people.
// backup: the mounted volume (a clone of the run's snapshot) into a new restic snapshot tagged with namespace, PVC
// and backup id; restore: one snapshot into the mounted claim. Its summary line carries the result (`volume`),
// which the run that created the Job reads from the pod's log.

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineCommand, runIfMain } from '../lib/command.js';
import { ExitCode } from '../lib/exit.js';
import { Repository } from '../lib/volumes/repo-ops.js';
import { resticRunner } from '../lib/volumes/restic.js';
import { moverSettings } from '../lib/volumes/settings.js';
import type { MoverResult } from '../lib/volumes/mover-result.js';

export const command = defineCommand({
  name: 'volume-mover',
  summary: "Run inside a mover Job: a volume to the namespace's restic repository, or a snapshot back",
  schema: moverSettings,
  async run({ config, env, signal }) {
    const scratch = env.TMPDIR || tmpdir();
    // restic reads a CA from a file; the Job carries it as text (a read-only root file system, no extra volume).
    let cacert: string | undefined;
    if (config.caPem) {
      cacert = join(scratch, 'nsbackup-s3-ca.pem');
      writeFileSync(cacert, config.caPem);
    }
    const repo = new Repository(
      { repository: config.repository, cacert, cacheDir: join(scratch, 'restic-cache') },
      resticRunner({ password: config.password, env }),
      signal,
    );
    const ref = { namespace: config.namespace, pvc: config.pvc, backupId: config.backupId };
    let volume: MoverResult;
    try {
      if (config.operation === 'backup') {
        const summary = await repo.backup(config.path, ref);
        volume = { ok: true, operation: 'backup', backup: summary };
      } else {
        if (!config.snapshot) throw new Error('NSBACKUP_MOVER_SNAPSHOT is required to restore');
        await repo.restore(config.snapshot, config.path);
        volume = { ok: true, operation: 'restore', snapshotId: config.snapshot };
      }
    } catch (e) {
      volume = { ok: false, operation: config.operation, error: (e as Error).message };
    }
    return { exitCode: volume.ok ? ExitCode.ok : ExitCode.failed, summary: { volume } };
  },
});

runIfMain(command, import.meta.url);
