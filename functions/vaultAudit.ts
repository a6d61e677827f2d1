import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppSource } from '../lib/app-types.js';
import { explainError } from '../lib/errors.js';
import { respond } from '../lib/intake/http-response.js';
import { handleVaultAudit } from '../lib/intake/vault-audit.js';

/**
 * POST /api/vault-audit: Vault / OpenBao audit entries (one, a JSON array or NDJSON).
 * Anonymous at the Functions level because OpenBao's audit device cannot add a function
 * key to its URL safely; the handler authenticates with its own bearer token or HMAC.
 */
export const vaultAuditHandler =
  (rotor: AppSource) =>
  (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
    respond(
      async () => handleVaultAudit(await rotor(), request),
      (error) => context.warn(`vault-audit: ${explainError(error)}`),
    );
