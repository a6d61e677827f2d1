import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppSource } from '../lib/app-types.js';
import { explainError } from '../lib/errors.js';
import { jsonResponse, respond } from '../lib/intake/http-response.js';

/**
 * GET /api/health: reachability of every backend, cluster and the state store; 503 when
 * one is down. Function-level auth: the report names vaults and clusters, which an
 * anonymous endpoint would hand to anyone scanning the app.
 */
export const healthHandler =
  (rotor: AppSource) =>
  (_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
    respond(
      async () => {
        const report = await (await rotor()).health();
        return jsonResponse(report, report.ok ? 200 : 503);
      },
      (error) => context.error(`health: ${explainError(error)}`),
    );
