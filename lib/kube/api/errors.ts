import { ApiException } from '@kubernetes/client-node';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RotorError,
  TimeoutError,
  TransientError,
} from '../../errors.js';
import { statusOf } from '../../response-status.js';

export { statusOf };

export function isConflict(error: unknown): boolean {
  return statusOf(error) === 409 || error instanceof ConflictError;
}

export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404 || error instanceof NotFoundError;
}

/**
 * The one retry policy for Kubernetes API failures, naming what rotor was doing and the
 * API server's reason. Only what may pass on a later attempt is retryable: network faults,
 * 429 and 5xx; a request that timed out (504 from the API server, a connection or
 * response that timed out) says so with the `timeout` code. 400/422 (invalid), 403 and 404 never will, so the event is not redelivered
 * for a day. 409 is a ConflictError: callers that guard writes with a resourceVersion
 * re-read and try again; when it escapes, a redelivery re-reads too.
 */
export function kubeError(error: unknown, action: string): RotorError {
  if (error instanceof RotorError) return error;
  const status = statusOf(error);
  const options = { cause: error, details: { status } };
  const said = apiMessage(error);
  if (status === 403) {
    return new ForbiddenError(
      `forbidden: ${action}: ${said ?? 'forbidden'}; grant the rotor identity this verb in infra/k8s/rbac.yaml`,
      options,
    );
  }
  if (status === 404) return new NotFoundError(`${action}: ${said ?? 'not found'}`, options);
  if (status === 409) return new ConflictError(`${action}: ${said ?? 'conflict'}`, options);
  if (timedOut(error, status)) {
    const what = status === undefined ? (error as Error)?.message : `HTTP ${status}${said ? ` ${said}` : ''}`;
    return new TimeoutError(`${action}: ${what}`, options);
  }
  if (status === undefined)
    return new TransientError(`${action}: ${(error as Error)?.message ?? String(error)}`, options);
  const message = `${action}: HTTP ${status}${said ? ` ${said}` : ''}`;
  if (status >= 500 || status === 429) return new TransientError(message, options);
  return new RotorError('kube_rejected', message, false, options);
}

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** 504 (the API server's own request timeout), or a network fault that is a timeout, here or in its cause. */
function timedOut(error: unknown, status: number | undefined): boolean {
  if (status !== undefined) return status === 504;
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e && depth < 3; depth++) {
    if (TIMEOUT_CODES.has(String(e.code)) || e.type === 'request-timeout' || e.name === 'TimeoutError')
      return true;
    e = e.cause as Record<string, unknown> | undefined;
  }
  return false;
}

/**
 * The `message` of the Kubernetes Status an ApiException carries: it names the field or
 * verb at fault, never object data. The exception's own message embeds the whole body and
 * headers, so it is not used.
 */
function apiMessage(error: unknown): string | undefined {
  if (!(error instanceof ApiException)) return undefined;
  let body: unknown = error.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const message = (body as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message.slice(0, 500) : undefined;
}
