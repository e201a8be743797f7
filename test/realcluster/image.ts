// What the chart's image runs, for the test node: nsbackup bundled into one file (as `npm run build` and the
// Dockerfile make dist/), with package.json beside it for the version, in a folder any user may read, because
// the chart's pods run as uid 1000 and the checkout may sit in a folder only root can enter. Not under /tmp:
// the chart mounts an emptyDir there, which hides the host's /tmp from the container. The image has its own node
// too: the one running the tests is the project's (node_modules/node), and a checkout under /tmp would hide it.
import { chmodSync, copyFileSync, linkSync, mkdtempSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { bundleNsbackup } from '../../tools/bundle.js';

/** The chart's image repository: a container of it runs the returned argv (its ENTRYPOINT) with the pod's args. */
export const NSBACKUP_IMAGE = 'ghcr.io/nsbackup/nsbackup';

export interface NsbackupImage {
  entrypoint: string[];
  dir: string;
}

export async function buildNsbackupImage(): Promise<NsbackupImage> {
  const dir = mkdtempSync('/var/tmp/nsbackup-image-');
  const frontDoor = await bundleNsbackup(dir);
  for (const path of [dir, join(dir, 'dist'), join(dir, 'dist', 'scripts')]) chmodSync(path, 0o755);
  const node = join(dir, 'node');
  try {
    linkSync(realpathSync(process.execPath), node); // same file system: no copy of ~120 MB
  } catch {
    copyFileSync(realpathSync(process.execPath), node);
  }
  chmodSync(node, 0o755);
  return { entrypoint: [node, frontDoor], dir };
}
