import { describe, expect, it } from 'vitest';
import { httpStatusOf } from '../../../lib/errors.js';
import { IdempotencyInProgressError, withIdempotency } from '../../../lib/state/idempotency.js';
import { ManualTime } from '../support/manual-time.js';
import { MemoryIdempotencyStoreStandIn } from './memory-idempotency-store.js';

/** Counts runs of the work; with `time`, each run takes 20 ms of it. */
function counter(time?: ManualTime) {
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    work: async (value = 'ok') => {
      runs++;
      if (time) await new Promise<void>((r) => time.set(r, 20));
      return value;
    },
  };
}

describe('withIdempotency (algorithm, in-memory store stand-in)', () => {
  it('does the work once and answers a redelivery as a duplicate with the first result', async () => {
    const store = new MemoryIdempotencyStoreStandIn();
    const c = counter();

    const first = await withIdempotency(store, 'event-1', () => c.work('result-1'));
    const again = await withIdempotency(store, 'event-1', () => c.work('result-2'));

    expect(first).toEqual({ status: 'done', value: 'result-1' });
    expect(again).toMatchObject({ status: 'duplicate', previous: 'result-1' });
    expect(c.runs).toBe(1);
  });

  it('lets a concurrent delivery wait for the first and answer duplicate', async () => {
    const store = new MemoryIdempotencyStoreStandIn();
    const time = new ManualTime();
    const c = counter(time);
    const options = { waitMs: 2_000, pollMs: 5, clock: time, timers: time };

    const both = Promise.all([
      withIdempotency(store, 'event-2', () => c.work(), options),
      withIdempotency(store, 'event-2', () => c.work(), options),
    ]);
    await time.advance(25);
    const results = await both;

    expect(results.map((r) => r.status).sort()).toEqual(['done', 'duplicate']);
    expect(c.runs).toBe(1);
  });

  it('answers a concurrent delivery that cannot wait with a retryable in-progress error (503)', async () => {
    const store = new MemoryIdempotencyStoreStandIn();
    const time = new ManualTime();
    const c = counter(time);

    const both = Promise.allSettled([
      withIdempotency(store, 'event-3', () => c.work(), { clock: time, timers: time }),
      withIdempotency(store, 'event-3', () => c.work(), { clock: time, timers: time }),
    ]);
    await time.advance(20);
    const results = await both;

    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(IdempotencyInProgressError);
    expect(httpStatusOf(rejected.reason)).toBe(503);
    expect(c.runs).toBe(1);
  });

  it('gives the key back when the work fails, so the retry does the work', async () => {
    const store = new MemoryIdempotencyStoreStandIn();
    const c = counter();

    await expect(
      withIdempotency(store, 'event-4', () => Promise.reject(new Error('backend down'))),
    ).rejects.toThrow('backend down');
    const retry = await withIdempotency(store, 'event-4', () => c.work('recovered'));

    expect(retry).toEqual({ status: 'done', value: 'recovered' });
    expect(store.records.get('event-4')?.status).toBe('completed');
  });

  it('takes over an in-progress record older than the expiry (a worker that died)', async () => {
    const store = new MemoryIdempotencyStoreStandIn();
    let now = new Date('2024-01-01T00:00:00Z');
    const clock = { now: () => now };
    await store.putInProgress('event-5', new Date(now.getTime() + 1_000));
    const c = counter();

    await expect(
      withIdempotency(store, 'event-5', () => c.work(), { clock, inProgressExpiryMs: 1_000 }),
    ).rejects.toBeInstanceOf(IdempotencyInProgressError);
    now = new Date(now.getTime() + 1_001);
    const taken = await withIdempotency(store, 'event-5', () => c.work('taken over'), {
      clock,
      inProgressExpiryMs: 1_000,
    });

    expect(taken).toEqual({ status: 'done', value: 'taken over' });
    expect(c.runs).toBe(1);
  });

  it('lets only one of two racing takers take over an expired record', async () => {
    const store = new MemoryIdempotencyStoreStandIn();
    const time = new ManualTime(Date.parse('2024-01-01T00:10:00Z'));
    await store.putInProgress('event-6', new Date('2024-01-01T00:00:00Z'));
    const c = counter(time);

    const both = Promise.allSettled([
      withIdempotency(store, 'event-6', () => c.work(), { clock: time, timers: time }),
      withIdempotency(store, 'event-6', () => c.work(), { clock: time, timers: time }),
    ]);
    await time.advance(20);
    const results = await both;

    expect(c.runs).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('reports a store that cannot be read as an error, without doing the work', async () => {
    const store = new MemoryIdempotencyStoreStandIn();
    await store.putInProgress('event-7', new Date(Date.now() + 60_000));
    store.failReads = true;
    const c = counter();

    await expect(withIdempotency(store, 'event-7', () => c.work())).rejects.toThrow('store down');
    expect(c.runs).toBe(0);
  });
});
