// The pure decisions of a backup run: names, labels, targets, hooks, backup type, cross-field settings.
import { describe, expect, it } from 'vitest';
import { parseHooksFile } from '../../lib/backup/hooks.js';
import { backupIdFor, snapshotNameFor, stamp } from '../../lib/naming.js';
import { planBackup } from '../../lib/backup/plan.js';
import { backupSettings } from '../../lib/backup/settings.js';
import { snapshotAnnotations, snapshotLabels } from '../../lib/backup/snapshot-labels.js';
import { unmountedPvcs } from '../../lib/backup/checks.js';
import type { LabelInputs } from '../../lib/backup/snapshot-labels.js';
import { choosePod, parseTarget, selectorString } from '../../lib/exec/target.js';
import { typeOfJob } from '../../lib/backup/backup-type.js';
import { ConfigError, loadConfig } from '../../lib/config/index.js';
import type { SnapshotRecord } from '../../lib/retention/index.js';

const at = new Date('2026-11-21T13:49:20.123Z');

describe('names', () => {
  it('names a snapshot <pvc>-<yyyyMMdd-HHmmss>-<6 random> in UTC', () => {
    expect(stamp(at)).toBe('20261121-134920');
    expect(snapshotNameFor('data', at, () => 0)).toBe('data-20261121-134920-aaaaaa');
    expect(backupIdFor(at, () => 0.99)).toBe('20261121-134920-999999');
  });

  it('cuts a long PVC name so the whole name stays within 63 characters and ends cleanly', () => {
    const pvc = 'a'.repeat(39) + '-' + 'b'.repeat(20); // the cut falls right after the dash
    const name = snapshotNameFor(pvc, at, Math.random);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^a{39}-20261121-134920-[a-z0-9]{6}$/);
  });

  it('gives two snapshots in the same second different names', () => {
    expect(snapshotNameFor('data', at)).not.toBe(snapshotNameFor('data', at));
  });
});

const record = (pvc: string, labels: Record<string, string>, extra: Partial<SnapshotRecord> = {}) => ({
  namespace: 'shop',
  name: `${pvc}-old`,
  pvc,
  createdAt: '2026-11-21T08:00:00Z',
  ready: true,
  failed: false,
  labels: { 'nsbackup.io/retain': 'gfs', 'nsbackup.io/pvc': pvc, ...labels },
  ...extra,
});

const inputs = (over: Partial<LabelInputs>): LabelInputs => ({
  backupId: 'b1',
  pvc: 'data',
  type: 'scheduled',
  retain: { policy: 'gfs' },
  createdAt: at.toISOString(),
  timeZone: 'Europe/Berlin',
  existingOfSamePvc: [],
  ...over,
});

describe('snapshot labels', () => {
  it('gives the first backup of a PVC every period label', () => {
    expect(snapshotLabels(inputs({}))).toEqual({
      'nsbackup.io/backup': 'b1',
      'nsbackup.io/pvc': 'data',
      'nsbackup.io/type': 'scheduled',
      'nsbackup.io/retain': 'gfs',
      'nsbackup.io/daily': '2026-11-21',
      'nsbackup.io/weekly': '2026-w47',
      'nsbackup.io/monthly': '2026-11',
      // Always labelled; the pruner's NSBACKUP_KEEP_YEARLY decides whether it stays.
      'nsbackup.io/yearly': '2026',
    });
  });

  it('leaves out the periods the same PVC already holds, and ignores failed holders', () => {
    const labels = snapshotLabels(
      inputs({
        existingOfSamePvc: [
          record('data', { 'nsbackup.io/daily': '2026-11-21', 'nsbackup.io/weekly': '2026-w47' }),
          record('data', { 'nsbackup.io/monthly': '2026-11' }, { failed: true }),
        ],
      }),
    );
    expect(labels['nsbackup.io/daily']).toBeUndefined();
    expect(labels['nsbackup.io/weekly']).toBeUndefined();
    expect(labels['nsbackup.io/monthly']).toBe('2026-11');
  });

  it('uses TZ dates and the ISO week-year across a year boundary', () => {
    // 23:30 UTC on Dec 31 2026 is already Jan 1 2027 in Berlin; that day is in ISO week 53 of 2026.
    const labels = snapshotLabels(inputs({ createdAt: '2026-12-31T23:30:00Z' }));
    expect(labels['nsbackup.io/daily']).toBe('2027-01-01');
    expect(labels['nsbackup.io/weekly']).toBe('2026-w53');
    expect(labels['nsbackup.io/monthly']).toBe('2027-01');
  });

  it('records delete-after for days and the encoded deltas for deltas', () => {
    expect(snapshotLabels(inputs({ retain: { policy: 'days', days: 10 } }))).toMatchObject({
      'nsbackup.io/retain': 'days',
      'nsbackup.io/delete-after': '2026-12-01',
    });
    const deltas = snapshotLabels(inputs({ retain: { policy: 'deltas', deltas: 'PT1H P1D P7D' } }));
    expect(deltas['nsbackup.io/deltas']).toBe('PT1H_P1D_P7D');
    expect(deltas['nsbackup.io/daily']).toBeUndefined();
  });

  it('gives an ad-hoc backup a keep-until date, 30 days by default in the CLI and chart, a scheduled one none', () => {
    // `at` is 2026-11-21 in Berlin.
    expect(snapshotLabels(inputs({ type: 'adhoc', adhocKeepDays: 30 }))).toMatchObject({
      'nsbackup.io/type': 'adhoc',
      'nsbackup.io/keep-until': '2026-12-21',
    });
    expect(snapshotLabels(inputs({ adhocKeepDays: 30 }))['nsbackup.io/keep-until']).toBeUndefined();
    expect(
      snapshotLabels(inputs({ type: 'adhoc', adhocKeepDays: 0 }))['nsbackup.io/keep-until'],
    ).toBeUndefined();
    // Under days, the ad-hoc floor moves delete-after out, never in.
    expect(
      snapshotLabels(inputs({ type: 'adhoc', adhocKeepDays: 30, retain: { policy: 'days', days: 10 } })),
    ).toMatchObject({ 'nsbackup.io/delete-after': '2026-12-21', 'nsbackup.io/keep-until': '2026-12-21' });
    expect(
      snapshotLabels(inputs({ type: 'adhoc', adhocKeepDays: 30, retain: { policy: 'days', days: 90 } })),
    ).toMatchObject({ 'nsbackup.io/delete-after': '2027-02-19' });
  });

  it('annotates dump facts in the order of the dump paths', () => {
    const a = snapshotAnnotations({
      config: { db: 'postgres' },
      version: '0.1.0',
      dump: {
        files: [
          { path: '/d/a.sql.gz', database: 'a', sizeBytes: 10, sha256: 'aa' },
          { path: '/d/b.sql.gz', database: 'b', sizeBytes: 20, sha256: 'bb' },
        ],
        durationMs: 1234,
      },
    });
    expect(a).toMatchObject({
      'nsbackup.io/dump-path': '/d/a.sql.gz,/d/b.sql.gz',
      'nsbackup.io/dump-size': '10,20',
      'nsbackup.io/dump-sha256': 'aa,bb',
      'nsbackup.io/dump-duration': '1.2s',
      'nsbackup.io/version': '0.1.0',
    });
    expect(JSON.parse(a['nsbackup.io/config'])).toEqual({ db: 'postgres' });
  });
});

const pod = (name: string, over: any = {}) => ({
  metadata: { name },
  spec: { containers: [{ name: 'postgres' }, { name: 'exporter' }] },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [{ name: 'postgres', ready: true }],
  },
  ...over,
});

describe('exec target', () => {
  it('parses workload references and refuses others', () => {
    expect(parseTarget('deploy/db')).toEqual({ kind: 'deployment', name: 'db' });
    expect(parseTarget('statefulset/db')).toEqual({ kind: 'statefulset', name: 'db' });
    expect(() => parseTarget('service/db')).toThrow(/deployment\/NAME/);
  });

  it('turns a workload selector into a label selector', () => {
    expect(
      selectorString({
        matchLabels: { app: 'db' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'canary', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=db,tier in (a,b),!canary');
  });

  it('picks a Running and Ready pod with the container, and says why others were refused', () => {
    const notReady = pod('db-a', {
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] },
    });
    const chosen = choosePod('deployment/db', [pod('db-b'), notReady], 'postgres');
    expect('pod' in chosen && chosen.pod.metadata.name).toBe('db-b');
    const none = choosePod(
      'deployment/db',
      [notReady, pod('db-c', { status: { phase: 'Pending' } })],
      'postgres',
    );
    expect('error' in none && none.error).toMatch(/db-a is Running but not Ready.*db-c is Pending/);
    const wrong = choosePod('pod/db-b', [pod('db-b')], 'mysql');
    expect('error' in wrong && wrong.error).toMatch(
      /no container "mysql" \(containers: postgres, exporter\)/,
    );
    const ambiguous = choosePod('pod/db-b', [pod('db-b')], undefined);
    expect('error' in ambiguous && ambiguous.error).toMatch(/several containers/);
  });
});

describe('hooks file', () => {
  it('reads pre and post hooks with defaults', () => {
    const hooks = parseHooksFile({
      pre: [{ container: 'app', command: ['sh', '-c', 'sync'] }],
      post: [{ name: 'resume', target: 'deployment/web', command: ['true'], onError: 'continue' }],
    });
    expect(hooks.pre[0]).toMatchObject({ name: 'sh -c sync', onError: 'fail', container: 'app' });
    expect(hooks.post[0]).toMatchObject({ name: 'resume', target: 'deployment/web', onError: 'continue' });
  });

  it('names every problem with its place', () => {
    expect(() => parseHooksFile({ pre: [{ command: 'sync', onError: 'ignore' }], during: [] })).toThrow(
      /unknown key\(s\) during.*pre\[0\]\.command must be a non-empty list.*pre\[0\]\.onError/,
    );
  });
});

describe('backup type', () => {
  it('is adhoc for a Job created from a CronJob by hand, scheduled for the CronJob controller', () => {
    const owner = [{ kind: 'CronJob', name: 'backup' }];
    expect(typeOfJob({ metadata: { name: 'j', ownerReferences: owner } })).toBe('scheduled');
    expect(
      typeOfJob({
        metadata: {
          name: 'j',
          ownerReferences: owner,
          annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
        },
      }),
    ).toBe('adhoc');
    expect(typeOfJob({ metadata: { name: 'j' } })).toBe('adhoc');
  });
});

describe('settings across fields', () => {
  const plan = (env: Record<string, string>) => planBackup(loadConfig(backupSettings, { env }), env);

  it('requires NSBACKUP_DB, with no default', () => {
    expect(() => loadConfig(backupSettings, { env: { NSBACKUP_PVC: 'data' } })).toThrow(
      /NSBACKUP_DB is required/,
    );
  });

  it('lists every cross-field problem at once', () => {
    const error = (() => {
      try {
        plan({
          NSBACKUP_DB: 'postgres',
          NSBACKUP_RETAIN: 'days',
          NSBACKUP_DB_PASSWORD: 'pw',
          NSBACKUP_DB_PASSWORD_ENV: 'POSTGRES_PASSWORD',
          NSBACKUP_S3_DUMP: 'true',
        });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems.join('\n')).toMatch(/needs NSBACKUP_DB_TARGET/);
    expect(error.problems.join('\n')).toMatch(/NSBACKUP_RETAIN=days needs NSBACKUP_RETAIN_DAYS/);
    expect(error.problems.join('\n')).toMatch(/both set/);
    expect(error.problems.join('\n')).toMatch(/NSBACKUP_S3_DUMP needs NSBACKUP_S3_BUCKET/);
    expect(error.message).not.toContain('pw');
  });

  it('refuses two databases that would be dumped to one file, and a newline splitting a name', () => {
    const error = (() => {
      try {
        plan({
          NSBACKUP_DB: 'postgres',
          NSBACKUP_DB_TARGET: 'deployment/db',
          NSBACKUP_DB_NAMES: 'shop,my db,my_db,shop',
        });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([
      'NSBACKUP_DB_NAMES: "shop" and "shop" would be dumped to the same file shop.sql.gz',
      'NSBACKUP_DB_NAMES: "my db" and "my_db" would be dumped to the same file my_db.sql.gz',
    ]);
    expect(() =>
      plan({ NSBACKUP_DB: 'postgres', NSBACKUP_DB_TARGET: 'deployment/db', NSBACKUP_DB_NAMES: 'shop\nevil' }),
    ).toThrow(/NSBACKUP_DB_NAMES \(got[\s\S]*must not contain control characters/);
  });

  it('plans a dump command from its JSON argv, and lists what a command type is missing or cannot use', () => {
    const ok = plan({
      NSBACKUP_DB: 'command',
      NSBACKUP_DB_TARGET: 'statefulset/cache',
      NSBACKUP_DB_DUMP_COMMAND: '["redis-cli", "--rdb", "-"]',
      NSBACKUP_DUMP_DIR: '/data/nsbackup',
      NSBACKUP_DB_PASSWORD_ENV: 'REDIS_PASSWORD',
      NSBACKUP_DB_COMMAND_PASSWORD_ENV: 'REDISCLI_AUTH',
    });
    expect(ok.database).toMatchObject({
      kind: 'command',
      command: ['redis-cli', '--rdb', '-'],
      passwordEnv: 'REDIS_PASSWORD',
      commandPasswordEnv: 'REDISCLI_AUTH',
      dumpDir: '/data/nsbackup',
      user: '',
    });
    expect(ok.recordedConfig).toMatchObject({ db: 'command', dbCommand: 'redis-cli' });

    const problems = (env: Record<string, string>) => {
      try {
        plan(env);
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };
    expect(
      problems({
        NSBACKUP_DB: 'command',
        NSBACKUP_DB_TARGET: 'statefulset/cache',
        NSBACKUP_DB_NAMES: 'a,b',
        NSBACKUP_DB_HOST: 'redis',
        NSBACKUP_DB_PASSWORD: 'pw',
      }),
    ).toEqual([
      'NSBACKUP_DB=command needs NSBACKUP_DB_DUMP_COMMAND, the command whose stdout is the dump, as a JSON array (e.g. ["redis-cli","--rdb","-"])',
      'NSBACKUP_DB=command needs NSBACKUP_DUMP_DIR, a directory in the container on a snapshotted PVC (e.g. /data/nsbackup)',
      'NSBACKUP_DB_NAMES: a command writes one dump; give at most one name for it',
      "NSBACKUP_DB_HOST does not apply to NSBACKUP_DB=command: put it in the command's arguments",
      'NSBACKUP_DB=command with a password needs NSBACKUP_DB_COMMAND_PASSWORD_ENV, the variable the command reads it from (e.g. REDISCLI_AUTH)',
    ]);
    expect(
      problems({
        NSBACKUP_DB: 'postgres',
        NSBACKUP_DB_TARGET: 'deployment/db',
        NSBACKUP_DB_DUMP_COMMAND: '["pg_dumpall"]',
      }),
    ).toEqual(['NSBACKUP_DB_DUMP_COMMAND is set but NSBACKUP_DB is postgres, not command']);
    // A shell line is not an argv: refused when loading, naming the variable.
    expect(() =>
      plan({
        NSBACKUP_DB: 'command',
        NSBACKUP_DB_DUMP_COMMAND: 'redis-cli --rdb -',
        NSBACKUP_DUMP_DIR: '/d',
      }),
    ).toThrow(/NSBACKUP_DB_DUMP_COMMAND \(got "redis-cli --rdb -"\) must be a JSON array of strings/);
  });

  it('refuses bad deltas, a bad time zone and a run with nothing to back up', () => {
    expect(() =>
      plan({
        NSBACKUP_DB: 'none',
        NSBACKUP_PVC: 'd',
        NSBACKUP_RETAIN: 'deltas',
        NSBACKUP_RETAIN_DELTAS: 'P1D',
      }),
    ).toThrow(/at least two/);
    expect(() => plan({ NSBACKUP_DB: 'none', NSBACKUP_PVC: 'd', TZ: 'Mars/Olympus' })).toThrow(
      /TZ \(got "Mars\/Olympus"\) must be an IANA time zone/,
    );
    // TZ is a declared setting: the glibc form is accepted and the plan carries the zone.
    expect(plan({ NSBACKUP_DB: 'none', NSBACKUP_PVC: 'd', TZ: ':Europe/Berlin' }).timeZone).toBe(
      'Europe/Berlin',
    );
    expect(() => plan({ NSBACKUP_DB: 'none' })).toThrow(/nothing to back up/);
  });

  it('fills per-database defaults and keeps secrets out of the recorded configuration', () => {
    const p = plan({
      NSBACKUP_DB: 'mysql',
      NSBACKUP_DB_TARGET: 'statefulset/db',
      NSBACKUP_DB_PASSWORD: 'hunter2',
      NSBACKUP_PVC: 'data',
      NSBACKUP_DRY_RUN: 'true',
      TZ: 'UTC',
    });
    expect(p.database).toMatchObject({ user: 'root', dumpDir: '/var/lib/mysql', diskThreshold: 90 });
    expect(p.lock).toBeUndefined(); // a dry run takes no lock
    expect(JSON.stringify(p.recordedConfig)).not.toContain('hunter2');
    expect(p.recordedConfig).toMatchObject({ dbPasswordFrom: 'job', retain: { policy: 'gfs' } });
  });
});

describe('PVCs no pod mounts', () => {
  const pod = (claims: string[], phase = 'Running') => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p-${claims.join('-')}` },
    spec: { volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) },
    status: { phase },
  });

  it('names the claims to snapshot that no live pod mounts (after restore-pvc --replace-in: the old one)', () => {
    const pods = [pod(['data-restored']), pod(['cache']), pod(['data'], 'Succeeded')];
    expect(unmountedPvcs(pods as any, ['data', 'cache'])).toEqual(['data']);
    expect(unmountedPvcs(pods as any, ['data-restored', 'cache'])).toEqual([]);
  });
});
