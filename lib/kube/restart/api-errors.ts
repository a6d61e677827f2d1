import { ApiException } from '@kubernetes/client-node';
import { ConflictError, ForbiddenError, NotFoundError, RotorError, TransientError } from '../../errors.js';

/** HTTP status of a client-node failure (ApiException or a watch error), undefined for network faults. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  const e = error as { statusCode?: unknown; code?: unknown } | null;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return typeof e?.code === 'number' ? e.code : undefined;
}

export function isConflict(error: unknown): boolean {
  return statusOf(error) === 409 || error instanceof ConflictError;
}

export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404 || error instanceof NotFoundError;
}

/**
 * One typed error per failure, with what rotor was doing and the API server's reason.
 */
export function apiError(error: unknown, action: string): RotorError {
  if (error instanceof RotorError) return error;
  const status = statusOf(error);
  const options = { cause: error, details: { status } };
  const said = statusMessage(error);
  if (status === 403) {
    const why = said ?? 'forbidden';
    return new ForbiddenError(
      `${action}: ${why}; grant the rotor identity this verb in infra/k8s/rbac.yaml`,
      options,
    );
  }
  if (status === 404) return new NotFoundError(`${action}: ${said ?? 'not found'}`, options);
  if (status === 409) return new ConflictError(`${action}: ${said ?? 'conflict'}`, options);
  if (status === undefined)
    return new TransientError(`${action}: ${(error as Error)?.message ?? String(error)}`, options);
  const message = `${action}: HTTP ${status}${said ? ` ${said}` : ''}`;
  // Other 4xx (400, 422 invalid) will not pass on retry.
  if (status >= 500 || status === 429) return new TransientError(message, options);
  return new RotorError('kube_rejected', message, false, options);
}

/**
 * The `message` of the Kubernetes Status an ApiException carries: it names the field or
 * verb at fault, never object data. The exception's own message embeds the whole body and
 * headers, so it is not used.
 */
function statusMessage(error: unknown): string | undefined {
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
