import { statusOf } from '../response-status.js';

/**
 * How Azure Table Storage (and Azurite) failures look through @azure/data-tables, read in
 * one place: the HTTP status, the service's error code (`details.errorCode`, from the
 * x-ms-error-code header) and the network code of a request that never got an answer.
 */

/** `TableNotFound`, `ResourceNotFound`, `AuthenticationFailed`, … or a network code (`ECONNREFUSED`). */
function serviceCodeOf(error: unknown): string | undefined {
  const e = error as { details?: { errorCode?: unknown }; code?: unknown } | null;
  const code = e?.details?.errorCode ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The table itself is gone (storage account recreated, emulator restarted, a purge gone wrong). */
export function isTableNotFound(error: unknown): boolean {
  return statusOf(error) === 404 && serviceCodeOf(error) === 'TableNotFound';
}

/**
 * Failures a fresh client may not repeat: credentials refused (a rotated key, an expired
 * token cached by the credential) or no answer at all (DNS, refused or reset connection).
 */
export function needsFreshClient(error: unknown): boolean {
  const status = statusOf(error);
  return status === undefined || status === 401 || status === 403;
}
