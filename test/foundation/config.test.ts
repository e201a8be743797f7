import { describe, expect, it } from 'vitest';
import {
  bool,
  ConfigError,
  duration,
  helpText,
  int,
  list,
  loadConfig,
  markdownTable,
  oneOf,
  parseArgs,
  secret,
  str,
} from '../../lib/config/index.js';

const schema = {
  namespace: str({ env: 'NSBACKUP_NAMESPACE', flag: '--namespace', description: 'Namespace.' }),
  pvcs: list({ env: 'NSBACKUP_PVC', description: 'PVCs.', item: /^[a-z0-9.-]+$/, itemText: 'PVC names' }),
  db: oneOf(['postgres', 'mysql', 'none'] as const, {
    env: 'NSBACKUP_DB',
    required: true,
    description: 'DB.',
  }),
  slots: int({
    env: 'NSBACKUP_LOCK_SLOTS',
    min: 1,
    default: () => 3,
    defaultText: 'CPUs / 2',
    description: 'Slots.',
  }),
  timeout: duration({ env: 'NSBACKUP_LOCK_TIMEOUT', default: 3_600_000, description: 'Timeout.' }),
  dryRun: bool({ env: 'NSBACKUP_DRY_RUN', flag: '--dry-run', default: false, description: 'Dry run.' }),
  password: secret({ env: 'NSBACKUP_DB_PASSWORD', description: 'Password.' }),
};

describe('configuration', () => {
  it('parses every type from the environment, with defaults', () => {
    const c = loadConfig(schema, {
      env: { NSBACKUP_DB: 'postgres', NSBACKUP_PVC: 'data, wal', NSBACKUP_LOCK_TIMEOUT: '1h30m' },
    });
    expect(c).toEqual({
      namespace: '',
      pvcs: ['data', 'wal'],
      db: 'postgres',
      slots: 3,
      timeout: 5_400_000,
      dryRun: false,
      password: '',
    });
  });

  it('names the variable, the problem and the accepted form, for every bad value at once', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig(schema, {
        env: { NSBACKUP_DB: 'oracle', NSBACKUP_LOCK_SLOTS: '0', NSBACKUP_DRY_RUN: 'maybe' },
      });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems).toEqual([
      'NSBACKUP_DB (got "oracle") must be one of: postgres, mysql, none',
      'NSBACKUP_LOCK_SLOTS (got "0") must be an integer >= 1',
      'NSBACKUP_DRY_RUN (got "maybe") must be true or false (also accepted: 1/0, yes/no, on/off)',
    ]);
  });

  it('says a required variable is missing', () => {
    expect(() => loadConfig(schema, { env: {} })).toThrow(
      'NSBACKUP_DB is required; expected one of: postgres, mysql, none',
    );
  });

  it('never echoes a secret value in an error', () => {
    const s = { key: secret({ env: 'K', description: 'k' }) };
    const bad = {
      ...s.key,
      parse: () => {
        throw new Error('must be 32 bytes');
      },
    };
    expect(() => loadConfig({ key: bad }, { env: { K: 'hunter2-very-secret' } })).toThrow(/^(?!.*hunter2)/s);
  });

  it('lets flags override variables, with aliases, bare booleans and repeated values', () => {
    const args = parseArgs(['-n', 'shop', '--dry-run', 'extra'], schema, { '-n': '--namespace' });
    expect(args.positional).toEqual(['extra']);
    const c = loadConfig(schema, {
      env: { NSBACKUP_DB: 'none', NSBACKUP_NAMESPACE: 'other' },
      args,
      positional: ['namespace'],
    });
    // The positional slot wins over the flag for the same key only when given; here it is.
    expect(c.namespace).toBe('extra');
    expect(c.dryRun).toBe(true);
    expect(() => parseArgs(['--nope'], schema)).toThrow(/unknown option --nope/);
  });

  it('generates --help and the README table from the same schema', () => {
    const help = helpText('nsbackup x', 'Does x.', schema, { all: true });
    expect(help).toContain('--namespace, NSBACKUP_NAMESPACE');
    expect(help).toContain('NSBACKUP_DB [required]');
    expect(help).toContain('NSBACKUP_LOCK_SLOTS [default: CPUs / 2]');
    // The short help leaves out what only a CronJob sets (no flag, not required), and says how to see it.
    const short = helpText('nsbackup x', 'Does x.', schema);
    expect(short).toContain('NSBACKUP_DB [required]');
    expect(short).not.toContain('NSBACKUP_LOCK_SLOTS');
    expect(short).toContain('--help-all');
    const table = markdownTable(schema);
    expect(table).toContain('| `NSBACKUP_LOCK_TIMEOUT` |  | `1h` | a duration');
    expect(table.split('\n')).toHaveLength(2 + Object.keys(schema).length);
  });
});

describe('computed defaults', () => {
  it('read the environment being loaded, not the process environment', async () => {
    const { s3Settings } = await import('../../lib/s3/index.js');
    const c = loadConfig(s3Settings, {
      env: { NSBACKUP_S3_ENDPOINT: 'http://127.0.0.1:9000', AWS_REGION: 'eu-west-3' },
    });
    expect(c.s3ForcePathStyle).toBe(true);
    expect(c.s3Region).toBe('eu-west-3');
    expect(loadConfig(s3Settings, { env: {} }).s3ForcePathStyle).toBe(false);
  });
});
