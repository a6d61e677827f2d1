import { ConflictError, ForbiddenError, NotFoundError, RotorError, TransientError } from '../errors.js';
import type { CallObserver } from './backend.js';

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

/** Times a backend call and reports it to the observer, success or failure. */
export async function timed<T>(
  observe: CallObserver | undefined,
  call: Pick<Parameters<CallObserver>[0], 'backend' | 'store' | 'operation'>,
  fn: () => Promise<T>,
): Promise<T> {
  const start = performance.now();
  try {
    const result = await fn();
    observe?.({ ...call, ms: performance.now() - start, ok: true });
    return result;
  } catch (error) {
    const errorCode = error instanceof RotorError ? error.code : 'internal';
    observe?.({ ...call, ms: performance.now() - start, ok: false, errorCode });
    throw error;
  }
}
