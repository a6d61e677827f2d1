/**
 * `rotor status <event id>` (issue #17.5, #16.2), the real CLI as a process, reading the
 * real state store (Azurite) that a host recorded the delivery in.
 */
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../../lib/run-status.js';
import { testEnv } from '../../env/index.js';
import { rotor } from '../../unit/cli/support.js';
import { freshEvents, type HostUnderTest, notify, startHostUnderTest } from '../host/support.js';

const env = testEnv();
const STATE = { ROTOR_STATE_CONNECTION_STRING: env.azurite.tableConnectionString };
let running: HostUnderTest;
let eventId: string;

beforeAll(async () => {
  running = await startHostUnderTest();
  const [event] = freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json');
  eventId = String(event!.id);
  expect((await notify(running.host, [event])).status).toBe(200);
});

afterAll(async () => {
  await running?.host.close();
  await running?.app.close();
});

describe.concurrent('rotor status EVENT_ID', { timeout: 120_000 }, () => {
  it('--json: one document with who claimed it, when, and what finished; exit 0', async () => {
    const run = await rotor(['status', eventId, '--json'], { env: STATE });

    expect(run.code, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout) as { eventId: string; runs: RunStatus[] };
    expect(answer.eventId).toBe(eventId);
    expect(answer.runs).toHaveLength(1);
    expect(answer.runs[0]).toMatchObject({
      source: 'eventgrid',
      state: 'completed',
      claimedBy: `${hostname()}:${process.pid}`,
      outcome: { eventId, status: 'nothing-to-do' },
    });
  });

  it('in words: the state, the claimant and the timeline', async () => {
    const run = await rotor(['status', eventId], { env: STATE });

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `event ${eventId} \\(eventgrid\\): completed at \\S+, claimed by ${hostname()}:${process.pid} at `,
      ),
    );
    expect(run.stdout).toContain('nothing-to-do');
  });

  it('an event never delivered: exit 1, saying so', async () => {
    const run = await rotor(['status', 'never-delivered-1234', '--json'], { env: STATE });

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: 'not_found' });
    expect(run.stderr).toMatch(/no delivery of this event is recorded/);
  });

  it('usage and configuration mistakes exit 2: no id, two ids, no state store', async () => {
    const [none, two, noStore] = await Promise.all([
      rotor(['status'], { env: STATE }),
      rotor(['status', 'a', 'b'], { env: STATE }),
      rotor(['status', eventId], { env: {} }),
    ]);

    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/status needs one event id/);
    expect(two.code).toBe(2);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toMatch(/rotor status reads the state store: set AzureWebJobsStorage/);
  });
});
