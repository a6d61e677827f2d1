import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../lib/clock.js';
import { parseConfig } from '../../../lib/config.js';
import { TableLeaseStore } from '../../../lib/state/lease.js';
import { Tables } from '../../../lib/state/tables.js';
import { testEnv, uniqueName } from '../../env/index.js';

const env = testEnv();
const state = parseConfig({
  state: { connectionString: env.azurite.tableConnectionString, tablePrefix: 'leasetest' },
}).state;

/** A clock the test moves; both instances share it so expiry is decided the same way. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = Date.now();
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}

describe('TableLeaseStore against Azurite', () => {
  it('grants a key to one holder at a time, even when both ask at the same moment', async () => {
    const key = `vault:http://bao#secret/${uniqueName('lease')}`;
    const instances = Array.from({ length: 5 }, () => new TableLeaseStore(new Tables(state)));

    const leases = await Promise.all(instances.map((s) => s.tryAcquire(key, 30_000)));

    expect(leases.filter(Boolean)).toHaveLength(1);
  });

  it('is available again after release', async () => {
    const key = uniqueName('lease-release');
    const [a, b] = [new TableLeaseStore(new Tables(state)), new TableLeaseStore(new Tables(state))];
    const first = await a.tryAcquire(key, 30_000);

    await first?.release();
    const second = await b.tryAcquire(key, 30_000);

    expect(second).toBeDefined();
  });

  it('lets exactly one waiting instance take over a lease whose holder never released it, after its expiry', async () => {
    const key = uniqueName('lease-expiry');
    const clock = manualClock();
    const crashed = new TableLeaseStore(new Tables(state), { clock });
    await crashed.tryAcquire(key, 10_000);
    const waiting = [1, 2, 3].map(() => new TableLeaseStore(new Tables(state), { clock }));

    const beforeExpiry = await waiting[0]?.tryAcquire(key, 10_000);
    clock.advance(10_001);
    const afterExpiry = await Promise.all(waiting.map((s) => s.tryAcquire(key, 10_000)));

    expect(beforeExpiry).toBeUndefined();
    expect(afterExpiry.filter(Boolean)).toHaveLength(1);
  });

  it("does not delete the new holder's lease when a holder releases after its own lease was taken over", async () => {
    const key = uniqueName('lease-stale-release');
    const clock = manualClock();
    const [slow, next, third] = [1, 2, 3].map(() => new TableLeaseStore(new Tables(state), { clock }));
    const stale = await slow?.tryAcquire(key, 1_000);
    clock.advance(1_001);
    const current = await next?.tryAcquire(key, 60_000);

    await stale?.release();
    const intruder = await third?.tryAcquire(key, 60_000);

    expect(current).toBeDefined();
    expect(intruder).toBeUndefined();
  });
});
