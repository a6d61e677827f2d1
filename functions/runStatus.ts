import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppSource } from '../lib/app-types.js';
import { explainError } from '../lib/errors.js';
import { respond } from '../lib/intake/http-response.js';
import { handleRunStatus } from '../lib/intake/run-status.js';

/** GET /api/runs/{eventId}: the state of an event's delivery (claimed by whom, since when, what finished). */
export const runStatusHandler =
  (rotor: AppSource) =>
  (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
    respond(
      async () => handleRunStatus(await rotor(), request.params.eventId),
      (error) => context.warn(`runStatus: ${explainError(error)}`),
    );
