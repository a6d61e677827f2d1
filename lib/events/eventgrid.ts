import { z } from 'zod';
import { isRecord, parseJson } from './json.js';
import { fail, ok, type ParseResult, unwrap, zodIssues } from './result.js';

/**
 * The Event Grid event schema as delivered to a webhook or to the Functions Event Grid
 * trigger. `data` stays `unknown` here: each source decodes its own payload.
 */
export const EventGridEventSchema = z.object({
  id: z.string().trim().min(1),
  /** ARM id of the source resource; Event Grid stamps it on every delivered event. */
  topic: z.string().optional(),
  subject: z.string(),
  eventType: z.string().trim().min(1),
  eventTime: z.string().min(1),
  data: z.unknown().optional(),
  dataVersion: z.string().optional(),
  metadataVersion: z.string().optional(),
});

export type EventGridEvent = z.output<typeof EventGridEventSchema>;

export const SUBSCRIPTION_VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';

export const SubscriptionValidationDataSchema = z.object({
  validationCode: z.string().min(1),
  validationUrl: z.string().optional(),
});

/** One event or a batch (JSON array), as Event Grid posts them. */
export function safeParseEventGridEvents(body: unknown): ParseResult<EventGridEvent[]> {
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) return fail('Event Grid delivery is an empty array');
  const events: EventGridEvent[] = [];
  for (const [index, item] of items.entries()) {
    const parsed = EventGridEventSchema.safeParse(item);
    if (!parsed.success) {
      const where = Array.isArray(body) ? `event ${index}` : 'event';
      return fail(`${where} is not an Event Grid schema event`, zodIssues(parsed.error.issues));
    }
    events.push(parsed.data);
  }
  return ok(events);
}

export function parseEventGridEvents(body: unknown): EventGridEvent[] {
  return unwrap(safeParseEventGridEvents(body));
}

/** Raw body text → events. */
export function safeParseEventGridBody(text: string): ParseResult<EventGridEvent[]> {
  const json = parseJson(text);
  return json.success ? safeParseEventGridEvents(json.data) : json;
}

export function isSubscriptionValidation(event: Pick<EventGridEvent, 'eventType'>): boolean {
  return event.eventType === SUBSCRIPTION_VALIDATION_EVENT;
}

/**
 * The synchronous handshake: echo `data.validationCode` as `{ validationResponse }` with 200.
 * Event Grid sends the validation event alone in its array.
 */
export function safeSubscriptionValidationResponse(
  events: EventGridEvent[],
): ParseResult<{ validationResponse: string }> {
  const event = events.find(isSubscriptionValidation);
  if (!event)
    return fail(`a SubscriptionValidation delivery must contain a ${SUBSCRIPTION_VALIDATION_EVENT}`);
  const data = SubscriptionValidationDataSchema.safeParse(isRecord(event.data) ? event.data : {});
  if (!data.success)
    return fail('subscription validation event has no validationCode', zodIssues(data.error.issues));
  return ok({ validationResponse: data.data.validationCode });
}
