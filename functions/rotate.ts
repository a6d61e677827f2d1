import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppSource } from '../lib/app-types.js';
import { explainError } from '../lib/errors.js';
import { respond } from '../lib/intake/http-response.js';
import { handleManual } from '../lib/intake/manual.js';

/** POST /api/rotate `{ "keyVault": "kv", "name": "db" }` or `{ "vault": "bao", "mount": "secret", "path": "app/db" }`. */
export const rotateHandler =
  (rotor: AppSource) =>
  (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
    respond(
      async () => handleManual(await rotor(), 'rotate', request),
      (error) => context.warn(`rotate: ${explainError(error)}`),
    );
