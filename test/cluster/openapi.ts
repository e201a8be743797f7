// A minimal OpenAPI v3 surface. kubectl apply/create validate by default: kubectl reads /openapi/v3 to learn
// whether the server validates fields itself (a PATCH operation with a `fieldValidation` query parameter for
// the kind). We list one such operation per resource and no schemas, so kubectl sends fieldValidation=Strict
// and builds apply patches from its compiled-in types. We do not know schemas, so unknown fields are NOT
// rejected: that is the one place this emulator is more lenient than a real server.
import { groupVersion, type ResourceTable } from './resources.js';

export function openApiV3Root(table: ResourceTable, revision: number): any {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const r of table.all()) {
    const key = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${revision.toString(16).padStart(16, '0')}` };
  }
  return { paths };
}

/** The document of one group/version, or undefined if nothing is served there. */
export function openApiV3GroupVersion(table: ResourceTable, group: string, version: string): any | undefined {
  const defs = table.all().filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  const paths: Record<string, any> = {};
  const param = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  for (const r of defs) {
    const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    const path = r.namespaced
      ? `${prefix}/namespaces/{namespace}/${r.plural}/{name}`
      : `${prefix}/${r.plural}/{name}`;
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    paths[path] = {
      patch: {
        operationId: `patch${r.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [param('dryRun'), param('fieldManager'), param('fieldValidation'), param('force')],
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas: {} },
    'x-nsbackup-emulator': `no schemas: ${groupVersion({ group, version })} objects are not validated`,
  };
}
