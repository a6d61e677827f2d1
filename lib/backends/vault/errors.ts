import { ConflictError, RotorError } from '../../errors.js';
import { statusOf } from '../../response-status.js';
import { mapBackendStatus } from '../errors.js';

/** node-vault's ApiResponseError: the status and Vault's `errors` strings (never secret data). */
interface VaultResponseError {
  response?: { statusCode?: number; body?: { errors?: unknown } };
}

/** Vault answers a KV v2 write whose cas does not match the current version with 400 and this text. */
const CAS_MISMATCH = /check-and-set parameter did not match/i;

export function toRotorError(error: unknown, what: string): RotorError {
  if (error instanceof RotorError) return error;
  const status = statusOf(error);
  const errors = (error as VaultResponseError)?.response?.body?.errors;
  const detail = Array.isArray(errors) ? errors.map(String).join('; ').replace(/\s+/g, ' ').trim() : '';
  if (status === 400 && CAS_MISMATCH.test(detail)) {
    return new ConflictError(`${what} has a newer version than the one read (check-and-set mismatch)`, {
      cause: error,
    });
  }
  if (status === undefined) {
    const code = (error as { code?: string })?.code;
    return mapBackendStatus(undefined, what, code ?? '', error);
  }
  return mapBackendStatus(status, what, detail, error);
}
