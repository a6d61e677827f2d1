import type { App } from '../app-types.js';
import { parseManualRequest } from '../events/manual-request.js';
import type { Outcome } from '../outcome.js';
import { type HttpRequestLike, readRequest } from './http-request.js';
import { type JsonResponse, jsonResponse } from './http-response.js';
import { requireMediaType } from './media-type.js';

/** POST /api/rotate and /api/refresh: the secret named in the JSON body, Outcome back. */
export async function handleManual(
  app: App,
  action: 'rotate' | 'refresh',
  request: HttpRequestLike,
): Promise<JsonResponse> {
  const body = await readRequest(request, app.config.webhook.maxBodyBytes);
  requireMediaType(request.headers.get('content-type'), ['application/json'], true);
  const { ref, dryRun, requestId } = parseManualRequest(body.text, app.config);
  const id = requestId ?? request.headers.get('idempotency-key') ?? undefined;
  const options = { ...(id ? { requestId: id } : {}), ...(dryRun !== undefined ? { dryRun } : {}) };
  const outcome: Outcome =
    action === 'rotate' ? await app.rotate(ref, options) : await app.refresh(ref, options);
  return jsonResponse(outcome);
}
