// `nsbackup etcd-backup`: a verified, encrypted snapshot of the cluster's etcd and its PKI, to S3, with retention.
// Run by the chart's mode=etcd CronJob on a control-plane node. The flow is lib/etcd/backup.ts.

import { defineCommand, runIfMain } from '../lib/command.js';
import type { Command, ConfigErrorContext, RunContext } from '../lib/command.js';
import { ConfigError, loadConfig } from '../lib/config/index.js';
import { httpGetNotifier, notify, type Notifier } from '../lib/backup/notify.js';
import { ExitCode } from '../lib/exit.js';
import { checkOwnSnapshots, detectDistribution, isDirectory } from '../lib/etcd/distribution.js';
import { keyFrom } from '../lib/crypto/index.js';
import { runEtcdBackup } from '../lib/etcd/backup.js';
import { ETCD_KEY_NAMESPACE, pkiPaths, unreadableFiles } from '../lib/etcd/inputs.js';
import { etcdBackupSettings } from '../lib/etcd/settings.js';
import { gfsKeepOf } from '../lib/prune/settings.js';
import { storeFrom } from '../lib/s3/index.js';

type Settings = typeof etcdBackupSettings;

export interface EtcdBackupOverrides {
  notifier?: Notifier;
}

async function backup({ config, log, env, signal }: RunContext<Settings>) {
  const distribution =
    config.distribution === 'auto' ? detectDistribution(config.rancherDir, isDirectory) : config.distribution;
  if (distribution !== 'kubeadm' && !config.ownSnapshot) {
    const summary = checkOwnSnapshots(
      distribution,
      config.rancherDir,
      config.maxSnapshotAge,
      new Date(),
      log,
    );
    return { exitCode: ExitCode.ok, summary };
  }
  const store = storeFrom(config, env, log);
  const problems: string[] = [];
  if (!store) problems.push('NSBACKUP_S3_BUCKET is required: etcd-backup stores its backups in S3');
  const encryptionKey = keyFrom(config, ETCD_KEY_NAMESPACE, log);
  if (!encryptionKey) {
    problems.push(
      'NSBACKUP_ENCRYPTION_KEY or NSBACKUP_ENCRYPTION_KEY_FILE is required: the PKI in an etcd backup gives full ' +
        'control of the cluster, so it is never stored unencrypted',
    );
  }
  if (config.retain === 'days' && !config.retainDays)
    problems.push('NSBACKUP_RETAIN_DAYS is required with NSBACKUP_RETAIN=days');
  problems.push(
    ...unreadableFiles([
      { setting: 'NSBACKUP_ETCD_CACERT', path: config.caCert },
      { setting: 'NSBACKUP_ETCD_CERT', path: config.cert },
      { setting: 'NSBACKUP_ETCD_KEY', path: config.key },
      ...pkiPaths(config.pkiDir, config.pkiFiles),
    ]),
  );
  if (problems.length) throw new ConfigError(problems);
  const result = await runEtcdBackup({
    tls: { endpoint: config.endpoint, caCert: config.caCert, cert: config.cert, key: config.key },
    tools: { etcdctl: config.etcdctl, etcdutl: config.etcdutl, env, signal },
    pkiDir: config.pkiDir,
    pkiFiles: config.pkiFiles,
    workDir: config.workDir,
    store: store!,
    encryptionKey: encryptionKey!,
    cluster: config.clusterName,
    clusterKind: distribution,
    retention: {
      policy: config.retain,
      keep: gfsKeepOf(config),
      retainDays: config.retainDays,
      timeZone: config.timeZone,
      maxDeleteShare: config.maxDeleteShare,
      maxDeleteCount: config.maxDeleteCount,
    },
    log,
  });
  if (result.retention.refused) {
    log.error('the backup is stored, but retention was refused: look at the refusals, then delete by hand');
  }
  return {
    exitCode: result.retention.refused ? ExitCode.failed : ExitCode.ok,
    summary: {
      cluster: config.clusterName,
      backupId: result.backupId,
      location: result.location,
      revision: result.manifest.etcd.revision,
      keys: result.manifest.etcd.totalKey,
      deleted: result.deleted.length || undefined,
    },
  };
}

export function createEtcdBackupCommand(overrides: EtcdBackupOverrides = {}): Command<Settings> {
  const notifier = overrides.notifier ?? httpGetNotifier();
  return defineCommand({
    name: 'etcd-backup',
    summary:
      "Snapshot the cluster's etcd, verify it by a trial restore, store it and the PKI encrypted in S3",
    schema: etcdBackupSettings,
    // A run whose configuration did not load failed too: ping the failure URL when it reads.
    async onConfigError({ env, args, log }: ConfigErrorContext) {
      const settings = loadConfig(
        { notifyFailureUrl: etcdBackupSettings.notifyFailureUrl },
        { env, args: args && { ...args, positional: [] } },
      );
      await notify(notifier, settings.notifyFailureUrl, 'failure', log);
    },
    async run(ctx) {
      let result;
      try {
        result = await backup(ctx);
      } catch (e) {
        await notify(notifier, ctx.config.notifyFailureUrl, 'failure', ctx.log);
        throw e;
      }
      const ok = result.exitCode === ExitCode.ok;
      await notify(
        notifier,
        ok ? ctx.config.notifyUrl : ctx.config.notifyFailureUrl,
        ok ? 'success' : 'failure',
        ctx.log,
      );
      return result;
    },
  });
}

export const command = createEtcdBackupCommand();

runIfMain(command, import.meta.url);
