import { z } from 'zod';
import { isRecord } from './json.js';
import { fail, ok, type ParseResult, unwrap, zodIssues } from './result.js';

/** CloudEvents 1.0, JSON format (structured mode), the way Event Grid delivers its CloudEvents schema. */
export const CloudEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().trim().min(1),
  source: z.string().min(1),
  type: z.string().trim().min(1),
  subject: z.string().optional(),
  time: z.string().optional(),
  datacontenttype: z.string().optional(),
  dataschema: z.string().optional(),
  data: z.unknown().optional(),
  data_base64: z.string().optional(),
});

export type CloudEvent = z.output<typeof CloudEventSchema>;

export const CLOUDEVENTS_MEDIA_TYPE = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH_MEDIA_TYPE = 'application/cloudevents-batch+json';

/** Heuristic used when the media type is plain JSON: only CloudEvents carry `specversion`. */
export function looksLikeCloudEvent(value: unknown): boolean {
  const first = Array.isArray(value) ? value[0] : value;
  return isRecord(first) && 'specversion' in first;
}

/**
 * One event (`application/cloudevents+json`), a batch (`application/cloudevents-batch+json`,
 * a JSON array), or either when the media type is plain `application/json`.
 */
export function safeParseCloudEvents(
  body: unknown,
  mediaType = 'application/json',
): ParseResult<CloudEvent[]> {
  if (mediaType === CLOUDEVENTS_BATCH_MEDIA_TYPE && !Array.isArray(body)) {
    return fail(`${CLOUDEVENTS_BATCH_MEDIA_TYPE} requires a JSON array of events`);
  }
  if (mediaType === CLOUDEVENTS_MEDIA_TYPE && !isRecord(body)) {
    return fail(
      `${CLOUDEVENTS_MEDIA_TYPE} requires one JSON object; send batches as ${CLOUDEVENTS_BATCH_MEDIA_TYPE}`,
    );
  }
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) return fail('CloudEvents batch is empty');
  const events: CloudEvent[] = [];
  for (const [index, item] of items.entries()) {
    const parsed = CloudEventSchema.safeParse(item);
    if (!parsed.success) {
      const where = Array.isArray(body) ? `event ${index}` : 'event';
      return fail(`${where} is not a CloudEvents 1.0 event`, zodIssues(parsed.error.issues));
    }
    events.push(parsed.data);
  }
  return ok(events);
}

export function parseCloudEvents(body: unknown, mediaType?: string): CloudEvent[] {
  return unwrap(safeParseCloudEvents(body, mediaType));
}

const OriginSchema = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be a host name');

/**
 * CloudEvents webhook abuse protection (HTTP 1.1 Web Hooks spec, section 4): an OPTIONS
 * request names its origin in `WebHook-Request-Origin`; we allow it by echoing it in
 * `WebHook-Allowed-Origin`, and allow any rate (`*`): Event Grid then starts delivering.
 */
export function safeAbuseProtectionResponse(
  header: (name: string) => string | null | undefined,
): ParseResult<{ status: 200; headers: Record<string, string> }> {
  const origin = OriginSchema.safeParse(header('webhook-request-origin') ?? '');
  if (!origin.success)
    return fail('OPTIONS handshake needs a WebHook-Request-Origin header', zodIssues(origin.error.issues));
  return ok({
    status: 200,
    headers: { 'WebHook-Allowed-Origin': origin.data, 'WebHook-Allowed-Rate': '*', Allow: 'POST, OPTIONS' },
  });
}
