import type { VaultConfig } from '../../config.js';
import { ConflictError, ForbiddenError, RotorError } from '../../errors.js';
import { statusOf } from '../../response-status.js';
import { mapBackendStatus } from '../errors.js';
import type { Refusal } from './token-check.js';

/** node-vault's ApiResponseError: the status and Vault's `errors` strings (never secret data). */
interface VaultResponseError {
  response?: { statusCode?: number; body?: { errors?: unknown } };
}

/** Vault answers a KV v2 write whose cas does not match the current version with 400 and this text. */
const CAS_MISMATCH = /check-and-set parameter did not match/i;

export function toRotorError(error: unknown, what: string): RotorError {
  if (error instanceof RotorError) return error;
  const status = statusOf(error);
  const detail = detailOf(error);
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

/**
 * A 403 in the user's words: Vault says "permission denied" both for a token it does not
 * know and for a token whose policies miss the path; `refusal` (TokenCheck) says which.
 */
export function refusedError(
  error: unknown,
  what: string,
  refusal: Refusal,
  vault: Pick<VaultConfig, 'name' | 'auth'>,
): RotorError {
  const setting = `vaults[${vault.name}].auth`;
  if (refusal === 'invalid-token') {
    const how =
      vault.auth?.method === 'approle'
        ? `the token of the AppRole login was refused; check ${setting} (roleId, secretId) and the role's token_ttl`
        : `set a valid token in ${setting}.token`;
    return new ForbiddenError(
      `${what}: Vault ${vault.name} says rotor's token is invalid or expired (it may not even look itself up); ${how}`,
      { cause: error },
    );
  }
  if (refusal === 'not-permitted') {
    const detail = detailOf(error);
    return new ForbiddenError(
      `${what}: rotor's token is valid but its policies do not allow this (403${detail ? `: ${detail}` : ''}); grant its policy read, create and update on the secret's data and metadata paths`,
      { cause: error },
    );
  }
  return toRotorError(error, what);
}

function detailOf(error: unknown): string {
  const errors = (error as VaultResponseError)?.response?.body?.errors;
  return Array.isArray(errors) ? errors.map(String).join('; ').replace(/\s+/g, ' ').trim() : '';
}
