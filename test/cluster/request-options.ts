// The options a request carries besides its object (metav1 CreateOptions/UpdateOptions/PatchOptions,
// DeleteOptions, ListOptions), decoded and validated as the API server's handlers do: a value that does not
// decode is 400 BadRequest, one that decodes but is not allowed is 422 Invalid on the options kind.
import { ApiError, Errors } from './status.js';

const OPTIONS_KIND: Record<string, string> = {
  create: 'CreateOptions',
  update: 'UpdateOptions',
  patch: 'PatchOptions',
  delete: 'DeleteOptions',
  deletecollection: 'DeleteOptions',
};

const goStrings = (values: string[]) => `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;

function invalidOptions(kind: string, field: string, type: string, message: string): ApiError {
  return Errors.invalid({ group: 'meta.k8s.io', kind }, '', [{ field, type, message }]);
}

/** ValidateDryRun: "All" is the only value; true when the request is a dry run. */
export function dryRunOf(verb: string, values: string[]): boolean {
  if (values.some((v) => v !== 'All')) {
    throw invalidOptions(
      OPTIONS_KIND[verb] ?? 'CreateOptions',
      'dryRun',
      'FieldValueNotSupported',
      `Unsupported value: ${goStrings(values)}: supported values: "All"`,
    );
  }
  return values.length > 0;
}

export interface DeleteOptions {
  dryRun: boolean;
  orphan: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

const PROPAGATION_POLICIES = ['Foreground', 'Background', 'Orphan'];

function parseBool(value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw Errors.badRequest(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

/**
 * DeleteOptions of a delete or deletecollection: from the body when there is one, else from the query (the
 * handler decodes one or the other, never both), then ValidateDeleteOptions.
 */
export function deleteOptionsOf(verb: string, body: any, query: URLSearchParams): DeleteOptions {
  let raw: { dryRun?: unknown; propagationPolicy?: unknown; orphanDependents?: unknown; preconditions?: any };
  if (body !== undefined) {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw Errors.badRequest('the body of the request is not a DeleteOptions object');
    raw = body;
  } else {
    const orphan = query.get('orphanDependents');
    raw = {
      dryRun: query.getAll('dryRun'),
      propagationPolicy: query.get('propagationPolicy') ?? undefined,
      orphanDependents: orphan === null ? undefined : parseBool(orphan),
    };
  }
  const kind = OPTIONS_KIND[verb];
  const dryRunValues = raw.dryRun === undefined || raw.dryRun === null ? [] : raw.dryRun;
  if (!Array.isArray(dryRunValues))
    throw Errors.badRequest(
      'json: cannot unmarshal string into Go struct field DeleteOptions.dryRun of type []string',
    );
  const policy = raw.propagationPolicy;
  if (
    raw.orphanDependents !== undefined &&
    raw.orphanDependents !== null &&
    policy !== undefined &&
    policy !== null
  ) {
    throw invalidOptions(
      kind,
      'propagationPolicy',
      'FieldValueInvalid',
      `Invalid value: ${JSON.stringify(policy)}: orphanDependents and deletionPropagation cannot be both set`,
    );
  }
  if (policy !== undefined && policy !== null && !PROPAGATION_POLICIES.includes(String(policy))) {
    throw invalidOptions(
      kind,
      'propagationPolicy',
      'FieldValueNotSupported',
      `Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan", "nil"`,
    );
  }
  return {
    dryRun: dryRunOf(verb, dryRunValues.map(String)),
    orphan: policy === 'Orphan' || raw.orphanDependents === true,
    preconditions: raw.preconditions ?? undefined,
  };
}

export interface ListParams {
  limit?: number;
  continue?: string;
}

/** ListOptions of a list: `limit` must be an integer; ValidateListOptions on resourceVersionMatch. */
export function listOptionsOf(query: URLSearchParams): ListParams {
  const limitText = query.get('limit');
  let limit: number | undefined;
  if (limitText !== null && limitText !== '') {
    if (!/^[-+]?\d+$/.test(limitText))
      throw Errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(limitText)}: invalid syntax`);
    limit = Number(limitText);
  }
  const match = query.get('resourceVersionMatch') ?? '';
  const rv = query.get('resourceVersion') ?? '';
  const cont = query.get('continue') ?? '';
  if (match !== '') {
    const causes: { field: string; type: string; message: string }[] = [];
    const forbidden = (why: string) =>
      causes.push({
        field: 'resourceVersionMatch',
        type: 'FieldValueForbidden',
        message: `Forbidden: ${why}`,
      });
    if (rv === '') forbidden('resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (cont !== '') forbidden('resourceVersionMatch is forbidden when continue is provided');
    if (match !== 'Exact' && match !== 'NotOlderThan') {
      causes.push({
        field: 'resourceVersionMatch',
        type: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan", ""`,
      });
    }
    if (match === 'Exact' && rv === '0')
      forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
    if (causes.length > 0) throw Errors.invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', causes);
  }
  return { limit, continue: cont || undefined };
}
