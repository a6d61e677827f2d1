import { describe, expect, it } from 'vitest';
import { runStatusHandler } from '../../../functions/runStatus.js';
import { HttpRequest } from '../../../lib/host/functions-runtime.js';
import type { RunStatus } from '../../../lib/run-status.js';
import { testConfig } from '../events/support.js';
import { recordingApp } from './recording-app.js';
import { loggedContext } from './support.js';

const known: RunStatus = {
  eventId: 'evt-1',
  source: 'eventgrid',
  state: 'in-progress',
  claimedBy: 'worker-1:42',
  claimedAt: '2026-11-29T10:00:00.000Z',
  expiresAt: '2026-11-29T10:02:00.000Z',
};
const handler = runStatusHandler(async () => recordingApp({ config: testConfig(), runs: [known] }));

/** GET /api/runs/{eventId} as the Functions runtime hands it over: the route parameter decoded. */
function get(eventId: string) {
  return handler(
    new HttpRequest({
      method: 'GET',
      url: `http://localhost:7071/api/runs/${encodeURIComponent(eventId)}`,
      params: { eventId },
    }),
    loggedContext('runStatus').context,
  );
}

describe('GET /api/runs/{eventId} (functions/runStatus.ts)', () => {
  it('answers what the state store records of the event', async () => {
    const response = await get('evt-1');

    expect(response.status).toBe(200);
    expect(response.jsonBody).toEqual({ eventId: 'evt-1', runs: [known] });
  });

  it('404 for an event nothing is recorded of', async () => {
    const response = await get('evt-2');

    expect(response.status).toBe(404);
    expect(response.jsonBody).toMatchObject({ error: 'not_found' });
  });

  it.each([
    ['a control character', 'evt\n1'],
    ['more than 1,024 characters', 'x'.repeat(1_025)],
  ])('400 for an id with %s', async (_what, id) => {
    const response = await get(id);

    expect(response.status).toBe(400);
    expect(response.jsonBody).toMatchObject({ error: 'invalid_input' });
  });
});
