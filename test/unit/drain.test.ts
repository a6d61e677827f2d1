import { describe, expect, it } from 'vitest';
import { Drain, ShuttingDownError } from '../../lib/drain.js';
import { httpStatusOf } from '../../lib/errors.js';
import { LiveClaims } from '../../lib/state/held-claim.js';
import { withIdempotency } from '../../lib/state/idempotency.js';
import { MemoryIdempotencyStore } from '../../lib/state/memory-idempotency.js';

function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** A claim that records when it was given back, in the order of `events`. */
function claim(key: string, events: string[]) {
  return {
    key,
    async release() {
      events.push(`released ${key}`);
    },
  };
}

describe('Drain: what a shutdown does with the runs in flight', () => {
  it('a run that finishes within the grace period is answered with its result; nothing is given back', async () => {
    const claims = new LiveClaims();
    const drain = new Drain(claims);
    const slow = gate();
    claims.add(claim('eventgrid:a', []));

    const answer = drain.run(async () => {
      await slow.opened;
      return 'done';
    });
    const draining = drain.drain(1_000);
    slow.open();

    expect(await answer).toBe('done');
    expect(await draining).toMatchObject({ finished: 1, released: [], graceMs: 1_000 });
  });

  it('once draining, a new run is refused with a retryable error (503), and never starts', async () => {
    const drain = new Drain(new LiveClaims());
    await drain.drain(0);
    let started = false;

    const refused = drain.run(async () => {
      started = true;
    });

    await expect(refused).rejects.toBeInstanceOf(ShuttingDownError);
    expect(httpStatusOf(await refused.catch((e: unknown) => e))).toBe(503);
    expect(started).toBe(false);
  });

  it('a run outliving the grace period: its claim is given back first, then its caller is answered 503', async () => {
    const events: string[] = [];
    const claims = new LiveClaims();
    const drain = new Drain(claims);
    claims.add(claim('eventgrid:stuck', events));

    const answer = drain
      .run(() => new Promise<string>(() => undefined))
      .catch((error: unknown) => {
        events.push('answered');
        throw error;
      });
    const report = await drain.drain(20);

    await expect(answer).rejects.toThrow(
      /did not finish within 20 ms; its claim was released: deliver the event again/,
    );
    expect(report).toMatchObject({ finished: 0, released: ['eventgrid:stuck'] });
    expect(events).toEqual(['released eventgrid:stuck', 'answered']);
  });

  it('a run whose claim is still being written when the grace period ends: given back once written, before its caller is answered', async () => {
    const store = new MemoryIdempotencyStore();
    const written = gate();
    const put = store.putInProgress.bind(store);
    store.putInProgress = async (...args) => {
      await written.opened;
      return put(...args);
    };
    const claims = new LiveClaims();
    const drain = new Drain(claims);
    const events: string[] = [];

    const answer = drain
      .run(() => withIdempotency(store, 'eventgrid:claiming', () => new Promise(() => undefined), { claims }))
      .catch((error: unknown) => {
        events.push('answered');
        throw error;
      });
    const draining = drain.drain(0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    events.push('claim written');
    written.open();
    const report = await draining;

    await expect(answer).rejects.toThrow(/its claim was released/);
    expect(report).toMatchObject({ finished: 0, released: ['eventgrid:claiming'] });
    expect(await store.get('eventgrid:claiming')).toBeUndefined();
    expect(events).toEqual(['claim written', 'answered']);
  });

  it('after the grace period nothing that waited for a place may start (assertOpen)', async () => {
    const drain = new Drain(new LiveClaims());
    expect(() => drain.assertOpen()).not.toThrow();

    await drain.drain(0);

    expect(() => drain.assertOpen()).toThrow(ShuttingDownError);
  });
});
