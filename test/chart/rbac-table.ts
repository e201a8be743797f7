// The documented RBAC table, as data: what each entrypoint may do. The chart test compares the rendered Roles with
// it, and the chart README's tables with it, so code, test and docs cannot drift apart.

import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { CHART_DIR } from '../kit/index.js';

interface Row {
  who: 'backup' | 'prune' | 'restore' | 'verify';
  kind: 'Role' | 'ClusterRole';
  group: string;
  resources: string[];
  verbs: string[];
}

const SNAP = 'snapshot.storage.k8s.io';

/** metrics.statusConfigMap (on by default): create the ConfigMap once, then merge each run into it by name. */
const statusRows = (who: Row['who']): Row[] => [
  { who, kind: 'Role', group: 'core', resources: ['configmaps'], verbs: ['create'] },
  { who, kind: 'Role', group: 'core', resources: ['configmaps (metrics.statusConfigMap)'], verbs: ['patch'] },
];

const NAMESPACE_ROWS: Row[] = [
  { who: 'backup', kind: 'Role', group: 'core', resources: ['namespaces (own)'], verbs: ['get'] },
  {
    who: 'backup',
    kind: 'Role',
    group: 'core',
    resources: ['persistentvolumeclaims'],
    verbs: ['get'],
  },
  { who: 'backup', kind: 'Role', group: 'core', resources: ['pods'], verbs: ['get', 'list'] },
  { who: 'backup', kind: 'Role', group: 'core', resources: ['pods/exec'], verbs: ['create', 'get'] },
  {
    who: 'backup',
    kind: 'Role',
    group: 'apps',
    resources: ['deployments', 'statefulsets'],
    verbs: ['get'],
  },
  { who: 'backup', kind: 'Role', group: 'batch', resources: ['jobs'], verbs: ['get'] },
  {
    who: 'backup',
    kind: 'Role',
    group: SNAP,
    resources: ['volumesnapshots'],
    verbs: ['create', 'get', 'list', 'patch', 'delete'],
  },
  ...statusRows('backup'),
  {
    who: 'prune',
    kind: 'Role',
    group: SNAP,
    resources: ['volumesnapshots'],
    verbs: ['get', 'list', 'patch', 'delete'],
  },
  ...statusRows('prune'),
  {
    who: 'prune',
    kind: 'ClusterRole',
    group: SNAP,
    resources: ['volumesnapshotcontents'],
    verbs: ['get', 'patch'],
  },
  { who: 'restore', kind: 'Role', group: 'core', resources: ['namespaces (own)'], verbs: ['get'] },
  {
    who: 'restore',
    kind: 'Role',
    group: 'core',
    resources: ['serviceaccounts (default)'],
    verbs: ['get', 'update'],
  },
  {
    who: 'restore',
    kind: 'Role',
    group: 'restore.rbacResources',
    resources: ['restore.rbacResources'],
    // update only with `existing: update`, patch only for restore-pvc --replace-in: see chart.test.ts.
    verbs: ['get', 'create'],
  },
  { who: 'restore', kind: 'Role', group: SNAP, resources: ['volumesnapshots'], verbs: ['list'] },
  { who: 'restore', kind: 'Role', group: 'core', resources: ['pods'], verbs: ['get', 'list'] },
  { who: 'restore', kind: 'Role', group: 'core', resources: ['pods/exec'], verbs: ['create', 'get'] },
  {
    who: 'restore',
    kind: 'Role',
    group: 'apps',
    resources: ['deployments', 'statefulsets'],
    verbs: ['get'],
  },
];

/** verify.enabled with level restore (ci/verify-values.yaml: assertionsConfigMap verify-assertions). */
const VERIFY_RESTORE_ROWS: Row[] = [
  ...statusRows('verify'),
  { who: 'verify', kind: 'Role', group: 'batch', resources: ['jobs'], verbs: ['get', 'create', 'delete'] },
  { who: 'verify', kind: 'Role', group: 'core', resources: ['pods'], verbs: ['get', 'list'] },
  { who: 'verify', kind: 'Role', group: 'core', resources: ['pods/exec'], verbs: ['create', 'get'] },
  {
    who: 'verify',
    kind: 'Role',
    group: 'apps',
    resources: ['deployments', 'statefulsets'],
    verbs: ['get'],
  },
  {
    who: 'verify',
    kind: 'Role',
    group: 'core',
    resources: ['configmaps (verify.assertionsConfigMap)'],
    verbs: ['get'],
  },
];

/**
 * verify.level=rehearsal (ci/verify-values.yaml with the level set): a ClusterRole, as RBAC cannot grant anything in a
 * namespace that does not exist yet. Get and delete are limited to the pinned scratch namespace (`<ns>-rehearsal`).
 */
const VERIFY_REHEARSAL_ROWS: Row[] = [
  { who: 'verify', kind: 'ClusterRole', group: 'core', resources: ['namespaces'], verbs: ['create'] },
  {
    who: 'verify',
    kind: 'ClusterRole',
    group: 'core',
    resources: ['namespaces (verify.rehearsalNamespace)'],
    verbs: ['get', 'delete'],
  },
  {
    who: 'verify',
    kind: 'ClusterRole',
    group: '',
    resources: ['restore.rbacResources'],
    verbs: ['get', 'list', 'create'],
  },
  { who: 'verify', kind: 'ClusterRole', group: 'core', resources: ['secrets'], verbs: ['create'] },
  {
    who: 'verify',
    kind: 'ClusterRole',
    group: 'rbac.authorization.k8s.io',
    resources: ['roles'],
    verbs: ['escalate', 'bind'],
  },
  {
    who: 'verify',
    kind: 'ClusterRole',
    group: 'rbac.authorization.k8s.io',
    resources: ['clusterroles'],
    verbs: ['bind'],
  },
];

const CLUSTER_PRUNER_ROWS: Row[] = [
  {
    who: 'prune',
    kind: 'ClusterRole',
    group: SNAP,
    resources: ['volumesnapshotcontents'],
    verbs: ['get', 'patch'],
  },
  {
    who: 'prune',
    kind: 'ClusterRole',
    group: SNAP,
    resources: ['volumesnapshots'],
    verbs: ['get', 'list', 'patch', 'delete'],
  },
];

/** `group/resource` pairs of a values list of rules (export.resources, restore.rbacResources). */
function valuesKinds(path: string): { group: string; resource: string }[] {
  const values = YAML.parse(readFileSync(`${CHART_DIR}/values.yaml`, 'utf8'));
  const rules = path.split('.').reduce((v: any, k) => v?.[k], values) as {
    apiGroups: string[];
    resources: string[];
  }[];
  return rules.flatMap((r) =>
    r.apiGroups.flatMap((g) => r.resources.map((resource) => ({ group: g, resource }))),
  );
}

function expand(rows: Row[], namespace: string): string[] {
  const out: string[] = [];
  for (const row of rows) {
    const pairs = row.resources.includes('restore.rbacResources')
      ? valuesKinds('restore.rbacResources')
      : row.resources.map((resource) => ({ group: row.group, resource }));
    for (const { group, resource } of pairs)
      for (const verb of row.verbs) {
        // The assertions ConfigMap by its name in ci/verify-values.yaml.
        const name =
          resource === 'namespaces (own)'
            ? `namespaces(${namespace})`
            : resource === 'configmaps (verify.assertionsConfigMap)'
              ? 'configmaps(verify-assertions)'
              : resource === 'configmaps (metrics.statusConfigMap)'
                ? 'configmaps(nsbackup-status)'
                : resource === 'namespaces (verify.rehearsalNamespace)'
                  ? `namespaces(${namespace}-rehearsal)`
                  : resource.replace(/ \((\w+)\)$/, '($1)');
        out.push(`${row.who}|${row.kind}|${group || 'core'}|${name}|${verb}`);
      }
  }
  return out.sort();
}

/** lock.backend=lease: a Role of its own in the lock namespace (the code's verbs: lib/lock/lease-api.ts). */
const LEASE_LOCK_ROWS: Row[] = [
  {
    who: 'backup',
    kind: 'Role',
    group: 'coordination.k8s.io',
    resources: ['leases'],
    verbs: ['get', 'create', 'update', 'delete'],
  },
];

export const DOCUMENTED_GRANTS = {
  /** backup + prune + restore of a namespace install (export off). */
  namespace: (ns: string) => expand(NAMESPACE_ROWS, ns),
  clusterPruner: expand(CLUSTER_PRUNER_ROWS, ''),
  /** The verify Role at level restore (at level integrity only the status ConfigMap: it reads S3). */
  verifyRestore: expand(VERIFY_RESTORE_ROWS, ''),
  verifyIntegrity: expand(statusRows('verify'), ''),
  /** The verify ClusterRole at level rehearsal, for a release in namespace `ns`. */
  verifyRehearsal: (ns: string) => expand(VERIFY_REHEARSAL_ROWS, ns),
  leaseLock: expand(LEASE_LOCK_ROWS, ''),
};

/**
 * The grants of one row of the README's table of switches (`| backup (lock.backend=lease) | switch | group |
 * resources | verbs | why |`), as `backup|Role|group|resource|verb`.
 */
export function readmeSwitchGrants(
  who: string,
  kind: Row['kind'] = 'Role',
  /** Only the rows whose switch cell names this value (`volumeData.directPvcs`). */
  switchNames?: string,
): string[] {
  const readme = readFileSync(`${CHART_DIR}/README.md`, 'utf8');
  const rows: Row[] = [];
  for (const line of readme.split('\n')) {
    const cells = line.split('|').map((c) => c.trim().replace(/`/g, ''));
    if (cells.length < 7 || cells[0] !== '' || cells[1] !== who) continue;
    if (switchNames && !cells[2].split(/,| or /).some((c) => c.trim() === switchNames)) continue;
    const [, , , group, resources, verbs] = cells;
    rows.push({
      who: who.replace(/ \(.*\)$/, '') as Row['who'],
      kind,
      group,
      resources: resources.split(',').map((s) => s.trim()),
      verbs: verbs.split(',').map((s) => s.trim()),
    });
  }
  return expand(rows, '');
}

/**
 * The grants the chart README's tables list: rows `| who | Role or ClusterRole | group | resources | verbs | why |`.
 * `who` is backup, prune, restore (the namespace install) or `prune (cluster)`; rows for a values switch
 * (`backup (export.enabled)`, ...) are left out, as they are not granted by default.
 */
export function readmeGrants(
  namespace: string,
  table: 'namespace' | 'cluster' | 'verify' | 'rehearsal' = 'namespace',
): string[] {
  const readme = readFileSync(`${CHART_DIR}/README.md`, 'utf8');
  const rows: Row[] = [];
  for (const line of readme.split('\n')) {
    const cells = line.split('|').map((c) => c.trim().replace(/`/g, ''));
    if (cells.length < 7 || cells[0] !== '') continue;
    const [, who, kind, group, resources, verbs] = cells;
    const wanted =
      table === 'namespace'
        ? ['backup', 'prune', 'restore']
        : table === 'verify'
          ? ['verify (verify.level=restore)']
          : table === 'rehearsal'
            ? ['verify (verify.level=rehearsal)']
            : ['prune (cluster)'];
    if (!wanted.includes(who) || (kind !== 'Role' && kind !== 'ClusterRole')) continue;
    rows.push({
      who: who.replace(/ \(.*\)$/, '') as Row['who'],
      kind,
      group,
      resources: resources.split(',').map((s) => s.trim()),
      verbs: verbs.split(',').map((s) => s.trim()),
    });
  }
  return expand(rows, namespace);
}
