// `nsbackup pin|unpin|expire <snapshot>`: retention's labels set by hand, with what will happen, or the reason
// retention would not do it (exit 1, nothing written).
import { defineCommand, type Command } from '../lib/command.js';
import { str } from '../lib/config/index.js';
import { ExitCode, JobError } from '../lib/exit.js';
import {
  connectOrConfigError,
  kubeSettings,
  namespaceSetting,
  volumeSnapshotPath,
} from '../lib/kube/index.js';
import { decideHandLabel, type HandAction } from '../lib/prune/hand-labels.js';
import { timeZoneSetting } from '../lib/prune/settings.js';
import { listSnapshots } from '../lib/snapshots/list.js';

const schema = {
  snapshot: str({
    env: 'NSBACKUP_SNAPSHOT',
    flag: '--snapshot',
    required: true,
    description: 'The VolumeSnapshot (as `nsbackup list` names it); also the first argument.',
  }),
  ...namespaceSetting({
    defaultText: "the kubeconfig context's namespace",
    description: 'Namespace of the snapshot.',
  }),
  ...timeZoneSetting,
  ...kubeSettings,
};

const SUMMARIES: Record<HandAction, string> = {
  pin: 'Pin a snapshot: never marked, never deleted',
  unpin: 'Unpin a snapshot: retention decides again',
  expire:
    'Expire a snapshot: the next mark-and-delete deletes it (refused for the newest good one of its PVC)',
};

export function createHandLabelCommand(
  action: HandAction,
  deps: { now?: () => Date } = {},
): Command<typeof schema> {
  return defineCommand({
    name: action,
    summary: SUMMARIES[action],
    usage: `nsbackup ${action} <snapshot> [-n NAMESPACE]`,
    schema,
    positional: ['snapshot'],
    aliases: { '-n': '--namespace' },
    async run({ config, log, env, out }) {
      const kube = connectOrConfigError(config, env);
      const namespace = config.namespace || kube.defaultNamespace;
      const infos = await listSnapshots(kube, namespace, log);
      const target = infos.find((i) => i.record.name === config.snapshot);
      if (!target) throw new JobError(`no VolumeSnapshot ${namespace}/${config.snapshot}`, ExitCode.failed);
      const records = infos.filter((i) => !i.terminating).map((i) => i.record);
      const decision = decideHandLabel(
        action,
        target.record,
        records,
        deps.now?.() ?? new Date(),
        config.timeZone,
      );
      if ('refused' in decision) throw new JobError(decision.refused, ExitCode.failed);
      // The snapshot as it was listed: a change since (someone else's label) makes this fail instead of overwrite.
      await kube.mergePatch(volumeSnapshotPath(namespace, config.snapshot), {
        metadata: { resourceVersion: target.resourceVersion, labels: decision.labels },
      });
      out(decision.message + '\n');
      return { summary: { namespace, snapshot: config.snapshot, action } };
    },
  });
}

export const pinCommand = createHandLabelCommand('pin');
export const unpinCommand = createHandLabelCommand('unpin');
export const expireCommand = createHandLabelCommand('expire');
