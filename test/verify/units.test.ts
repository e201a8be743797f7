// The pure parts of the restore and rehearsal levels: the truthiness rule of assertions, where a query runs, the roles a pg_dump
// names, and the scratch Job's spec (the production pod's image and user, nothing of its storage or credentials).
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/command.js';
import { command as verifyCommand } from '../../scripts/verify.js';
import { assertionsFromConfigMap, defaultDatabase, judgeOutput } from '../../lib/verify/assertions.js';
import { createDumpScanner, scanRoles } from '../../lib/verify/dump-scan.js';
import { databaseImageOf, scratchJobManifest, scratchJobName } from '../../lib/verify/scratch-job.js';
import {
  namespaceVerdict,
  REHEARSAL_LABEL,
  rehearsalForm,
  rehearsalNamespaceName,
} from '../../lib/verify/rehearsal-plan.js';
import { dataSubsetOf, snapshotChecks } from '../../lib/verify/volumes.js';

describe('assertions', () => {
  it.each([
    ['t', true],
    ['1', true],
    ['2000', true],
    ['yes', true],
    ['f', false],
    ['false', false],
    ['0', false],
    ['0.00', false],
    ['', false],
    ['NULL', false],
  ])('a single value %j passes: %s', (value, ok) => {
    expect(judgeOutput('postgres', value + '\n').ok).toBe(ok);
    expect(judgeOutput('mysql', value + '\n').ok).toBe(ok);
  });

  it('one row of one column only', () => {
    expect(judgeOutput('postgres', 't\nt\n')).toMatchObject({
      ok: false,
      problem: 'returned 2 rows, expected one row of one column',
    });
    expect(judgeOutput('postgres', 't\x1ft\n')).toMatchObject({
      ok: false,
      problem: 'returned 2 columns, expected one row of one column',
    });
    expect(judgeOutput('mysql', '1\t1\n').ok).toBe(false);
    expect(judgeOutput('mysql', '').ok).toBe(false);
    expect(judgeOutput('postgres', 'a|b\tc\n')).toMatchObject({ ok: true, value: 'a|b\tc' });
  });

  it('reads *.sql keys in name order with their database line; the default database', () => {
    expect(
      assertionsFromConfigMap({ 'b.sql': 'select 1', 'a.sql': '-- database: shop\nselect 2', notes: 'x' }),
    ).toEqual([
      { name: 'a.sql', sql: '-- database: shop\nselect 2', database: 'shop' },
      { name: 'b.sql', sql: 'select 1' },
    ]);
    expect(defaultDatabase('postgres', ['shop'])).toBe('shop');
    expect(defaultDatabase('postgres', ['shop', 'crm'])).toBeUndefined();
    expect(defaultDatabase('mysql', ['shop'])).toBe('shop');
    expect(defaultDatabase('mysql', ['shop crm'])).toBeUndefined();
    expect(defaultDatabase('mysql', ['all-databases'])).toBeUndefined();
  });
});

describe('dump scan', () => {
  it('finds the roles of OWNER TO, GRANT, REVOKE and FOR ROLE, quoted or not, and no keywords', () => {
    expect(scanRoles('ALTER TABLE public.orders OWNER TO app;')).toEqual(['app']);
    expect(scanRoles('GRANT SELECT ON TABLE public.orders TO "Report ""R"" Reader", bi;')).toEqual([
      'Report "R" Reader',
      'bi',
    ]);
    expect(scanRoles('REVOKE ALL ON SCHEMA public FROM PUBLIC;')).toEqual([]);
    expect(scanRoles('ALTER DEFAULT PRIVILEGES FOR ROLE owner GRANT SELECT ON TABLES TO reader;')).toEqual([
      'owner',
      'reader',
    ]);
    expect(scanRoles('ALTER TABLE a RENAME TO b;')).toEqual([]);
    expect(scanRoles('ALTER SCHEMA public OWNER TO pg_database_owner;')).toEqual([]);
    expect(scanRoles('INSERT INTO t VALUES (1); -- GRANT x TO y')).toEqual([]);
  });

  it('a dump is complete only with the tool’s last line, across chunk boundaries', () => {
    const s = createDumpScanner('postgres');
    s.push(Buffer.from('CREATE TABLE t (a int);\n--\n-- PostgreSQL database du'));
    s.push(Buffer.from('mp complete\n--\n\n'));
    expect(s.result().complete).toBe(true);
    const cut = createDumpScanner('postgres');
    cut.push(Buffer.from('CREATE TABLE t (a int);\n'));
    expect(cut.result().complete).toBe(false);
    const my = createDumpScanner('mysql');
    my.push(Buffer.from('INSERT INTO t VALUES (1);\n-- Dump completed on 2026-12-07 19:00:00\n'));
    expect(my.result()).toEqual({ complete: true, roles: [], databases: [] });
  });

  it('a MySQL dump names its databases by its USE lines (the manifest says only "databases")', () => {
    const my = createDumpScanner('mysql');
    my.push(Buffer.from('CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;\n\nUSE `sh'));
    my.push(Buffer.from("op`;\nINSERT INTO t VALUES ('USE `x`;');\nUSE `odd``name`;\nUSE `shop`;\n"));
    expect(my.result().databases).toEqual(['shop', 'odd`name']);
    expect(createDumpScanner('postgres').result().databases).toEqual([]);
  });
});

describe('scratch Job', () => {
  const pod = (securityContext: object | undefined, env: object[] = []) => ({
    metadata: { name: 'db-0' },
    spec: {
      securityContext,
      imagePullSecrets: [{ name: 'registry' }],
      containers: [
        { name: 'sidecar', image: 'busybox' },
        {
          name: 'postgres',
          image: 'registry.example/postgres:15.8',
          env: [
            ...env,
            { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } },
          ],
          volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
    },
  });

  it('runs the production image as its user, with an emptyDir, no token, no claim, no secret', () => {
    const image = databaseImageOf(
      pod({ runAsUser: 70, runAsGroup: 70 }, [{ name: 'PATH', value: '/opt/pg/bin:/bin' }]),
      'postgres',
    );
    const job = scratchJobManifest({
      name: 'nsbackup-verify-x',
      namespace: 'shop',
      kind: 'postgres',
      backupId: 'b1',
      image,
      timeoutSeconds: 600,
      memoryMiB: 512,
    });
    const spec = job.spec.template.spec;
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 70, runAsGroup: 70 });
    expect(spec.imagePullSecrets).toEqual([{ name: 'registry' }]);
    expect(spec.volumes).toEqual([{ name: 'scratch', emptyDir: {} }]);
    const c = spec.containers[0];
    expect(c.image).toBe('registry.example/postgres:15.8');
    expect(c.command.slice(3)).toEqual(['nsbackup-verify', 'serve', 'postgres', '/nsbackup-verify']);
    expect(c.env).toContainEqual({ name: 'PATH', value: '/opt/pg/bin:/bin' });
    expect(JSON.stringify(job)).not.toMatch(/secretKeyRef|persistentVolumeClaim|POSTGRES_PASSWORD/);
    expect(job.spec.activeDeadlineSeconds).toBe(600);
  });

  it('a root (or unset) production user becomes the official images’ 999; names fit a label', () => {
    expect(databaseImageOf(pod(undefined), 'postgres')).toMatchObject({ runAsUser: 999, runAsGroup: 999 });
    expect(databaseImageOf(pod({ runAsUser: 0 }), 'postgres')).toMatchObject({ runAsUser: 999 });
    expect(() => databaseImageOf(pod(undefined), 'mysql')).toThrow(/no container mysql/);
    const name = scratchJobName('20261207-010000-Daily_' + 'x'.repeat(80), 'abc123');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^nsbackup-verify-20261207-010000-daily-x+-abc123$/);
  });
});

describe('verify --level restore settings', () => {
  it('without the database kind and workload it refuses to start (exit 2), naming both, before it reads anything', async () => {
    const lines: string[] = [];
    const code = await runCommand(verifyCommand, {
      argv: ['--level', 'restore'],
      env: { NSBACKUP_KUBECONFIG: '/nonexistent/kubeconfig', NSBACKUP_S3_BUCKET: 'backups' },
      write: (line) => lines.push(line),
      out: () => undefined,
    });
    expect(code).toBe(2);
    const text = lines.join('\n');
    expect(text).toContain('--level restore needs the database kind: NSBACKUP_DB=postgres or mysql');
    expect(text).toContain('--level restore needs NSBACKUP_DB_TARGET');
    expect(text).not.toContain('/nonexistent/kubeconfig');
  });
});

describe('the rehearsal namespace', () => {
  it('is <namespace>-rehearsal-<id tail>, always a valid namespace name, or the one configured', () => {
    expect(rehearsalNamespaceName('shop', '20261121-100000-aaaaaa')).toBe('shop-rehearsal-aaaaaa');
    const long = rehearsalNamespaceName('a'.repeat(50) + '-b' + 'c'.repeat(11), '20261121-100000-aaaaaa');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(long.endsWith('-rehearsal-aaaaaa')).toBe(true);
    expect(rehearsalNamespaceName('shop', 'Nightly_1.2')).toMatch(/^shop-rehearsal-[0-9a-f]{6}$/);
    expect(rehearsalNamespaceName('shop', '20261121-100000-aaaaaa', 'dr-test')).toBe('dr-test');
  });

  it('is only used when absent or left by a rehearsal of the same namespace; never the namespace itself', () => {
    const ns = (labels?: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'x', labels },
    });
    expect(namespaceVerdict('x', undefined, 'shop').use).toBe('create');
    expect(namespaceVerdict('x', ns({ [REHEARSAL_LABEL]: 'shop' }), 'shop').use).toBe('replace');
    expect(namespaceVerdict('x', ns({ team: 'a' }), 'shop').use).toBe('refuse');
    expect(namespaceVerdict('x', ns({ [REHEARSAL_LABEL]: 'billing' }), 'shop').use).toBe('refuse');
    expect(namespaceVerdict('shop', undefined, 'shop').use).toBe('refuse');
    expect(namespaceVerdict('shop', ns({ [REHEARSAL_LABEL]: 'shop' }), 'shop').use).toBe('refuse');
  });

  it('restores nothing that can run or take traffic', () => {
    const form = (o: any) => rehearsalForm(o) as any;
    expect(
      form({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: {}, spec: { replicas: 3 } }).spec.replicas,
    ).toBe(0);
    expect(
      form({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {}, spec: { template: { spec: {} } } }).spec
        .template.spec.nodeSelector,
    ).toEqual({ 'nsbackup.io/rehearsal': 'never-scheduled' });
    const lb = form({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {},
      spec: { type: 'LoadBalancer', loadBalancerIP: '203.0.113.7', ports: [{ port: 443, nodePort: 31443 }] },
    });
    expect(lb.spec).toEqual({ type: 'ClusterIP', ports: [{ port: 443 }] });
    expect(
      form({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: {},
        spec: { parentRefs: [{ name: 'prod' }] },
      }).spec.parentRefs,
    ).toEqual([]);
  });
});

describe('volume data in verify', () => {
  const volume = (pvc: string, id: string) => ({
    pvc,
    volumeSnapshot: `vs-${pvc}`,
    repository: 's3://b/k/',
    resticSnapshotId: id,
    files: 1,
    bytesProcessed: 1,
    bytesAdded: 1,
    durationSeconds: 1,
  });
  const snap = (id: string, pvc: string, backupId: string, namespace = 'shop') => ({
    id,
    shortId: id.slice(0, 8),
    namespace,
    pvc,
    backupId,
    time: '2026-12-07T01:00:00Z',
    host: 'h',
  });

  it("finds each snapshot by id with this backup's tags; another volume's or backup's snapshot fails naming the PVC", () => {
    const ids = { data: 'a'.repeat(64), uploads: 'b'.repeat(64) };
    const checks = snapshotChecks(
      [volume('data', ids.data), volume('uploads', ids.uploads), volume('logs', 'c'.repeat(64))],
      [snap(ids.data, 'data', 'B1'), snap(ids.uploads, 'data', 'B1')],
      { namespace: 'shop', backupId: 'B1' },
    );
    expect(checks.map((c) => [c.pvc, c.ok])).toEqual([
      ['data', true],
      ['uploads', false],
      ['logs', false],
    ]);
    expect(checks[1].problem).toBe(
      "restic snapshot bbbbbbbb of PVC uploads is tagged with PVC data, not this backup's",
    );
    expect(checks[2].problem).toMatch(/^restic snapshot cccccccc of PVC logs is not in the repository$/);
  });

  it("NSBACKUP_VERIFY_DATA_SUBSET: M is today's slice of M, N/M a fixed one, N above M refused", () => {
    const day = new Date(Date.UTC(2026, 11, 7));
    const today = dataSubsetOf('30', day)!;
    expect(today.of).toBe(30);
    expect(dataSubsetOf('30', new Date(day.getTime() + 86_400_000))!.n).toBe((today.n % 30) + 1);
    expect(dataSubsetOf('2/5', day)).toEqual({ n: 2, of: 5 });
    expect(dataSubsetOf('6/5', day)).toBeUndefined();
  });
});
