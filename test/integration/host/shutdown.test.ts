/**
 * Issue #17.1: SIGTERM (Flex Consumption and every orchestrator stop instances this way)
 * must neither abandon the work nor keep the claim. rotor's host runs as its own process in
 * front of a real cluster (Deployments consuming ESO-synced Secrets), the real Key Vault
 * endpoint stand-in and the real Azurite; SIGTERM arrives once the run of a POSTed event
 * has claimed it (in flight, not finished: it still forces a sync and restarts).
 * Either the run completes and answers 200, or it answers 503 and the claim is given back,
 * so the next delivery (another instance) completes at once (not 503 until the claim expires; the run given back
 * may still finish and record itself done before the process exits, which the redelivery
 * then answers as a duplicate); no Deployment is left on an old hash, and each rolled out once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import type { Outcome } from '../../../lib/outcome.js';
import { TableIdempotencyStore } from '../../../lib/state/table-idempotency.js';
import { Tables } from '../../../lib/state/tables.js';
import { type HostProcess, startHostProcess } from '../../env/host-process.js';
import { testEnv } from '../../env/index.js';
import { postEventGridOnce } from '../e2e/event-grid-sender.js';
import { deployFleet, type Fleet, fleetConfig } from '../e2e/fleet.js';

const env = testEnv();
let fleet: Fleet;
const hosts: HostProcess[] = [];

beforeAll(async () => {
  fleet = await deployFleet(env, { secrets: 1, deployments: 2 });
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await fleet?.stop();
});

async function startHost(config: Record<string, unknown>, settings: Record<string, string>) {
  const host = await startHostProcess({ config, settings });
  hosts.push(host);
  // Warm: the first event must not pay for the cluster's index inside the 60 ms.
  const health = await fetch(`${host.url}/api/health`, { headers: { 'x-functions-key': host.key } });
  expect(health.status, await health.text()).toBe(200);
  return host;
}

/** One delivery attempt, as Event Grid makes it; `undefined` when no answer came (connection cut). */
async function postOnce(host: HostProcess, events: unknown[]) {
  const answer = await postEventGridOnce(host, events);
  return (
    answer && {
      status: answer.status,
      body: answer.body as { results?: Array<{ outcome: Outcome }>; message?: string },
    }
  );
}

/** Waits until a run has claimed `key` (the record may say completed already, if it was that quick). */
async function claimed(records: TableIdempotencyStore, key: string): Promise<void> {
  while (!(await records.get(key))) await new Promise((r) => setTimeout(r, 10));
}

describe('SIGTERM while a delivery is in flight (the host as its own process)', () => {
  it.each([
    ['the default grace period (4 s): the run finishes and answers', {}],
    [
      'no grace period (ROTOR_SHUTDOWN_GRACE_MS=0): the claim is given back',
      { ROTOR_SHUTDOWN_GRACE_MS: '0' },
    ],
  ])(
    '%s; nothing stale, one rollout each',
    { timeout: 90_000 },
    async (_case, settings: Record<string, string>) => {
      const state = {
        connectionString: env.azurite.tableConnectionString,
        tablePrefix: `t${randomBytes(5).toString('hex')}`,
      };
      const config = { ...fleetConfig(env, fleet), state, restart: { coalesceWindowMs: 50 } };
      const records = new TableIdempotencyStore(new Tables(parseConfig({ state }).state));
      const host = await startHost(config, settings);
      const before = await fleet.generations();
      const event = await fleet.change(fleet.secrets[0]!);

      const answering = postOnce(host, [event]);
      // In flight: claimed. A fixed delay after the POST (60 ms) could land before the host
      // had even read the request on a loaded machine: refused as new work, nothing given back.
      await claimed(records, `eventgrid:${event.id}`);
      host.signal('SIGTERM');
      const answer = await answering;
      const exit = await host.exited;

      expect(answer, 'the delivery in flight got an answer').toBeDefined();
      expect(exit.code).toBe(0);
      const record = await records.get(`eventgrid:${event.id}`);
      if (answer!.status === 200) {
        expect(answer!.body.results?.[0]?.outcome.status).toBe('completed');
        expect(record?.status).toBe('completed');
      } else {
        expect(answer!.status).toBe(503);
        expect(answer!.body.message).toMatch(/shutting down/);
        // Given back (the log names it), so never left "in progress" for the claim's 2 minutes;
        // a run that went on to finish before the process exited may have recorded it done.
        expect(await host.log()).toMatch(new RegExp(`runs given back[^\\n]*eventgrid:${event.id}`));
        expect(record?.status).not.toBe('in-progress');
        const next = await startHost(config, settings);
        const started = Date.now();
        const redelivered = await postOnce(next, [event]);
        expect(redelivered?.status, JSON.stringify(redelivered?.body)).toBe(200);
        expect(['completed', 'duplicate']).toContain(redelivered!.body.results?.[0]?.outcome.status);
        // At once: not refused as "in progress" until the claim's expiry (2 minutes).
        expect(Date.now() - started).toBeLessThan(15_000);
        await next.stop();
      }
      expect(await fleet.stale()).toEqual([]);
      const after = await fleet.generations();
      for (const [name, generation] of after) expect(generation, name).toBe((before.get(name) ?? 0) + 1);
    },
  );
});
