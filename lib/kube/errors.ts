// Kubernetes API errors as one type: HTTP status, the Status reason, and the server's message.

export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
    readonly retryAfterSeconds?: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** A request that never got an HTTP answer (refused, reset, timed out). */
export class KubeConnectionError extends Error {
  constructor(
    message: string,
    readonly method: string,
    readonly path: string,
    /** True when the request surely did not reach the server (safe to retry even a create). */
    readonly notSent: boolean,
  ) {
    super(message);
    this.name = 'KubeConnectionError';
  }
}

/**
 * An answer that did not come from a Kubernetes API server (an HTML page, a proxy's plain-text 404): the server URL
 * points somewhere else. Not a KubeApiError, so a 404 from it never reads as "namespace not found".
 */
export class NotKubernetesApiError extends Error {
  constructor(
    readonly status: number,
    readonly contentType: string,
    readonly method: string,
    readonly path: string,
    server: string,
  ) {
    super(
      `${method} ${path}: ${server} did not answer as a Kubernetes API server (HTTP ${status}, ` +
        `${contentType || 'no content type'} instead of JSON): check the server URL of the kubeconfig`,
    );
    this.name = 'NotKubernetesApiError';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.code === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeApiError && e.code === 409;
export const isForbidden = (e: unknown): boolean => e instanceof KubeApiError && e.code === 403;
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof KubeApiError && e.code === 409 && e.reason === 'AlreadyExists';

/** Retry rules: idempotent requests on 429, 5xx and connection errors; others only where nothing was processed. */
export function retryDecision(e: unknown, idempotent: boolean): { retry: boolean; afterMs?: number } {
  if (e instanceof KubeApiError) {
    const afterMs = e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : undefined;
    // 429 comes from API priority and fairness before the request is processed: safe for any verb.
    if (e.code === 429) return { retry: true, afterMs };
    if (e.code >= 500 && idempotent) return { retry: true, afterMs };
    return { retry: false };
  }
  if (e instanceof KubeConnectionError) return { retry: idempotent || e.notSent };
  return { retry: false };
}

/**
 * A write whose fate is unknown: a server error (it may have been stored before the error, e.g. a 504 after etcd
 * took it) or a connection that broke after the request was sent. Look before trying it again.
 */
export function outcomeUnknown(e: unknown): boolean {
  return (e instanceof KubeApiError && e.code >= 500) || (e instanceof KubeConnectionError && !e.notSent);
}
