// Errors as the API server sends them: a meta/v1 Status with the reason, code and message upstream uses
// (k8s.io/apimachinery/pkg/api/errors).
import type { ResourceDef } from './resources.js';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, any>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toStatus(): any {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `configmaps` or `volumesnapshots.snapshot.storage.k8s.io`, as upstream qualifies resource names in messages. */
export function qualified(r: Pick<ResourceDef, 'group' | 'plural'>): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

function details(r: Pick<ResourceDef, 'group' | 'plural'>, name: string): Record<string, any> {
  return { name, ...(r.group ? { group: r.group } : {}), kind: r.plural };
}

/** utilerrors.NewAggregate's message: one error as is, several (deduplicated) in brackets. */
function aggregate(messages: string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
}

export const Errors = {
  notFound: (r: Pick<ResourceDef, 'group' | 'plural'>, name: string) =>
    new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, details(r, name)),
  alreadyExists: (r: Pick<ResourceDef, 'group' | 'plural'>, name: string) =>
    new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, details(r, name)),
  conflict: (r: Pick<ResourceDef, 'group' | 'plural'>, name: string) =>
    new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      details(r, name),
    ),
  invalid: (
    r: Pick<ResourceDef, 'group' | 'kind'>,
    name: string,
    causes: { field: string; type: string; message: string }[],
  ) =>
    new ApiError(
      422,
      'Invalid',
      `${r.kind}${r.group ? `.${r.group}` : ''} "${name}" is invalid: ${aggregate(causes.map((c) => `${c.field}: ${c.message}`))}`,
      {
        name,
        ...(r.group ? { group: r.group } : {}),
        kind: r.kind,
        causes: causes.map((c) => ({ reason: c.type, message: c.message, field: c.field })),
      },
    ),
  /** Storage's UID precondition (a uid in an update body or in DeleteOptions.preconditions) failed. */
  uidPreconditionFailed: (
    r: Pick<ResourceDef, 'group' | 'plural'>,
    name: string,
    uid: string,
    stored: string,
  ) =>
    new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(r)} "${name}": Precondition failed: UID in precondition: ${uid}, UID in object meta: ${stored}`,
      details(r, name),
    ),
  badRequest: (message: string) => new ApiError(400, 'BadRequest', message),
  forbidden: (r: Pick<ResourceDef, 'group' | 'plural'>, name: string, why: string) =>
    new ApiError(403, 'Forbidden', `${qualified(r)} "${name}" is forbidden: ${why}`, details(r, name)),
  methodNotAllowed: () =>
    new ApiError(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
      {},
    ),
  unsupportedMediaType: (message: string) => new ApiError(415, 'UnsupportedMediaType', message),
  notAcceptable: (message: string) => new ApiError(406, 'NotAcceptable', message),
  /** For an unknown resource in a known group (a real server's generic 404 for resource paths). */
  noResource: () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}),
  notImplemented: (message: string) => new ApiError(501, 'NotImplemented', message),
  gone: (message: string) => new ApiError(410, 'Expired', message),
  tooManyRequests: (retryAfterSeconds: number) =>
    new ApiError(
      429,
      'TooManyRequests',
      'the server has received too many requests and has asked us to try again later',
      { retryAfterSeconds },
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  /** etcd storage refuses it; the error surfaces as a bare 500 without a reason, as on a real server. */
  resourceVersionOnCreate: () =>
    new ApiError(500, '', 'resourceVersion should not be set on objects to be created'),
  internal: (message: string) =>
    new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {}),
};

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A Status for an arbitrary code (fault injection). */
export function statusForCode(code: number, message?: string): ApiError {
  return new ApiError(code, REASONS[code] ?? 'Unknown', message ?? `injected fault: HTTP ${code}`, {});
}
