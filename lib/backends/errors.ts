import { ConflictError, ForbiddenError, NotFoundError, RotorError, TransientError } from '../errors.js';

/**
 * One mapping from a backend's HTTP answer to rotor's shared errors, used by every
 * backend at its boundary. `what` names the secret or store, never a value.
 */
export function mapBackendStatus(
  status: number | undefined,
  what: string,
  detail: string,
  cause: unknown,
): RotorError {
  const suffix = detail ? `: ${detail}` : '';
  if (status === 404) return new NotFoundError(`${what} does not exist${suffix}`, { cause });
  if (status === 401 || status === 403) {
    return new ForbiddenError(
      `${what}: rotor's identity is not allowed (${status})${suffix}; grant it read/write on the secret`,
      {
        cause,
      },
    );
  }
  if (status === 409 || status === 412)
    return new ConflictError(`${what} was changed concurrently${suffix}`, { cause });
  if (status === undefined || status === 408 || status === 429 || status >= 500) {
    return new TransientError(`${what} is unreachable or busy (${status ?? 'no response'})${suffix}`, {
      cause,
    });
  }
  return new RotorError(
    'backend_rejected',
    `${what} was rejected by the backend (${status})${suffix}`,
    false,
    { cause },
  );
}

/** Times a backend call and reports it, success or failure. */
export async function timed<T>(
  observe: ((ok: boolean, ms: number, errorCode?: string) => void) | undefined,
  call: () => Promise<T>,
): Promise<T> {
  const start = performance.now();
  try {
    const result = await call();
    observe?.(true, performance.now() - start);
    return result;
  } catch (error) {
    observe?.(false, performance.now() - start, error instanceof RotorError ? error.code : 'internal');
    throw error;
  }
}
