/**
 * Issue #17, done means: during a burst of Key Vault changes, rotor's host is killed
 * (SIGKILL), stopped (SIGTERM) and its state store (Azurite) is lost, at random points of a
 * seeded schedule (the seed is printed; ROTOR_CHAOS_SEED=<seed> replays it). Events are
 * delivered as Event Grid does (anything but 2xx, or no answer, is delivered again after a
 * backoff) and whatever was killed is started again. In the end every Deployment runs on the
 * Reloader hash of the Secrets it consumes, every Secret holds its Key Vault value, no
 * template ever went back to a hash it had left, and no Deployment rolled out more often
 * than its Secrets changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Azurite, startAzurite } from '../../env/azurite.js';
import { chaosSeed } from '../../env/chaos-seed.js';
import { type HostProcess, startHostProcess } from '../../env/host-process.js';
import { testEnv } from '../../env/index.js';
import { deliverLikeEventGrid, seededRandom } from './event-grid-sender.js';
import { deployFleet, type Fleet, fleetConfig } from './fleet.js';

const env = testEnv();
const SEED = chaosSeed();
const random = seededRandom(SEED);
const CHANGES = 12;
const BURST_MS = 8_000;

let fleet: Fleet;
let azurite: Azurite;
let host: HostProcess;
let config: Record<string, unknown>;

beforeAll(async () => {
  console.log(`[chaos] seed ${SEED} (ROTOR_CHAOS_SEED=${SEED} replays this schedule)`);
  fleet = await deployFleet(env, { secrets: 3, deployments: 6 });
  azurite = await startAzurite();
  config = {
    ...fleetConfig(env, fleet),
    // A killed instance's claim is taken over after 3 s instead of 2 minutes (heartbeat 1 s).
    state: { connectionString: azurite.tableConnectionString, inProgressExpiryMs: 3_000 },
    restart: { coalesceWindowMs: 50 },
    refresh: { timeoutMs: 10_000 },
  };
  host = await startHostProcess({ config, settings: { ROTOR_SHUTDOWN_GRACE_MS: '1000' } });
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  await fleet?.stop();
});

type Fault = 'SIGKILL host' | 'SIGTERM host' | 'lose state store';

/** The faults in a seeded order, each at a seeded point of the burst. */
function schedule(): Array<{ fault: Fault; atMs: number }> {
  const faults: Fault[] = ['SIGKILL host', 'SIGTERM host', 'lose state store', 'SIGKILL host'];
  return faults
    .map((fault) => ({ fault, order: random(), atMs: Math.round(500 + random() * (BURST_MS - 500)) }))
    .sort((a, b) => a.order - b.order)
    .map(({ fault, atMs }) => ({ fault, atMs }))
    .sort((a, b) => a.atMs - b.atMs);
}

async function inject(fault: Fault): Promise<void> {
  if (fault === 'lose state store') {
    const port = Number(new URL(azurite.tableUrl).port);
    await azurite.stop();
    azurite = await startAzurite({ port });
    return;
  }
  const dying = host;
  dying.signal(fault === 'SIGKILL host' ? 'SIGKILL' : 'SIGTERM');
  await dying.exited;
  await dying.stop();
  host = await startHostProcess({
    config,
    settings: { ROTOR_SHUTDOWN_GRACE_MS: '1000' },
    port: Number(new URL(dying.url).port),
    key: dying.key,
  });
}

describe('chaos: host and state store killed during a burst', () => {
  it('every Deployment ends on its Secrets current hash, with one rollout per change at most', {
    timeout: 240_000,
  }, async () => {
    const before = await fleet.generations();
    const faults = schedule();
    console.log(`[chaos] faults: ${faults.map((f) => `${f.fault} at ${f.atMs} ms`).join(', ')}`);
    const changed = new Map<string, number>();
    const t0 = Date.now();

    const deliveries = Array.from({ length: CHANGES }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (i * BURST_MS) / CHANGES));
      const secret = fleet.secrets[Math.floor(random() * fleet.secrets.length)]!;
      changed.set(secret, (changed.get(secret) ?? 0) + 1);
      const event = await fleet.change(secret);
      // The host's address stays the same across restarts, as behind an Event Grid subscription.
      return deliverLikeEventGrid(host, [event], { random, deadlineMs: 120_000, maxBackoffMs: 1_000 });
    });
    const chaos = (async () => {
      for (const { fault, atMs } of faults) {
        await new Promise((r) => setTimeout(r, Math.max(0, t0 + atMs - Date.now())));
        await inject(fault);
      }
    })();
    const delivered = await Promise.all(deliveries);
    await chaos;

    expect(delivered.map((d) => d.status)).toEqual(delivered.map(() => 200));
    console.log(
      `[chaos] ${CHANGES} changes delivered in ${Date.now() - t0} ms; redeliveries: ${delivered.map((d) => d.attempts - 1).join(',')}`,
    );
    expect(await fleet.stale()).toEqual([]);
    expect(fleet.wentBack()).toEqual([]);
    const after = await fleet.generations();
    for (const d of fleet.deployments) {
      const rollouts = (after.get(d.name) ?? 0) - (before.get(d.name) ?? 0);
      const changes = d.secrets.reduce((n, s) => n + (changed.get(s) ?? 0), 0);
      expect(rollouts, `${d.name}: ${rollouts} rollouts for ${changes} changes`).toBeLessThanOrEqual(changes);
      if (changes > 0) expect(rollouts, d.name).toBeGreaterThanOrEqual(1);
    }
  });
});
