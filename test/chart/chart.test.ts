// The Helm chart: lint, render with each values file, validate every object against the Kubernetes schemas,
// and check what a user relies on (pod security, locks, schedules, wiring of settings, least-privilege RBAC).

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import YAML from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR, helm, helmTemplate, helmTemplateError, type RenderedObject } from '../kit/index.js';
import {
  container,
  containersOf,
  envOf,
  find,
  grants,
  ofKind,
  podSpecOf,
  valuesFile,
  VALUES_DIR,
  type Container,
} from './rendered.js';
import { DOCUMENTED_GRANTS, readmeGrants, readmeSwitchGrants } from './rbac-table.js';
import { command as verifyCommand } from '../../scripts/verify.js';
import { loggingSettings } from '../../lib/command.js';
import { parseHooksFile } from '../../lib/backup/hooks.js';
import { backupSettings } from '../../lib/backup/settings.js';
import { restoreDbSettings } from '../../lib/restore/settings.js';
import { restoreDbConnection } from '../../lib/restore/db.js';
import { loadConfig, parseArgs, type Schema } from '../../lib/config/index.js';
import { commands } from '../../scripts/commands.js';
import { KNOWN_VARIABLES } from '../../lib/config/index.js';

const VALUES = ['postgres', 'mysql', 'command', 'none', 'cluster-pruner', 'verify', 'lease'] as const;
type ValuesName = (typeof VALUES)[number];

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'batch/v1/CronJob': CronJob,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
};

const rendered = {} as Record<ValuesName, RenderedObject[]>;

beforeAll(() => {
  for (const name of VALUES) rendered[name] = helmTemplate({ valuesFiles: [valuesFile(name)] });
});

describe('helm lint and template', () => {
  it.each(VALUES)('helm lint passes with %s values', (name) => {
    const res = helm(['lint', CHART_DIR, '--strict', '--values', valuesFile(name)]);
    expect(res.stderr + res.stdout).toContain('0 chart(s) failed');
    expect(res.status).toBe(0);
  });

  it('renders what each install is for', () => {
    const names = (n: ValuesName) => rendered[n].map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names('postgres')).toEqual([
      'ClusterRole/nsbackup-shop-shop-prune',
      'ClusterRoleBinding/nsbackup-shop-shop-prune',
      'ConfigMap/shop-hooks',
      'ConfigMap/shop-restore-preferences',
      'CronJob/shop-backup',
      'CronJob/shop-prune',
      'CronJob/shop-restore',
      'Role/shop-backup',
      'Role/shop-prune',
      'Role/shop-restore',
      'RoleBinding/shop-backup',
      'RoleBinding/shop-prune',
      'RoleBinding/shop-restore',
      'ServiceAccount/shop-backup',
      'ServiceAccount/shop-prune',
      'ServiceAccount/shop-restore',
    ]);
    expect(names('mysql')).toEqual([
      'CronJob/shop-backup',
      'Role/shop-backup',
      'RoleBinding/shop-backup',
      'ServiceAccount/shop-backup',
    ]);
    // The cluster-wide pruner: no backup, no namespaced Role, one ClusterRole.
    expect(names('cluster-pruner')).toEqual([
      'ClusterRole/nsbackup-shop-shop-prune',
      'ClusterRoleBinding/nsbackup-shop-shop-prune',
      'CronJob/shop-prune',
      'ServiceAccount/shop-prune',
    ]);
  });

  it.each(VALUES)('every object rendered with %s values is valid against the Kubernetes schema', (name) => {
    for (const obj of rendered[name]) {
      const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
      expect(Model, `a schema for ${obj.apiVersion} ${obj.kind}`).toBeDefined();
      expect(() => new Model(obj).validate(), `${obj.kind}/${obj.metadata.name}`).not.toThrow();
      // Namespaced objects are in the release namespace; the one exception is the lease lock's Role and binding,
      // in the namespace its Leases are in (lock.namespace).
      const leaseLock = name === 'lease' && obj.metadata.name === 'nsbackup-shop-shop-backup-lock';
      if (obj.kind !== 'ClusterRole' && obj.kind !== 'ClusterRoleBinding')
        expect(obj.metadata.namespace).toBe(leaseLock ? 'nsbackup-locks' : 'shop');
    }
  });

  it('the optional pod settings render valid objects and reach every Job', () => {
    const objects = helmTemplate({
      valuesFiles: [valuesFile('postgres')],
      set: {
        'imagePullSecrets[0].name': 'registry',
        'nodeSelector.disk': 'ssd',
        'tolerations[0].key': 'backup',
        'tolerations[0].operator': 'Exists',
        'podLabels.team': 'data',
        'podAnnotations.owner': 'dba',
        priorityClassName: 'batch-low',
        'backup.ttlSecondsAfterFinished': '86400',
        'backup.extraEnv[0].name': 'NODE_OPTIONS',
        'backup.extraEnv[0].value': '--max-old-space-size=256',
        'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn': 'arn:aws:iam::1:role/nsbackup',
      },
    });
    for (const obj of objects)
      expect(() => new MODELS[`${obj.apiVersion}/${obj.kind}`](obj).validate()).not.toThrow();
    for (const cj of ofKind(objects, 'CronJob')) {
      const pod = podSpecOf(cj);
      expect(pod.imagePullSecrets).toEqual([{ name: 'registry' }]);
      expect(pod.nodeSelector).toEqual({ disk: 'ssd' });
      expect(pod.tolerations).toEqual([{ key: 'backup', operator: 'Exists' }]);
      expect(pod.priorityClassName).toBe('batch-low');
      expect(cj.spec.jobTemplate.spec.template.metadata.labels.team).toBe('data');
      expect(cj.spec.jobTemplate.spec.template.metadata.annotations).toEqual({ owner: 'dba' });
    }
    const backup = find(objects, 'CronJob', 'shop-backup');
    expect(backup.spec.jobTemplate.spec.ttlSecondsAfterFinished).toBe(86400);
    expect(envOf(container(podSpecOf(backup), 'backup')).get('NODE_OPTIONS')?.value).toBe(
      '--max-old-space-size=256',
    );
    for (const sa of ofKind(objects, 'ServiceAccount'))
      expect(sa.metadata.annotations).toEqual({
        'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/nsbackup',
      });
  });

  it('names fit: CronJob names leave room for the Job suffix, ad-hoc names stay under 63', () => {
    const long = 'a'.repeat(53); // helm's longest release name
    const objects = helmTemplate({ release: long, valuesFiles: [valuesFile('postgres')] });
    for (const cj of ofKind(objects, 'CronJob')) {
      expect(cj.metadata.name.length).toBeLessThanOrEqual(52);
      expect(() => new CronJob(cj as any).validate()).not.toThrow();
    }
    for (const o of objects) expect(o.metadata.name.length).toBeLessThanOrEqual(63);
    expect(`${long.slice(0, 40)}-adhoc-${'1'.repeat(10)}`.length).toBeLessThanOrEqual(63);
  });
});

describe('values.schema.json: a wrong value fails at install', () => {
  it('the defaults alone fail: the database type must be chosen, never skipped silently', () => {
    const err = helmTemplateError({});
    // The template's message (not the schema's "must be one of"): helm lint and install say what is required.
    expect(err).toMatch(/database\.type is required: postgres, mysql, command or none/);
  });

  it.each([
    ['database.type=postgress', /database\/type/],
    ['databse.type=postgres', /additional properties 'databse' not allowed/],
    ['backup.schedule=every night', /backup\/schedule/],
    // Each cron field within its range (the CronJob controller would refuse these only at run time).
    ['backup.schedule=0 25 * * *', /backup\/schedule/],
    ['backup.schedule=*/0 * * * *', /backup\/schedule/],
    ['backup.schedule=0 2 32 * *', /backup\/schedule/],
    ['prune.schedule=0 3 * 13 *', /prune\/schedule/],
    ['prune.schedule=0 3 * * 8', /prune\/schedule/],
    // A time zone Kubernetes knows (an IANA name), not a city.
    ['timeZone=Berlin', /timeZone/],
    ['timeZone=Europe/Berlin2', /timeZone/],
    ['backup.pvcs[0]=Data_Volume', /backup\/pvcs\/0/],
    ['database.target=db', /database\/target/],
    ['backup.retain.policy=weekly', /backup\/retain\/policy/],
    ['lock.hostPath=relative/dir', /lock\/hostPath/],
    ['mode=cluster', /mode/],
    ['prune.maxDeleteShare=2', /prune\/maxDeleteShare/],
    ['s3.secret.keys.PATH=x', /'PATH' does not match pattern/],
    // Secrets are granted only through export.secrets, never by listing them as a kind.
    ['export.resources[0].resources[0]=secrets', /export\/resources\/0\/resources\/0/],
    // Nor every kind of every group.
    ['export.resources[0].apiGroups[0]=*', /export\/resources\/0\/apiGroups\/0/],
    ['restore.rbacResources[0].apiGroups[0]=*', /restore\/rbacResources\/0\/apiGroups\/0/],
    // Hooks as the program reads them: argv lists, a target it can resolve, onError fail or continue.
    ['backup.hooks.pre[0].command=sync', /backup\/hooks\/pre\/0\/command/],
    ['backup.hooks.pre[0].onError=ignore', /backup\/hooks\/pre\/0\/onError/],
    ['backup.hooks.pre[0].target=db', /backup\/hooks\/pre\/0\/target/],
    ['backup.hooks.pre[0].cmd[0]=x', /additional properties 'cmd' not allowed/],
    ['backup.hooks.during[0].command[0]=x', /additional properties 'during' not allowed/],
    // S3 bucket naming rules and a region name.
    ['s3.bucket=Backups', /s3\/bucket/],
    ['s3.bucket=my_backups', /s3\/bucket/],
    ['s3.bucket=my..backups', /s3\/bucket/],
    ['s3.bucket=10.0.0.1', /s3\/bucket/],
    ['s3.bucket=ab', /s3\/bucket/],
    ['s3.region=EU Central 1', /s3\/region/],
    // Restore preferences as the program reads them.
    ['restore.preferences.existing=replace', /restore\/preferences\/existing/],
    ['restore.preferences.excludeResource[0]=Secret', /additional properties 'excludeResource' not allowed/],
    ['restore.preferences.includeResources[0]=apps/Deployment', /restore\/preferences\/includeResources\/0/],
    ['restore.preferences.includeApiPaths[0]=apps/v1', /restore\/preferences\/includeApiPaths\/0/],
    ['restore.preferences.updatePaths[0]=/apis/apps/v1/', /restore\/preferences.*existing/],
    // The program refuses 0 days too: see below.
    ['backup.retain.days=0', /backup\/retain\/days/],
  ])('%s is refused', (set, message) => {
    const [key, value] = set.split('=');
    const err = helmTemplateError({
      valuesFiles: [valuesFile('postgres')],
      set: { [key]: value },
    });
    expect(err).toMatch(message);
  });

  it.each([
    's3.bucket=backups',
    's3.bucket=backups.example-1',
    's3.region=eu-central-1',
    's3.region=auto',
    'restore.preferences.existing=update',
    'restore.preferences.includeResources[0]=Deployment.apps',
    'restore.preferences.includeResources[0].kind=Widget',
    'restore.preferences.includeApiPaths[0]=/apis/apps/v1/',
    'backup.schedule=*/15 0-6 * * MON-FRI',
    'backup.schedule=30 2 1-15 jan-jul *',
    'backup.schedule=@daily',
    'prune.schedule=0 3 ? * sun',
    'timeZone=Europe/Berlin',
    'timeZone=UTC',
    'timeZone=America/Argentina/Buenos_Aires',
  ])('%s is accepted', (set) => {
    const [key, value] = set.split('=');
    expect(() =>
      helmTemplate({ valuesFiles: [valuesFile('postgres')], set: { [key]: value } }),
    ).not.toThrow();
  });

  it("helm lint passes with each of the chart's CI values files, and names what is required without them", () => {
    for (const file of readdirSync(VALUES_DIR).filter((f) => f.endsWith('-values.yaml'))) {
      const lint = helm(['lint', CHART_DIR, '-f', join(VALUES_DIR, file)]);
      expect(lint.status, `${file}: ${lint.stdout}${lint.stderr}`).toBe(0);
    }
    // Without values, lint (which lets a template's fail pass as information) names what an install requires;
    // the install itself fails with that message (the test above).
    const bare = helm(['lint', CHART_DIR]);
    expect(bare.stdout + bare.stderr).toMatch(/database\.type is required: postgres, mysql, command or none/);
  });

  it('a valid hooks file renders and is what the program accepts; the program refuses what the schema refuses', () => {
    const hooks = {
      pre: [
        { name: 'flush', target: 'statefulset/cache', container: 'redis', command: ['redis-cli', 'save'] },
      ],
      post: [{ command: ['sh', '-c', 'echo done'], onError: 'continue' }],
    };
    const file = join(mkdtempSync(join(tmpdir(), 'nsbackup-hooks-')), 'hooks.yaml');
    writeFileSync(file, YAML.stringify({ backup: { hooks } }));
    const objects = helmTemplate({ valuesFiles: [valuesFile('postgres'), file] });
    rmSync(dirname(file), { recursive: true });
    const cm = find(objects, 'ConfigMap', 'shop-hooks');
    expect(parseHooksFile(YAML.parse(cm.data['hooks.yaml']))).toMatchObject(hooks);
    expect(() => parseHooksFile({ pre: [{ command: 'sync' }] })).toThrow(/command must be a non-empty list/);
    expect(() => parseHooksFile({ pre: [{ command: ['x'], onError: 'ignore' }] })).toThrow(/onError/);
  });

  it('retain days: the chart and the program both refuse 0 (a snapshot kept for no day is a mistake)', () => {
    const env = { NSBACKUP_DB: 'none', NSBACKUP_PVC: 'data', NSBACKUP_RETAIN: 'days' };
    expect(() => loadConfig(backupSettings, { env: { ...env, NSBACKUP_RETAIN_DAYS: '0' } })).toThrow(
      /NSBACKUP_RETAIN_DAYS \(got "0"\) must be an integer >= 1/,
    );
    expect(loadConfig(backupSettings, { env: { ...env, NSBACKUP_RETAIN_DAYS: '1' } }).retainDays).toBe(1);
    const schema = JSON.parse(readFileSync(`${CHART_DIR}/values.schema.json`, 'utf8'));
    expect(schema.properties.backup.properties.retain.properties.days.minimum).toBe(1);
  });

  it.each([
    [{ 'database.target': '' }, /database.target is required/],
    [{ 'backup.retain.policy': 'days' }, /backup.retain.days is required/],
    [{ 'backup.retain.policy': 'deltas' }, /backup.retain.deltas is required/],
    [{ 'database.password.containerEnv': 'POSTGRES_PASSWORD' }, /secretName or containerEnv, not both/],
    [{ 'backup.notify.secret.name': 'pings' }, /backup.notify: set url\/failureUrl or secret.name, not both/],
  ])('cross-field rule %j fails with a clear message', (set, message) => {
    expect(helmTemplateError({ valuesFiles: [valuesFile('postgres')], set })).toMatch(message);
  });
});

describe('the verify CronJob', () => {
  it('runs verify latest at the level, with the database, the assertions, the key and S3 of the backup', () => {
    const cj = find(rendered.verify, 'CronJob', 'shop-verify');
    expect(cj.spec.schedule).toBe('30 6 * * *');
    expect(cj.spec.concurrencyPolicy).toBe('Forbid');
    const pod = podSpecOf(cj);
    expect(pod.serviceAccountName).toBe('shop-verify');
    const c = container(pod, 'verify');
    expect(c.args).toEqual(['verify', 'latest']);
    const env = envOf(c);
    const value = (name: string) => env.get(name)?.value;
    expect(value('NSBACKUP_VERIFY_LEVEL')).toBe('restore');
    expect(value('NSBACKUP_VERIFY_ASSERTIONS_CONFIGMAP')).toBe('verify-assertions');
    expect(value('NSBACKUP_DB')).toBe('postgres');
    expect(value('NSBACKUP_DB_TARGET')).toBe('statefulset/db');
    expect(value('NSBACKUP_DB_CONTAINER')).toBe('postgres');
    expect(value('NSBACKUP_VERIFY_TIMEOUT')).toBe('30m');
    expect(value('NSBACKUP_VERIFY_MEMORY')).toBe('2048');
    expect(value('NSBACKUP_S3_BUCKET')).toBe('backups');
    expect(env.get('NSBACKUP_ENCRYPTION_KEY')?.valueFrom).toEqual({
      secretKeyRef: { name: 'backup-key', key: 'key' },
    });
    // Every variable it gets is one the program reads (a typo would be refused at start).
    const verifySchema = [...Object.values(verifyCommand.schema), ...Object.values(loggingSettings)].map(
      (s) => s.env,
    );
    for (const name of env.keys())
      if (name.startsWith('NSBACKUP_')) expect(verifySchema, name).toContain(name);
  });

  it('level restore without a database to take the image from fails with a clear message', () => {
    expect(
      helmTemplateError({ valuesFiles: [valuesFile('verify')], set: { 'database.type': 'none' } }),
    ).toMatch(/verify.level=restore needs database.type postgres or mysql/);
  });
});

describe('the backup CronJob', () => {
  const backup = () => find(rendered.postgres, 'CronJob', 'shop-backup');

  it('runs the backup command on the schedule, in the time zone, never twice at once', () => {
    const cj = backup();
    expect(cj.spec.schedule).toBe('15 1 * * *');
    expect(cj.spec.timeZone).toBe('Europe/Berlin');
    expect(cj.spec.concurrencyPolicy).toBe('Forbid');
    expect(cj.spec.successfulJobsHistoryLimit).toBe(3);
    expect(cj.spec.failedJobsHistoryLimit).toBe(3);
    expect(cj.spec.startingDeadlineSeconds).toBe(3600);
    expect(cj.spec.jobTemplate.spec.backoffLimit).toBe(0);
    expect(cj.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(14400);
    const c = container(podSpecOf(cj), 'backup');
    expect(c.args).toEqual(['backup']);
    expect(c.command).toBeUndefined(); // the image's entrypoint is the nsbackup front door
    expect(c.image).toBe('ghcr.io/nsbackup/nsbackup:0.1.0');
    expect(podSpecOf(cj).serviceAccountName).toBe('shop-backup');
    expect(podSpecOf(cj).restartPolicy).toBe('Never');
  });

  it("runs on the database pod's node, with the node lock on a hostPath", () => {
    const pod = podSpecOf(backup());
    expect(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' },
    ]);
    expect(pod.volumes).toContainEqual({
      name: 'locks',
      hostPath: { path: '/var/lib/nsbackup/locks', type: 'DirectoryOrCreate' },
    });
    const env = envOf(container(pod, 'backup'));
    const mount = container(pod, 'backup').volumeMounts!.find((m) => m.name === 'locks')!;
    expect(env.get('NSBACKUP_LOCK_DIR')?.value).toBe(mount.mountPath);
    expect(env.get('NSBACKUP_LOCK')?.value).toBe('true');
    expect(env.get('NSBACKUP_LOCK_SLOTS')?.value).toBe('2');
    expect(env.get('NSBACKUP_LOCK_TIMEOUT')?.value).toBe('30m');
    // The kubelet makes the directory root-owned 0755; only this init container runs as uid 0, to chmod it.
    const init = container(pod, 'lock-dir-permissions');
    expect(init.command).toEqual(['chmod', '1777', mount.mountPath]);
    expect(init.securityContext).toMatchObject({
      runAsUser: 0,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    expect(init.securityContext!.capabilities.add).toBeUndefined();
  });

  it('without a lock or a database pod selector: no hostPath, no affinity, no root init container', () => {
    const pod = podSpecOf(find(rendered.none, 'CronJob', 'shop-backup'));
    expect(pod.affinity).toBeUndefined();
    expect(pod.initContainers).toBeUndefined();
    expect(JSON.stringify(pod.volumes)).not.toContain('hostPath');
    expect(envOf(container(pod, 'backup')).get('NSBACKUP_LOCK')?.value).toBe('false');
  });

  it('with lock.backend=lease: Leases in the lock namespace, the node from the downward API, no hostPath, no root', () => {
    const pod = podSpecOf(find(rendered.lease, 'CronJob', 'shop-backup'));
    // Pod Security baseline and restricted refuse a hostPath; the lease lock needs none, nor the chmod as uid 0.
    expect(JSON.stringify(pod.volumes)).not.toContain('hostPath');
    expect(pod.initContainers).toBeUndefined();
    const c = container(pod, 'backup');
    expect(c.volumeMounts!.map((m) => m.name)).toEqual(['tmp']);
    const env = envOf(c);
    expect(env.get('NSBACKUP_LOCK')?.value).toBe('true');
    expect(env.get('NSBACKUP_LOCK_BACKEND')?.value).toBe('lease');
    expect(env.get('NSBACKUP_LOCK_NAMESPACE')?.value).toBe('nsbackup-locks');
    expect(env.get('NSBACKUP_LOCK_SLOTS')?.value).toBe('2');
    expect(env.get('NSBACKUP_NODE_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(env.has('NSBACKUP_LOCK_DIR')).toBe(false);
    // Without lock.namespace the Leases are in the release namespace, where the Role is then made.
    const own = helmTemplate({ valuesFiles: [valuesFile('lease')], set: { 'lock.namespace': '' } });
    const ownEnv = envOf(container(podSpecOf(find(own, 'CronJob', 'shop-backup')), 'backup'));
    expect(ownEnv.get('NSBACKUP_LOCK_NAMESPACE')?.value).toBe('shop');
    expect(ofKind(own, 'Role').find((r) => r.metadata.name.endsWith('-lock'))?.metadata.namespace).toBe(
      'shop',
    );
    // The file backend stays the default, and what it always rendered.
    expect(envOf(container(podSpecOf(backup()), 'backup')).get('NSBACKUP_LOCK_BACKEND')?.value).toBe('file');
    expect(() =>
      helmTemplate({ valuesFiles: [valuesFile('lease')], set: { 'lock.backend': 'flock' } }),
    ).toThrow(/lock\/backend/);
  });

  it('wires database, PVC, retention, notification and hook settings as NSBACKUP_* variables', () => {
    const pod = podSpecOf(backup());
    const env = envOf(container(pod, 'backup'));
    const plain = Object.fromEntries(
      [...env].filter(([, e]) => e.value !== undefined).map(([k, e]) => [k, e.value]),
    );
    expect(plain).toMatchObject({
      NSBACKUP_DB: 'postgres',
      NSBACKUP_DB_TARGET: 'deployment/db',
      NSBACKUP_DB_CONTAINER: 'postgres',
      NSBACKUP_DB_GLOBALS: 'with-passwords',
      NSBACKUP_DB_NAMES: 'shop,audit',
      NSBACKUP_DB_USER: 'backup',
      NSBACKUP_PVC: 'data,wal',
      NSBACKUP_SNAPSHOT_CLASS: 'csi-snapclass',
      NSBACKUP_SNAPSHOT_TIMEOUT: '20m',
      NSBACKUP_RETAIN: 'gfs',
      NSBACKUP_NOTIFY_URL: 'https://hc.example.com/ping/abc',
      NSBACKUP_NOTIFY_FAILURE_URL: 'https://hc.example.com/ping/abc/fail',
      NSBACKUP_S3_BUCKET: 'backups',
      NSBACKUP_S3_PREFIX: 'prod',
      NSBACKUP_S3_ENDPOINT: 'https://minio.example.com',
      TZ: 'Europe/Berlin',
    });
    // Unset values stay unset, so the program's defaults apply.
    expect(env.has('NSBACKUP_DUMP_DIR')).toBe(false);
    expect(env.has('NSBACKUP_DISK_THRESHOLD')).toBe(false);
    expect(env.has('NSBACKUP_S3_REGION')).toBe(false);
    // The hooks file is a ConfigMap mounted where NSBACKUP_HOOKS_FILE points.
    const hooksFile = env.get('NSBACKUP_HOOKS_FILE')!.value!;
    const mount = container(pod, 'backup').volumeMounts!.find((m) => m.name === 'hooks')!;
    expect(hooksFile.startsWith(mount.mountPath + '/')).toBe(true);
    const cm = find(
      rendered.postgres,
      'ConfigMap',
      pod.volumes.find((v: any) => v.name === 'hooks').configMap.name,
    );
    expect(YAML.parse(cm.data[hooksFile.slice(mount.mountPath.length + 1)])).toEqual({
      pre: [{ container: 'postgres', command: ['sync'], onError: 'fail' }],
    });
    // Post hooks must still run after SIGTERM: the grace period outlasts the hook timeout the program is given.
    expect(plain.NSBACKUP_HOOK_TIMEOUT).toBe('300s');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(300);
  });

  it('takes secrets from Secret references only, and its own pod name and namespace from the downward API', () => {
    const env = envOf(container(podSpecOf(backup()), 'backup'));
    expect(env.get('NSBACKUP_DB_PASSWORD')).toEqual({
      name: 'NSBACKUP_DB_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'password' } },
    });
    expect(env.get('AWS_ACCESS_KEY_ID')?.valueFrom?.secretKeyRef).toEqual({
      name: 's3-credentials',
      key: 'access-key',
    });
    expect(env.get('AWS_SECRET_ACCESS_KEY')?.valueFrom?.secretKeyRef).toEqual({
      name: 's3-credentials',
      key: 'secret-key',
    });
    expect(env.get('NSBACKUP_POD_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.get('NSBACKUP_NAMESPACE')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.namespace' },
    });
    for (const [name, e] of env) {
      if (/PASSWORD|SECRET|KEY_ID|ENCRYPTION_KEY/.test(name)) expect(e.value, name).toBeUndefined();
    }
  });

  it('takes the notification URLs from a Secret when asked, so no token sits in the CronJob', () => {
    const objects = helmTemplate({
      valuesFiles: [valuesFile('postgres')],
      set: {
        'backup.notify.url': '',
        'backup.notify.failureUrl': '',
        'backup.notify.secret.name': 'pings',
        'backup.notify.secret.failureUrlKey': '',
      },
    });
    const cj = find(objects, 'CronJob', 'shop-backup');
    const env = envOf(container(podSpecOf(cj), 'backup'));
    expect(env.get('NSBACKUP_NOTIFY_URL')).toEqual({
      name: 'NSBACKUP_NOTIFY_URL',
      valueFrom: { secretKeyRef: { name: 'pings', key: 'url', optional: true } },
    });
    expect(env.has('NSBACKUP_NOTIFY_FAILURE_URL')).toBe(false); // its key set to ''
    expect(JSON.stringify(cj)).not.toContain('hc.example.com');
  });

  it('mysql values: the password by variable name, days retention, S3 settings entirely from a Secret', () => {
    const env = envOf(container(podSpecOf(find(rendered.mysql, 'CronJob', 'shop-backup')), 'backup'));
    expect(env.get('NSBACKUP_DB')?.value).toBe('mysql');
    expect(env.get('NSBACKUP_DB_TARGET')?.value).toBe('statefulset/mariadb');
    expect(env.get('NSBACKUP_DB_PASSWORD_ENV')?.value).toBe('MARIADB_ROOT_PASSWORD');
    expect(env.has('NSBACKUP_DB_PASSWORD')).toBe(false);
    expect(env.get('NSBACKUP_DISK_THRESHOLD')?.value).toBe('85');
    expect(env.get('NSBACKUP_RETAIN')?.value).toBe('days');
    expect(env.get('NSBACKUP_RETAIN_DAYS')?.value).toBe('14');
    expect(env.get('NSBACKUP_S3_DUMP')?.value).toBe('true');
    expect(env.get('NSBACKUP_CLUSTER_NAME')?.value).toBe('prod-eu');
    expect(env.get('NSBACKUP_S3_BUCKET')?.valueFrom?.secretKeyRef).toEqual({
      name: 's3-settings',
      key: 'bucket',
    });
    expect(env.get('NSBACKUP_S3_ENDPOINT')?.valueFrom?.secretKeyRef).toEqual({
      name: 's3-settings',
      key: 'endpoint',
    });
    expect(env.get('NSBACKUP_ENCRYPTION_KEY')?.valueFrom?.secretKeyRef).toEqual({
      name: 'nsbackup-key',
      key: 'key',
    });
  });
});

describe('database.type command', () => {
  const envVars = (env: Map<string, any>) =>
    Object.fromEntries([...env].filter(([, v]) => v.value !== undefined).map(([k, v]) => [k, v.value]));

  it('passes the dump command as the JSON argv the program reads, and the password variable names', () => {
    const env = envOf(container(podSpecOf(find(rendered.command, 'CronJob', 'shop-backup')), 'backup'));
    expect(env.get('NSBACKUP_DB')?.value).toBe('command');
    expect(env.get('NSBACKUP_DB_DUMP_COMMAND')?.value).toBe('["redis-cli","--rdb","-"]');
    const config = loadConfig(backupSettings, { env: envVars(env) });
    expect(config.dumpCommand).toEqual(['redis-cli', '--rdb', '-']);
    expect(config.dbPasswordEnv).toBe('REDIS_PASSWORD');
    expect(config.dbCommandPasswordEnv).toBe('REDISCLI_AUTH');
    expect(config.dumpDir).toBe('/data/nsbackup');
  });

  it('gives restore-db in the restore CronJob the restore command and the database settings, and only restore-db', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbackup-chart-'));
    try {
      const file = join(dir, 'restore-db.yaml');
      writeFileSync(file, 'restore:\n  enabled: true\n  args: [restore-db, --from, latest, --yes]\n');
      const objects = helmTemplate({ valuesFiles: [valuesFile('command'), file] });
      const c = container(podSpecOf(find(objects, 'CronJob', 'shop-restore')), 'restore');
      const env = envOf(c);
      const config = loadConfig(restoreDbSettings, {
        env: { ...envVars(env), NSBACKUP_RESTORE_FROM: 'latest' },
      });
      expect(restoreDbConnection(config)).toEqual({
        kind: 'command',
        password: { from: 'env', name: 'REDIS_PASSWORD' },
        passwordVar: 'REDISCLI_AUTH',
        command: [
          'sh',
          '-c',
          'cat > /data/dump.rdb.partial && mv /data/dump.rdb.partial /data/dump.rdb && redis-cli shutdown nosave',
        ],
      });
      expect(config.dbTarget).toBe('statefulset/redis');
      // The resource restore (the default args) gets none of it.
      const plain = helmTemplate({
        valuesFiles: [valuesFile('command')],
        set: { 'restore.enabled': 'true' },
      });
      const restoreEnv = envOf(container(podSpecOf(find(plain, 'CronJob', 'shop-restore')), 'restore'));
      expect(restoreEnv.has('NSBACKUP_DB_RESTORE_COMMAND')).toBe(false);
      expect(restoreEnv.has('NSBACKUP_DB')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ 'database.dumpCommand': 'null' }, /database\.dumpCommand is required when database\.type is command/],
    [{ 'database.dumpDir': '' }, /database\.dumpDir is required when database\.type is command/],
    [{ 'database.password.commandEnv': '' }, /database\.password\.commandEnv is required with a password/],
    [
      { 'database.type': 'postgres' },
      /database\.dumpCommand, restoreCommand and password\.commandEnv are for database\.type command, not postgres/,
    ],
  ])('%o is refused with a clear message', (set, message) => {
    expect(helmTemplateError({ valuesFiles: [valuesFile('command')], set })).toMatch(message);
  });
});

describe('every container runs a command of the front door with its own settings', () => {
  it.each(VALUES)(
    '%s: known command, valid arguments, declared variables, required settings set',
    async (name) => {
      const checked: string[] = [];
      for (const cj of ofKind(rendered[name], 'CronJob')) {
        for (const c of containersOf(podSpecOf(cj))) {
          if (c.command) continue; // the chmod init container does not run nsbackup
          const [commandName, ...argv] = c.args ?? [];
          const entry = commands[commandName];
          expect(entry, `${cj.metadata.name}: unknown command ${commandName}`).toBeDefined();
          const command = await entry.load();
          const schema: Schema = { ...command.schema, ...loggingSettings };
          expect(
            () => parseArgs(argv, schema, command.aliases),
            `${commandName} ${argv.join(' ')}`,
          ).not.toThrow();
          const declared = new Set(Object.values(schema).map((s) => s.env));
          for (const env of envOf(c).keys()) {
            if (env === 'TZ' || env.startsWith('AWS_')) continue;
            expect(declared.has(env), `${commandName}: ${env}`).toBe(true);
          }
          for (const s of Object.values(schema))
            if (s.required) expect(envOf(c).has(s.env), s.env).toBe(true);
          checked.push(commandName);
        }
      }
      expect(checked.length).toBeGreaterThan(0);
    },
  );
});

describe('retention and restore', () => {
  it('namespace install: retain runs first (init container), then mark-and-delete, for the own namespace', () => {
    const cj = find(rendered.postgres, 'CronJob', 'shop-prune');
    expect(cj.spec.concurrencyPolicy).toBe('Forbid');
    const pod = podSpecOf(cj);
    expect(pod.initContainers.map((c: Container) => c.args)).toEqual([['retain']]);
    expect(pod.containers.map((c: Container) => c.args)).toEqual([['mark-and-delete']]);
    const retain = envOf(container(pod, 'retain'));
    expect(retain.get('NSBACKUP_NAMESPACE')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.namespace' },
    });
    expect(retain.has('NSBACKUP_ALL_NAMESPACES')).toBe(false);
    expect(retain.get('NSBACKUP_KEEP_DAILY')?.value).toBe('7');
    const sweep = envOf(container(pod, 'mark-and-delete'));
    expect(sweep.get('NSBACKUP_DELETE_PAUSE')?.value).toBe('2s');
    expect(sweep.get('NSBACKUP_MAX_DELETE_COUNT')?.value).toBe('10');
    // The sweep deletes a backup's S3 folder too, so it gets the S3 settings; retain does not need them.
    expect(sweep.get('AWS_SECRET_ACCESS_KEY')?.valueFrom?.secretKeyRef?.name).toBe('s3-credentials');
    expect(retain.has('AWS_SECRET_ACCESS_KEY')).toBe(false);
  });

  it('cluster-wide pruner: every namespace, no NSBACKUP_NAMESPACE', () => {
    const cj = find(rendered['cluster-pruner'], 'CronJob', 'shop-prune');
    expect(cj.spec.schedule).toBe('0 5 * * *');
    expect(cj.spec.timeZone).toBe('America/New_York');
    for (const c of containersOf(podSpecOf(cj))) {
      const env = envOf(c);
      expect(env.get('NSBACKUP_ALL_NAMESPACES')?.value, c.name).toBe('true');
      expect(env.has('NSBACKUP_NAMESPACE'), c.name).toBe(false);
      expect(env.get('TZ')?.value).toBe('America/New_York');
    }
    expect(envOf(container(podSpecOf(cj), 'retain')).get('NSBACKUP_KEEP_DAILY')?.value).toBe('14');
    expect(envOf(container(podSpecOf(cj), 'mark-and-delete')).get('NSBACKUP_MAX_DELETE_SHARE')?.value).toBe(
      '0.3',
    );
  });

  it('the restore template is a suspended CronJob that never runs by itself', () => {
    const cj = find(rendered.postgres, 'CronJob', 'shop-restore');
    expect(cj.spec.suspend).toBe(true);
    const c = container(podSpecOf(cj), 'restore');
    expect(c.args).toEqual(['restore', '--backup', 'latest', '--dry-run']);
    expect(podSpecOf(cj).serviceAccountName).toBe('shop-restore');
  });
});

describe('pod security', () => {
  it.each(VALUES)(
    '%s: non-root, read-only root, no escalation, no capabilities, RuntimeDefault seccomp',
    (name) => {
      for (const cj of ofKind(rendered[name], 'CronJob')) {
        const pod = podSpecOf(cj);
        expect(pod.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 1000,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(cj.spec.jobTemplate.metadata.labels['app.kubernetes.io/name']).toBe('nsbackup');
        expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '1Gi' } });
        for (const c of containersOf(pod)) {
          const sc = c.securityContext!;
          expect(sc.allowPrivilegeEscalation, c.name).toBe(false);
          expect(sc.readOnlyRootFilesystem, c.name).toBe(true);
          expect(sc.privileged, c.name).toBe(false);
          expect(sc.capabilities, c.name).toEqual({ drop: ['ALL'] });
          expect(sc.seccompProfile, c.name).toEqual({ type: 'RuntimeDefault' });
          expect(c.resources?.limits?.memory, c.name).toBeTruthy();
          expect(c.resources?.requests?.cpu, c.name).toBeTruthy();
          if (c.name === 'lock-dir-permissions') continue; // the one documented uid-0 chmod
          expect(sc.runAsNonRoot, c.name).toBe(true);
          expect(c.volumeMounts, c.name).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        }
      }
    },
  );
});

describe('RBAC: exactly the documented verbs', () => {
  const grantsOf = (objects: RenderedObject[]) => {
    const out: string[] = [];
    for (const role of [...ofKind(objects, 'Role'), ...ofKind(objects, 'ClusterRole')]) {
      const who = role.metadata.labels!['app.kubernetes.io/component'];
      for (const g of grants(role)) out.push(`${who}|${role.kind}|${g}`);
    }
    return out.sort();
  };

  it('the default roles grant nothing beyond the documented table, and the README shows that table', () => {
    const objects = helmTemplate({ valuesFiles: [valuesFile('postgres')] });
    expect(grantsOf(objects)).toEqual(DOCUMENTED_GRANTS.namespace('shop'));
    expect(readmeGrants('shop')).toEqual(DOCUMENTED_GRANTS.namespace('shop'));
  });

  it('verify at level restore: the scratch Job, its pod and exec, the database pod, the assertions ConfigMap; at level integrity nothing', () => {
    const verifyGrants = (objects: RenderedObject[]) =>
      grantsOf(objects).filter((g) => g.startsWith('verify|'));
    expect(verifyGrants(rendered.verify)).toEqual(DOCUMENTED_GRANTS.verifyRestore);
    expect(readmeGrants('', 'verify')).toEqual(DOCUMENTED_GRANTS.verifyRestore);
    const integrity = helmTemplate({
      valuesFiles: [valuesFile('verify')],
      set: { 'verify.level': 'integrity' },
    });
    expect(verifyGrants(integrity)).toEqual(DOCUMENTED_GRANTS.verifyIntegrity);
    const none = helmTemplate({
      valuesFiles: [valuesFile('verify')],
      set: { 'verify.level': 'integrity', 'metrics.statusConfigMap': '' },
    });
    expect(find(none, 'Role', 'shop-verify').rules).toEqual([]);
    // rehearsal: exactly the documented ClusterRole (no Role grants), bound to verify's ServiceAccount; the pinned
    // namespace the program is told to use is the one the grant names.
    const rehearsal = helmTemplate({
      valuesFiles: [valuesFile('verify')],
      set: { 'verify.level': 'rehearsal' },
    });
    expect(verifyGrants(rehearsal)).toEqual(
      [...DOCUMENTED_GRANTS.verifyIntegrity, ...DOCUMENTED_GRANTS.verifyRehearsal('shop')].sort(),
    );
    expect(readmeGrants('shop', 'rehearsal')).toEqual(DOCUMENTED_GRANTS.verifyRehearsal('shop'));
    const env = container(podSpecOf(find(rehearsal, 'CronJob', 'shop-verify')), 'verify').env!;
    expect(env.find((e) => e.name === 'NSBACKUP_VERIFY_LEVEL')?.value).toBe('rehearsal');
    expect(env.find((e) => e.name === 'NSBACKUP_VERIFY_REHEARSAL_NAMESPACE')?.value).toBe('shop-rehearsal');
    // volumeData: the repository's password Secret, by name, at every level (the volume data is checked).
    const withVolumes = helmTemplate({
      valuesFiles: [valuesFile('verify')],
      set: { 'verify.level': 'integrity', 'volumeData.passwordSecret': 'restic' },
    });
    expect(verifyGrants(withVolumes)).toEqual(
      [...DOCUMENTED_GRANTS.verifyIntegrity, 'verify|Role|core|secrets(restic)|get'].sort(),
    );
    const volumesEnv = container(podSpecOf(find(withVolumes, 'CronJob', 'shop-verify')), 'verify').env!;
    expect(volumesEnv.find((e) => e.name === 'NSBACKUP_RESTIC_SECRET')?.value).toBe('restic');
    // Off by default: no verify objects at all.
    expect(
      rendered.postgres.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'verify'),
    ).toEqual([]);
  });

  it('lock.backend=lease adds exactly get, create, update, delete on leases, in the lock namespace only', () => {
    const added = grantsOf(rendered.lease).filter((g) => !grantsOf(rendered.postgres).includes(g));
    expect(added).toEqual(DOCUMENTED_GRANTS.leaseLock);
    expect(readmeSwitchGrants('backup (lock.backend=lease)')).toEqual(DOCUMENTED_GRANTS.leaseLock);
    const [role] = ofKind(rendered.lease, 'Role').filter((r) => grants(r).some((g) => g.includes('leases')));
    expect(role.metadata.namespace).toBe('nsbackup-locks');
    // Named after the release and its namespace: two releases "shop" of two namespaces meet in a shared one.
    expect(role.metadata.name).toBe('nsbackup-shop-shop-backup-lock');
    const binding = find(rendered.lease, 'RoleBinding', role.metadata.name);
    expect(binding.metadata.namespace).toBe('nsbackup-locks');
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'shop-backup', namespace: 'shop' }]);
    // The file backend (the default) has no Lease rights at all.
    expect(grantsOf(rendered.postgres).filter((g) => g.includes('leases'))).toEqual([]);
  });

  it('the cluster-wide pruner holds only snapshot rights, cluster-wide', () => {
    expect(grantsOf(rendered['cluster-pruner'])).toEqual(DOCUMENTED_GRANTS.clusterPruner);
    expect(readmeGrants('', 'cluster')).toEqual(DOCUMENTED_GRANTS.clusterPruner);
  });

  it('no Secret can be read unless the export is encrypted or include says so; nothing outside the namespace but snapshot contents', () => {
    for (const name of VALUES) {
      // mysql's values encrypt the export (export.encryptionKey): auto reads the Secrets there, and only there.
      const encrypted = name === 'mysql';
      for (const g of grantsOf(rendered[name])) {
        if (!encrypted || !g.startsWith('backup|Role|core|secrets|'))
          expect(g, name).not.toMatch(/\|secrets\|/);
        expect(g, name).not.toContain('*');
        if (g.includes('|ClusterRole|')) expect(g, name).toMatch(/\|volumesnapshot(content)?s\|/);
      }
    }
    const secretGrants = (set: Record<string, string>) =>
      grantsOf(helmTemplate({ valuesFiles: [valuesFile('mysql')], set })).filter((g) =>
        g.includes('|secrets|'),
      );
    // The export lists; it never reads one by name.
    const readSecrets = ['backup|Role|core|secrets|list'];
    expect(secretGrants({ 'export.secrets': 'include' })).toEqual(readSecrets);
    // auto reads Secrets only for an encrypted export: with the key's Secret named, not without.
    expect(
      secretGrants({ 'export.secrets': 'auto', 'export.encryptionKey.secretName': 'nsbackup-key' }),
    ).toEqual(readSecrets);
    expect(secretGrants({ 'export.secrets': 'auto', 'export.encryptionKey.secretName': '' })).toEqual([]);
    expect(
      secretGrants({ 'export.secrets': 'none', 'export.encryptionKey.secretName': 'nsbackup-key' }),
    ).toEqual([]);
  });

  it('the export switch adds list on the listed kinds (the export never reads one by name), and nothing else', () => {
    const base = grantsOf(rendered.none).filter((g) => g.startsWith('backup|'));
    const withExport = grantsOf(rendered.mysql).filter((g) => g.startsWith('backup|'));
    const added = withExport.filter((g) => !base.includes(g));
    expect(added.length).toBeGreaterThan(20);
    for (const g of added) expect(g).toMatch(/\|list$/);
    expect(added).toContain('backup|Role|apps|deployments|list');
    expect(added).toContain('backup|Role|core|configmaps|list');
  });

  it('export.clusterDependencies adds get (no list) on any PV, StorageClass and CRD, cluster-wide, as documented', () => {
    const objects = helmTemplate({
      valuesFiles: [valuesFile('mysql')],
      set: { 'export.clusterDependencies': 'true' },
    });
    const added = grantsOf(objects).filter((g) => !grantsOf(rendered.mysql).includes(g));
    expect(added).toEqual([
      'backup|ClusterRole|apiextensions.k8s.io|customresourcedefinitions|get',
      'backup|ClusterRole|core|persistentvolumes|get',
      'backup|ClusterRole|storage.k8s.io|storageclasses|get',
    ]);
    // No resourceNames can be known in advance (PV names are generated): the docs must not claim "by name" limits.
    const readme = readFileSync(`${CHART_DIR}/README.md`, 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| backup (export.clusterDependencies)'))!;
    expect(row).toMatch(/\*\*any\*\* PV, StorageClass and CRD/);
    expect(readFileSync(`${CHART_DIR}/values.yaml`, 'utf8')).toMatch(
      /read ANY PersistentVolume, StorageClass and CRD/,
    );
    const env = envOf(container(podSpecOf(find(objects, 'CronJob', 'shop-backup')), 'backup'));
    expect(env.get('NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES')?.value).toBe('true');
    const off = envOf(container(podSpecOf(find(rendered.mysql, 'CronJob', 'shop-backup')), 'backup'));
    expect(off.get('NSBACKUP_EXPORT')?.value).toBe('true');
    expect(off.get('NSBACKUP_EXPORT_CLUSTER_DEPENDENCIES')?.value).toBe('false');
  });

  it('the prune ClusterRole for snapshot contents can be switched off', () => {
    const objects = helmTemplate({
      valuesFiles: [valuesFile('none')],
      set: { 'prune.snapshotContents': 'false' },
    });
    expect(ofKind(objects, 'ClusterRole')).toEqual([]);
    expect(ofKind(objects, 'ClusterRoleBinding')).toEqual([]);
  });

  it('the restore may update existing objects only when its preferences say existing: update', () => {
    const restoreGrants = (set: Record<string, string>) =>
      grantsOf(helmTemplate({ valuesFiles: [valuesFile('postgres')], set })).filter((g) =>
        g.startsWith('restore|'),
      );
    const skip = restoreGrants({});
    // The one update a skipping restore may make: merging the backup's additions into the default ServiceAccount.
    expect(skip.filter((g) => /\|(patch|update)$/.test(g))).toEqual([
      'restore|Role|core|serviceaccounts(default)|update',
    ]);
    const update = restoreGrants({
      'restore.preferences.existing': 'update',
      'restore.restoreSecrets': 'true',
    });
    const added = update.filter((g) => !skip.includes(g));
    expect(added).toContain('restore|Role|apps|deployments|update');
    expect(added).toContain('restore|Role|core|secrets|update');
    for (const g of added) expect(g).toMatch(/\|(update|get|list|create)$/);
    expect(added.filter((g) => g.endsWith('|patch'))).toEqual([]);
  });

  it('restore-pvc --replace-in may patch Deployments and StatefulSets, and nothing else more', () => {
    const restoreGrants = (args: string) =>
      grantsOf(helmTemplate({ valuesFiles: [valuesFile('postgres')], set: { 'restore.args': args } })).filter(
        (g) => g.startsWith('restore|'),
      );
    const plain = restoreGrants('{restore-pvc,data-20260301,--as,data-restored}');
    const replacing = restoreGrants(
      '{restore-pvc,data-20260301,--as,data-restored,--replace-in,deployment/db}',
    );
    expect(plain.filter((g) => g.endsWith('|patch'))).toEqual([]);
    expect(replacing.filter((g) => !plain.includes(g))).toEqual([
      'restore|Role|apps|deployments|patch',
      'restore|Role|apps|statefulsets|patch',
    ]);
  });

  it("volumeData adds exactly the movers' rights to the backup, and the one password Secret to prune and restore", () => {
    const set = { 'volumeData.pvcs[0]': 'data', 'volumeData.passwordSecret': 'restic' };
    const objects = helmTemplate({ valuesFiles: [valuesFile('postgres')], set });
    const added = grantsOf(objects).filter((g) => !grantsOf(rendered.postgres).includes(g));
    expect(added).toEqual([
      'backup|Role|batch|jobs|create',
      'backup|Role|batch|jobs|delete',
      'backup|Role|core|persistentvolumeclaims|create',
      'backup|Role|core|persistentvolumeclaims|delete',
      'backup|Role|core|pods/log|get',
      'prune|Role|core|secrets(restic)|get',
      // (restore may already create Jobs: batch jobs are in restore.rbacResources)
      'restore|Role|batch|jobs|delete',
      'restore|Role|core|persistentvolumeclaims|delete',
      'restore|Role|core|pods/log|get',
      'restore|Role|core|secrets(restic)|get',
    ]);
    const cluster = helmTemplate({
      valuesFiles: [valuesFile('cluster-pruner')],
      set: { 'volumeData.passwordSecret': 'restic' },
    });
    expect(grantsOf(cluster).filter((g) => !grantsOf(rendered['cluster-pruner']).includes(g))).toEqual([
      'prune|ClusterRole|core|secrets(restic)|get',
    ]);
  });

  it('volumeData.directPvcs adds the mover Jobs and their logs to the backup, no claim rights: as the README says', () => {
    const set = { 'volumeData.directPvcs[0]': 'shared', 'volumeData.passwordSecret': 'restic' };
    const added = grantsOf(helmTemplate({ valuesFiles: [valuesFile('postgres')], set }))
      .filter((g) => !grantsOf(rendered.postgres).includes(g))
      .filter((g) => g.startsWith('backup|'));
    expect(added).toEqual([
      'backup|Role|batch|jobs|create',
      'backup|Role|batch|jobs|delete',
      'backup|Role|core|pods/log|get',
    ]);
    expect(readmeSwitchGrants('backup (volumeData)', 'Role', 'volumeData.directPvcs')).toEqual(added);
    // Which node holds a ReadWriteOnce claim: the pods, which every backup Role may list already.
    expect(grantsOf(rendered.postgres)).toContain('backup|Role|core|pods|list');
  });

  it('every binding binds its own ServiceAccount to a role that exists', () => {
    for (const name of VALUES) {
      const bindings = [
        ...ofKind(rendered[name], 'RoleBinding'),
        ...ofKind(rendered[name], 'ClusterRoleBinding'),
      ];
      for (const b of bindings) {
        const component = b.metadata.labels!['app.kubernetes.io/component'];
        expect(b.subjects).toEqual([
          { kind: 'ServiceAccount', name: `shop-${component}`, namespace: 'shop' },
        ]);
        find(rendered[name], 'ServiceAccount', `shop-${component}`);
        find(rendered[name], b.roleRef.kind, b.roleRef.name);
      }
    }
  });
});

describe('volume data (volumeData)', () => {
  const set = { 'volumeData.pvcs[0]': 'data', 'volumeData.passwordSecret': 'restic' };

  it('wires the backup (movers of this image, S3 keys by reference), the pruner (check first) and the restore', () => {
    const objects = helmTemplate({ valuesFiles: [valuesFile('postgres')], set });
    const backup = envOf(container(podSpecOf(find(objects, 'CronJob', 'shop-backup')), 'backup'));
    expect(backup.get('NSBACKUP_PVC_DATA')?.value).toBe('data');
    expect(backup.get('NSBACKUP_RESTIC_SECRET')?.value).toBe('restic');
    expect(backup.get('NSBACKUP_MOVER_IMAGE')?.value).toMatch(/^ghcr\.io\/nsbackup\/nsbackup:/);
    expect(backup.get('NSBACKUP_S3_SECRET')?.value).toBe('s3-credentials');
    expect(backup.get('NSBACKUP_S3_SECRET_KEYS')?.value).toBe(
      'AWS_ACCESS_KEY_ID=access-key,AWS_SECRET_ACCESS_KEY=secret-key',
    );
    const prune = podSpecOf(find(objects, 'CronJob', 'shop-prune'));
    expect(prune.initContainers.map((c: Container) => c.name)).toEqual(['volume-check', 'retain']);
    expect(container(prune, 'volume-check').args).toEqual(['volume-check']);
    expect(envOf(container(prune, 'mark-and-delete')).get('NSBACKUP_RESTIC_SECRET')?.value).toBe('restic');
    const restore = envOf(container(podSpecOf(find(objects, 'CronJob', 'shop-restore')), 'restore'));
    expect(restore.get('NSBACKUP_RESTIC_SECRET')?.value).toBe('restic');
    // Every variable the chart sets is one the program reads.
    for (const c of [
      ...containersOf(podSpecOf(find(objects, 'CronJob', 'shop-backup'))),
      ...containersOf(prune),
    ])
      for (const name of envOf(c).keys())
        if (name.startsWith('NSBACKUP_')) expect(KNOWN_VARIABLES.has(name), name).toBe(true);
  });

  it('directPvcs: NSBACKUP_PVC_DATA_DIRECT in the backup, no NSBACKUP_PVC_DATA, the check in the pruner', () => {
    const objects = helmTemplate({
      valuesFiles: [valuesFile('postgres')],
      set: { 'volumeData.directPvcs': '{shared,home}', 'volumeData.passwordSecret': 'restic' },
    });
    const backup = envOf(container(podSpecOf(find(objects, 'CronJob', 'shop-backup')), 'backup'));
    expect(backup.get('NSBACKUP_PVC_DATA_DIRECT')?.value).toBe('shared,home');
    expect(backup.has('NSBACKUP_PVC_DATA')).toBe(false);
    expect(backup.get('NSBACKUP_RESTIC_SECRET')?.value).toBe('restic');
    expect(backup.get('NSBACKUP_MOVER_IMAGE')?.value).toMatch(/^ghcr\.io\/nsbackup\/nsbackup:/);
    const prune = podSpecOf(find(objects, 'CronJob', 'shop-prune'));
    expect(prune.initContainers.map((c: Container) => c.name)).toEqual(['volume-check', 'retain']);
  });

  it('directPvcs: refuses a PVC also in pvcs, or no password Secret', () => {
    expect(
      helmTemplateError({
        valuesFiles: [valuesFile('postgres')],
        set: { ...set, 'volumeData.directPvcs[0]': 'data' },
      }),
    ).toMatch(/volumeData: data is in both pvcs \(from a snapshot\) and directPvcs \(from the live claim\)/);
    expect(
      helmTemplateError({
        valuesFiles: [valuesFile('postgres')],
        set: { 'volumeData.directPvcs[0]': 'shared' },
      }),
    ).toMatch(/volumeData.directPvcs needs volumeData.passwordSecret/);
  });

  it('refuses a PVC that is not snapshotted, or no password Secret', () => {
    expect(
      helmTemplateError({
        valuesFiles: [valuesFile('postgres')],
        set: { ...set, 'volumeData.pvcs[0]': 'logs' },
      }),
    ).toMatch(/volumeData.pvcs: logs is not in backup.pvcs/);
    expect(
      helmTemplateError({ valuesFiles: [valuesFile('postgres')], set: { 'volumeData.pvcs[0]': 'data' } }),
    ).toMatch(/volumeData.pvcs needs volumeData.passwordSecret/);
  });
});

describe('NOTES.txt', () => {
  it('prints the ad-hoc backup, pin, expire and list commands', () => {
    const res = helm([
      'install',
      'shop',
      CHART_DIR,
      '--dry-run=client',
      '--namespace',
      'shop',
      '--values',
      valuesFile('postgres'),
    ]);
    expect(res.status, res.stderr).toBe(0);
    const notes = res.stdout.slice(res.stdout.indexOf('NOTES:'));
    expect(notes).toContain('kubectl -n shop create job --from=cronjob/shop-backup shop-adhoc-$(date +%s)');
    expect(notes).toContain('kubectl -n shop label volumesnapshot <name> nsbackup.io/pin=true');
    // A past date that needs no GNU date (macOS has none).
    expect(notes).toContain('nsbackup.io/delete-after=2000-01-01 --overwrite');
    expect(notes).not.toContain('date -d');
    // Whether a run succeeded, and how to get the CLI.
    expect(notes).toContain('kubectl -n shop get jobs -l app.kubernetes.io/name=nsbackup');
    expect(notes).toContain('kubectl -n shop logs job/<job name> --all-containers | tail -n 1');
    expect(notes).toContain('npm run package');
    expect(notes).toContain('nsbackup list -n shop');
    expect(notes).toContain(
      'kubectl -n shop create job --from=cronjob/shop-restore shop-restore-$(date +%s)',
    );
    // The status ConfigMap (on by default) and how to read it.
    expect(notes).toContain('kubectl -n shop get configmap nsbackup-status -o yaml');
    expect(notes).toContain('nsbackup status -n shop --max-age 26h');
  });
});

describe('NOTES.txt of the cluster-wide pruner', () => {
  it('prints commands for every namespace (-A) or a namespace placeholder, never the pruner namespace', () => {
    const res = helm([
      'install',
      'pruner',
      CHART_DIR,
      '--dry-run=client',
      '--namespace',
      'nsbackup-system',
      '--values',
      valuesFile('cluster-pruner'),
    ]);
    expect(res.status, res.stderr).toBe(0);
    const notes = res.stdout.slice(res.stdout.indexOf('NOTES:'));
    expect(notes).toContain(
      'kubectl -n nsbackup-system create job --from=cronjob/pruner-prune pruner-prune-$(date +%s)',
    );
    expect(notes).toContain('nsbackup list -A');
    expect(notes).toContain('kubectl -A get volumesnapshots');
    expect(notes).toContain('kubectl -n <namespace> label volumesnapshot <name> nsbackup.io/pin=true');
    expect(notes).toContain('kubectl -n <namespace> label volumesnapshot <name> nsbackup.io/delete-after=');
    expect(notes.match(/-n nsbackup-system/g)).toHaveLength(1); // only the Job of the pruner itself
  });
});

describe('chart README', () => {
  it('documents every top-level value', () => {
    const readme = readFileSync(`${CHART_DIR}/README.md`, 'utf8');
    const values = YAML.parse(readFileSync(`${CHART_DIR}/values.yaml`, 'utf8')) as Record<string, unknown>;
    for (const key of Object.keys(values)) expect(readme, key).toContain(`\`${key}`);
  });
});
