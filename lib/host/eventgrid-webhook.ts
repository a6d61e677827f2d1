import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app-types.js';
import { changeKey } from '../change-event.js';
import { causeOf, describeError, httpStatusOf, TransientError, ValidationError } from '../errors.js';
import {
  CLOUDEVENTS_BATCH_MEDIA_TYPE,
  CLOUDEVENTS_MEDIA_TYPE,
  looksLikeCloudEvent,
  safeAbuseProtectionResponse,
  safeParseCloudEvents,
} from '../events/cloudevents.js';
import type { Decoded } from '../events/decoded.js';
import { safeParseEventGridEvents, safeSubscriptionValidationResponse } from '../events/eventgrid.js';
import { parseJson } from '../events/json.js';
import { safeDecodeKeyVaultDelivery } from '../events/keyvault-event.js';
import { type ParseResult, unwrap } from '../events/result.js';
import { checkDeclaredLength, readBodyLimited } from '../intake/body-limit.js';
import { onePerChange, sharedOutcome } from '../intake/dispatch.js';
import { errorResponse, type JsonResponse, jsonResponse, respond } from '../intake/http-response.js';
import { handleDecodedKeyVaultEvent, type KeyVaultEventResult } from '../intake/keyvault.js';
import { requireMediaType } from '../intake/media-type.js';
import type { Logger } from '../telemetry.js';
import { writeJson, writeResponse } from './http-bridge.js';
import { invocationContext } from './invocation.js';

export const EVENT_GRID_FUNCTION = 'keyVaultEvents';
const EVENT_MEDIA_TYPES = ['application/json', CLOUDEVENTS_MEDIA_TYPE, CLOUDEVENTS_BATCH_MEDIA_TYPE];

/**
 * POST /runtime/webhooks/eventgrid?functionName=keyVaultEvents, as the Functions runtime's
 * Event Grid extension serves it: it answers both validation handshakes itself and invokes
 * the function once per event. Unlike the Functions trigger it can answer 400, so an
 * invalid delivery is dead-lettered; 5xx only when a retry can help.
 */
export async function serveEventGridWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  host: { app: App; log: Logger },
): Promise<void> {
  const functionName = url.searchParams.get('functionName');
  if (functionName !== EVENT_GRID_FUNCTION) {
    return writeJson(res, 404, {
      error: 'not_found',
      message: `no Event Grid function '${functionName ?? ''}'; this host serves ${EVENT_GRID_FUNCTION}`,
    });
  }
  const header = (name: string) => headerValue(req, name);
  if (req.method === 'OPTIONS') {
    const handshake = safeAbuseProtectionResponse(header);
    return writeResponse(res, handshake.success ? handshake.data : errorResponse(handshake.error));
  }
  if (req.method !== 'POST') {
    return writeJson(
      res,
      405,
      { error: 'method_not_allowed', message: 'use POST (or OPTIONS for the handshake)' },
      { Allow: 'POST, OPTIONS' },
    );
  }
  const response = await respond(
    () => deliver(req, header, host),
    (error) =>
      host.log.warn('event grid delivery refused', {
        error: describeError(error).message,
        cause: causeOf(error),
      }),
  );
  return writeResponse(res, response);
}

async function deliver(
  req: IncomingMessage,
  header: (name: string) => string | undefined,
  host: { app: App; log: Logger },
): Promise<JsonResponse> {
  const receivedAt = performance.now();
  const maxBytes = host.app.config.webhook.maxBodyBytes;
  checkDeclaredLength(header('content-length'), maxBytes);
  const mediaType = requireMediaType(header('content-type'), EVENT_MEDIA_TYPES, true);
  const text = (await readBodyLimited(req, maxBytes)).toString('utf8').replace(/^\uFEFF/, '');
  const json = unwrap(parseJson(text));
  const kind = header('aeg-event-type');
  if (kind === 'SubscriptionValidation') {
    return jsonResponse(unwrap(safeSubscriptionValidationResponse(unwrap(safeParseEventGridEvents(json)))));
  }
  if (kind && kind !== 'Notification')
    throw new ValidationError(`unknown aeg-event-type '${kind.slice(0, 60)}'`);
  const cloud = mediaType.startsWith('application/cloudevents') || looksLikeCloudEvent(json);
  const shape = cloud ? safeParseCloudEvents(json, mediaType || undefined) : safeParseEventGridEvents(json);
  if (!shape.success) throw shape.error;
  const items: unknown[] = Array.isArray(json) ? json : [json];
  const budgetMs = host.app.config.webhook.deliveryBudgetMs;
  const late = deadline(budgetMs, receivedAt);
  // Each event is decoded once: for its change key here, and for the function below.
  const decoded = await decodeAll(items, host.app.config.keyVaults);
  const work = onePerChange(
    items.map((item, i) => ({ item, decoded: decoded[i]! })),
    (entry) => changeKeyOf(entry.decoded),
    (entry) =>
      // An event that did not start before the answer is left for the redelivery.
      late.passed
        ? Promise.reject(overBudget(budgetMs))
        : handleDecodedKeyVaultEvent(
            host.app,
            entry.item,
            entry.decoded,
            invocationContext(EVENT_GRID_FUNCTION, host.log, 'eventGridTrigger'),
          ),
    (answer, entry) => sharedAnswer(answer, String((entry.item as { id?: unknown }).id)),
  );
  const settled = await Promise.race([work, late.reached]).finally(late.cancel);
  // Runs still going finish and are recorded; the redelivery finds them done (duplicate)
  // or still claimed (503 again), and does the rest.
  if (settled === 'late') throw overBudget(budgetMs);
  const thrown = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (thrown) throw thrown.reason;
  return answer(settled.map((s) => (s as PromiseFulfilledResult<KeyVaultEventResult>).value));
}

/**
 * Event Grid waits 30 s for an answer, then takes the delivery for failed and sends it
 * again: a delivery still running at its budget (webhook.deliveryBudgetMs, from its
 * arrival) is answered 503 itself, so the answer is never lost to the sender's timeout.
 */
function deadline(budgetMs: number, since: number) {
  let timer: NodeJS.Timeout | undefined;
  const state = {
    passed: false,
    reached: new Promise<'late'>((resolve) => {
      timer = setTimeout(
        () => {
          state.passed = true;
          resolve('late');
        },
        Math.max(0, since + budgetMs - performance.now()),
      );
    }),
    cancel: () => clearTimeout(timer),
  };
  return state;
}

function overBudget(budgetMs: number): TransientError {
  return new TransientError(
    `the delivery did not finish within ${budgetMs / 1000} s; deliver it again (finished events answer duplicate)`,
  );
}

/**
 * Every event of the delivery decoded, in slices that yield to the event loop, so a
 * 6,000-event batch never keeps /api/health waiting.
 */
async function decodeAll(
  items: readonly unknown[],
  keyVaults: App['config']['keyVaults'],
): Promise<Array<ParseResult<Decoded>>> {
  const receivedAt = new Date();
  const decoded: Array<ParseResult<Decoded>> = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % 250 === 0) await new Promise((r) => setImmediate(r));
    decoded.push(safeDecodeKeyVaultDelivery(items[i], { keyVaults, receivedAt }));
  }
  return decoded;
}

/** The change key of a decoded event; undefined when it is not a change (it runs on its own). */
function changeKeyOf(decoded: ParseResult<Decoded>): string | undefined {
  return decoded.success && decoded.data.type === 'change' ? changeKey(decoded.data.event) : undefined;
}

/** An event that shared another's run is answered with that run's status, not a copy of its outcome. */
function sharedAnswer(answer: KeyVaultEventResult, eventId: string): KeyVaultEventResult {
  if (answer.status !== 'processed') return answer;
  const { outcome } = answer;
  return {
    status: 'processed',
    outcome: {
      ...sharedOutcome(outcome, eventId),
      refreshes: [],
      workloads: [],
      clusterFailures: [],
      timeline: [],
    },
  };
}

/** 400 when any event was invalid (dead-letter it), the error's status for a permanent failure, else 200. */
function answer(results: KeyVaultEventResult[]): JsonResponse {
  const summary = results.map((r) =>
    r.status === 'processed'
      ? { status: r.status, outcome: r.outcome }
      : r.status === 'ignored'
        ? { status: r.status, reason: r.reason }
        : { status: r.status, error: describeError(r.error) },
  );
  const bad = results.find((r) => r.status === 'invalid') ?? results.find((r) => r.status === 'failed');
  if (bad && 'error' in bad) {
    const { code, message } = describeError(bad.error);
    return { status: httpStatusOf(bad.error), jsonBody: { error: code, message, results: summary } };
  }
  return jsonResponse({ results: summary });
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}
