// `nsbackup volume-check -n NS`: restic check of the namespace's repository, reading one slice of its data packs
// (a slice a night: with 7 slices a week reads everything). A corrupted pack fails the run (exit 1).

import { defineCommand, runIfMain } from '../lib/command.js';
import { int, str } from '../lib/config/index.js';
import { ExitCode, JobError } from '../lib/exit.js';
import { clusterNameOf, connectOrConfigError, kubeSettings, namespaceSetting } from '../lib/kube/index.js';
import { s3LocationFrom, s3Settings } from '../lib/s3/index.js';
import { openLocalRepository, sliceOfDay } from '../lib/volumes/local-repo.js';
import { resticSecretSetting } from '../lib/volumes/settings.js';

export const volumeCheckSettings = {
  ...namespaceSetting({
    defaultText: "the pod's namespace in-cluster, else the kubeconfig context's",
    description: 'Namespace whose restic repository is checked.',
  }),
  checkSlices: int({
    env: 'NSBACKUP_CHECK_SLICES',
    min: 1,
    max: 365,
    default: 7,
    description: 'The data is read in this many slices, one a day: 7 reads everything once a week.',
  }),
  checkSlice: int({
    env: 'NSBACKUP_CHECK_SLICE',
    flag: '--slice',
    min: 1,
    defaultText: "today's (days since 1970 modulo NSBACKUP_CHECK_SLICES, plus 1)",
    description: "Read this slice instead of today's (1 to NSBACKUP_CHECK_SLICES).",
  }),
  clusterName: str({
    env: 'NSBACKUP_CLUSTER_NAME',
    pattern: /^[A-Za-z0-9._-]+$/,
    patternText: 'letters, digits, . _ -',
    defaultText: "the kubeconfig's cluster name",
    description: 'Cluster name in S3 keys, as the backup wrote them.',
  }),
  ...resticSecretSetting,
  ...kubeSettings,
  ...s3Settings,
};

export function createVolumeCheckCommand(deps: { now?: () => Date } = {}) {
  return defineCommand({
    name: 'volume-check',
    recordsStatus: true,
    summary: "Check a namespace's restic repository, reading one slice of its data a night",
    usage: 'nsbackup volume-check [-n NAMESPACE] [--slice N]',
    schema: volumeCheckSettings,
    aliases: { '-n': '--namespace' },
    async run({ config, log, env, signal }) {
      const location = s3LocationFrom(config);
      if (!location) throw new JobError('volume-check needs NSBACKUP_S3_BUCKET', ExitCode.badConfig);
      if (!config.resticSecret)
        throw new JobError('volume-check needs NSBACKUP_RESTIC_SECRET', ExitCode.badConfig);
      if (config.checkSlice > config.checkSlices)
        throw new JobError(
          `NSBACKUP_CHECK_SLICE ${config.checkSlice} is above NSBACKUP_CHECK_SLICES ${config.checkSlices}`,
          ExitCode.badConfig,
        );
      const kube = connectOrConfigError(config, env);
      const namespace = config.namespace || kube.defaultNamespace;
      const { repo, location: where } = await openLocalRepository({
        kube,
        log,
        location,
        cluster: clusterNameOf(config.clusterName, kube),
        namespace,
        secret: config.resticSecret,
        env,
        signal,
      });
      if (!(await repo.exists())) throw new JobError(`no restic repository at ${where}`);
      const slice = config.checkSlice
        ? { n: config.checkSlice, of: config.checkSlices }
        : sliceOfDay(deps.now?.() ?? new Date(), config.checkSlices);
      log.info('checking the repository', { repository: where, slice: `${slice.n}/${slice.of}` });
      await repo.check(slice);
      return {
        exitCode: ExitCode.ok,
        summary: { namespace, repository: where, slice: `${slice.n}/${slice.of}` },
      };
    },
  });
}

export const command = createVolumeCheckCommand();

runIfMain(command, import.meta.url);
