import { z } from 'zod';
import type { App } from '../app-types.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { zodIssues } from '../events/result.js';
import type { RunStatus } from '../run-status.js';
import { type JsonResponse, jsonResponse } from './http-response.js';

/**
 * An event id as senders write them (Event Grid and CloudEvents ids, audit request ids,
 * request ids of /api/rotate): any printable text. It only selects among records; the store
 * hashes it into its key.
 */
const EventIdSchema = z
  .string()
  .min(1, 'is empty')
  .max(1024, 'is longer than 1,024 characters')
  .regex(/^[^\p{Cc}]+$/u, 'holds a control character');

/** The event id of a request or a command line, or the ValidationError saying why not (400, exit 2). */
export function parseEventId(raw: string | undefined): string {
  const parsed = EventIdSchema.safeParse(raw ?? '');
  if (!parsed.success) throw new ValidationError('event id', zodIssues(parsed.error.issues));
  return parsed.data;
}

/** What the state store knows of an event's deliveries; NotFoundError (404) when nothing. */
export async function runsOf(app: App, eventId: string): Promise<RunStatus[]> {
  const runs = await app.runStatus(eventId);
  if (runs.length === 0) {
    throw new NotFoundError(
      `no delivery of this event is recorded: never received, failed or given back at shutdown (a redelivery records it), or purged after ${app.config.state.retentionHours} h`,
    );
  }
  return runs;
}

/** GET /api/runs/{eventId}: what the state store knows of the event's delivery, 404 when nothing. */
export async function handleRunStatus(app: App, raw: string | undefined): Promise<JsonResponse> {
  const eventId = parseEventId(raw);
  return jsonResponse({ eventId, runs: await runsOf(app, eventId) });
}
