import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppSource } from '../lib/app-types.js';
import { explainError } from '../lib/errors.js';
import { respond } from '../lib/intake/http-response.js';
import { handleManual } from '../lib/intake/manual.js';

/** POST /api/refresh: force the derived objects to sync and restart consumers, without rotating. */
export const refreshHandler =
  (rotor: AppSource) =>
  (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
    respond(
      async () => handleManual(await rotor(), 'refresh', request),
      (error) => context.warn(`refresh: ${explainError(error)}`),
    );
