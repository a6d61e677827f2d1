import { describe, expect, it } from 'vitest';
import { HeldClaim, LiveClaims } from '../../../lib/state/held-claim.js';
import type { IdempotencyRecord } from '../../../lib/state/idempotency.js';
import { MemoryIdempotencyStore } from '../../../lib/state/memory-idempotency.js';
import { ManualClock } from '../support/fake-ports.js';
import { settle } from '../support/manual-time.js';

const HOUR = 3_600_000;
const claimant = { by: 'worker-1:7', at: new Date('2026-11-29T12:00:00.000Z') };

/** The memory store, with each conditional replace held until the test lets it through. */
function slowStore() {
  const store = new MemoryIdempotencyStore();
  const writes: Array<{ progress: string | undefined; done: () => void }> = [];
  const takeOver = store.takeOver.bind(store);
  store.takeOver = async (record, expiresAt, by) => {
    await new Promise<void>((done) => writes.push({ progress: record.progress, done }));
    return takeOver(record, expiresAt, by);
  };
  return { store, writes };
}

async function held(store: MemoryIdempotencyStore) {
  const clock = new ManualClock();
  const record = await store.putInProgress(
    'eventgrid:e-1',
    new Date(clock.now().getTime() + 60_000),
    claimant,
  );
  return { claim: new HeldClaim(store, record, 60_000, clock, HOUR), clock };
}

describe('HeldClaim.note: the run writes its progress into its own claim', () => {
  it('writes it as an early renewal (a later expiry), keeping the claimant', async () => {
    const store = new MemoryIdempotencyStore();
    const { claim, clock } = await held(store);
    const before = (await store.get('eventgrid:e-1')) as IdempotencyRecord;

    clock.advance(10_000);
    claim.note('{"step":1}');
    await settle();
    await claim.stop();

    expect(await store.get('eventgrid:e-1')).toMatchObject({
      status: 'in-progress',
      progress: '{"step":1}',
      claimedBy: 'worker-1:7',
      expiresAt: new Date(before.expiresAt.getTime() + 10_000),
    });
  });

  it('turns the notes that come while a write is in flight into one write of the latest', async () => {
    const { store, writes } = slowStore();
    const { claim } = await held(store);

    claim.note('1');
    await settle();
    claim.note('2');
    claim.note('3');
    claim.note('4');
    writes[0]?.done();
    await settle();
    writes[1]?.done();
    await claim.stop();

    expect(writes.map((w) => w.progress)).toEqual(['1', '4']);
    expect((await store.get('eventgrid:e-1'))?.progress).toBe('4');
  });

  it('drops a note not yet written when the run ends: the completion records everything', async () => {
    const { store, writes } = slowStore();
    const { claim } = await held(store);

    claim.note('1');
    await settle();
    claim.note('2');
    const stopped = claim.stop();
    writes[0]?.done();
    const record = await claim.record();
    await stopped;
    await store.complete(record, new Date(), '{"outcome":true}');

    expect(writes.map((w) => w.progress)).toEqual(['1']);
    expect((await store.get('eventgrid:e-1'))?.progress).toBeUndefined();
  });

  it('keeps the progress through its holder renewals; another claimant taking over starts without it', async () => {
    const store = new MemoryIdempotencyStore();
    const { claim, clock } = await held(store);
    claim.note('mine');
    await settle();
    const renewed = await claim.record();

    const kept = await store.takeOver(renewed, new Date(clock.now().getTime() + 60_000));
    const taken = await store.takeOver(kept as IdempotencyRecord, new Date(), {
      by: 'worker-2:9',
      at: clock.now(),
    });

    expect(kept?.progress).toBe('mine');
    expect(taken?.progress).toBeUndefined();
  });

  it('LiveClaims.note reaches the claim held for the key, and says when none is held', async () => {
    const store = new MemoryIdempotencyStore();
    const { claim } = await held(store);
    const claims = new LiveClaims();

    expect(claims.note('eventgrid:e-1', 'early')).toBe(false);
    claims.add(claim);
    expect(claims.note('eventgrid:e-1', 'now')).toBe(true);
    await settle();
    await claim.stop();

    expect((await store.get('eventgrid:e-1'))?.progress).toBe('now');
  });
});
