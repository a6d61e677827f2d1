import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { LiveClaims } from '../../../lib/state/held-claim.js';
import { IdempotencyInProgressError, withIdempotency } from '../../../lib/state/idempotency.js';
import { TableIdempotencyStore } from '../../../lib/state/table-idempotency.js';
import { Tables } from '../../../lib/state/tables.js';
import { testEnv } from '../../env/index.js';

function store(): TableIdempotencyStore {
  const config = parseConfig({ state: { connectionString: testEnv().azurite.tableConnectionString } });
  return new TableIdempotencyStore(new Tables(config.state));
}

/**
 * A run that lasts until `release()`: the test ends it once the other delivery has acted,
 * instead of hoping a timer outlasts that delivery on a loaded machine. A second run is the
 * failure these tests look for, so it releases at once rather than hanging.
 */
function held<T>(value: T) {
  const calls = { runs: 0 };
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const work = async () => {
    calls.runs++;
    if (calls.runs > 1) release();
    await released;
    return value;
  };
  return { calls, work, release };
}

/** A store that calls `onRead` after each read: a delivery reads a key only when it finds it claimed. */
function reading(onRead: () => void): TableIdempotencyStore {
  const s = store();
  const get = s.get.bind(s);
  s.get = async (key) => {
    const record = await get(key);
    onRead();
    return record;
  };
  return s;
}

function counted<T>(value: T) {
  const calls = { runs: 0 };
  const work = async () => {
    calls.runs++;
    return value;
  };
  return { calls, work };
}

/** The record once the first delivery has claimed the key. */
async function claimed(s: TableIdempotencyStore, key: string) {
  for (;;) {
    const record = await s.get(key);
    if (record) return record;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('idempotency over Azure Table Storage (Azurite)', () => {
  it('records the event as done and answers a redelivery as a duplicate without redoing the work', async () => {
    const key = `eventgrid:${randomUUID()}`;
    const { calls, work } = counted({ status: 'completed', workloads: 3 });

    const first = await withIdempotency(store(), key, work);
    const redelivery = await withIdempotency(store(), key, work);

    expect(first.status).toBe('done');
    expect(redelivery).toMatchObject({
      status: 'duplicate',
      previous: { status: 'completed', workloads: 3 },
    });
    expect(calls.runs).toBe(1);
  });

  it('does the work once for two concurrent deliveries of one event', async () => {
    const key = `eventgrid:${randomUUID()}`;
    const { calls, work, release } = held('patched');

    // The run ends once the other delivery has found the key claimed and waits.
    const results = await Promise.all([
      withIdempotency(reading(release), key, work, { waitMs: 30_000, pollMs: 25 }),
      withIdempotency(reading(release), key, work, { waitMs: 30_000, pollMs: 25 }),
    ]);

    expect(calls.runs).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual(['done', 'duplicate']);
  });

  it('answers a concurrent delivery with a retryable in-progress error when it may not wait', async () => {
    const key = `eventgrid:${randomUUID()}`;
    const { calls, work, release } = held('patched');

    // The run ends once the other delivery has read the claimed key.
    const results = await Promise.allSettled([
      withIdempotency(reading(release), key, work),
      withIdempotency(reading(release), key, work),
    ]);

    expect(calls.runs).toBe(1);
    expect(
      results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason),
    ).toEqual([expect.any(IdempotencyInProgressError)]);
  });

  it('lets a failed event be retried and then succeed', async () => {
    const key = `vault-audit:${randomUUID()}`;
    const s = store();

    await expect(
      withIdempotency(s, key, async () => Promise.reject(new Error('kube-apiserver unreachable'))),
    ).rejects.toThrow('kube-apiserver unreachable');
    expect(await s.get(key)).toBeUndefined();
    const retry = await withIdempotency(s, key, async () => 'done after recovery');

    expect(retry).toEqual({ status: 'done', value: 'done after recovery' });
    expect((await s.get(key))?.status).toBe('completed');
  });

  it('takes over an expired in-progress record with an ETag-conditional replace: one taker wins', async () => {
    const key = `eventgrid:${randomUUID()}`;
    const s = store();
    await s.putInProgress(key, new Date(Date.now() - 1_000));
    const { calls, work, release } = held('taken over');

    // Both read the expired record before taking it over: the winner's run ends once the
    // loser has answered (it finds the winner's live claim).
    const results = await Promise.allSettled(
      [withIdempotency(store(), key, work), withIdempotency(store(), key, work)].map((d) =>
        d.finally(release),
      ),
    );

    expect(calls.runs).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await s.get(key))?.status).toBe('completed');
  });

  it('accepts keys with characters Table keys forbid, and keeps them apart', async () => {
    const base = randomUUID();
    const keys = [`manual:${base}/a#b?c`, `manual:${base}\\x`, `manual:${base}/ä€`];

    const results = await Promise.all(keys.map((k) => withIdempotency(store(), k, async () => k)));

    expect(results.map((r) => r.status === 'done' && r.value)).toEqual(keys);
  });

  it('keeps no result that is too large for a table property but still answers duplicate', async () => {
    const key = `eventgrid:${randomUUID()}`;
    await withIdempotency(store(), key, async () => 'x'.repeat(40_000));

    const again = await withIdempotency(store(), key, async () => 'never');

    expect(again.status).toBe('duplicate');
    expect(again.status === 'duplicate' && again.previous).toBeUndefined();
  });
});

describe('a claim outlives its run (heartbeat)', () => {
  it('a redelivery racing a run slower than the in-progress expiry does not take it over: one effect', async () => {
    const key = `eventgrid:${randomUUID()}`;
    const { calls, work, release } = held('patched');
    // Renewed every second (a third of the expiry): a loaded machine's stalls of a few hundred
    // ms must not look like a dead run, as they could with a 400 ms expiry.
    const expiry = { inProgressExpiryMs: 3_000, waitMs: 30_000, pollMs: 50 };
    const s = store();

    const first = withIdempotency(store(), key, work, expiry);
    const claim = await claimed(s, key);
    // Past the expiry of the first claim, while the run still works: only renewals keep it.
    await new Promise((r) => setTimeout(r, claim.expiresAt.getTime() - Date.now() + 100));
    // The run ends once the redelivery has read the claim (and, renewed, left it alone).
    const redelivery = withIdempotency(reading(release), key, work, expiry);
    const results = await Promise.all([first, redelivery]);

    expect(calls.runs).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['done', 'duplicate']);
  });
});

describe('a run in progress says what it finished (Azurite)', () => {
  it('its holder writes its progress; another instance reads it; renewals keep it; the completion replaces it', async () => {
    const key = `eventgrid:${randomUUID()}`;
    const claims = new LiveClaims();
    const reader = store();
    const seen: Array<string | undefined> = [];
    const waitFor = async (progress: string) => {
      for (let i = 0; i < 100 && (await reader.get(key))?.progress !== progress; i++)
        await new Promise((r) => setTimeout(r, 20));
      seen.push((await reader.get(key))?.progress);
    };

    await withIdempotency(
      store(),
      key,
      async () => {
        claims.note(key, '{"step":"resolved"}');
        await waitFor('{"step":"resolved"}');
        await new Promise((r) => setTimeout(r, 300)); // a heartbeat renewal or two (every 100 ms)
        seen.push((await reader.get(key))?.progress);
        claims.note(key, '{"step":"restarted"}');
        await waitFor('{"step":"restarted"}');
        return 'outcome';
      },
      { claims, heartbeatMs: 100 },
    );

    expect(seen).toEqual(['{"step":"resolved"}', '{"step":"resolved"}', '{"step":"restarted"}']);
    const done = await reader.get(key);
    expect(done).toMatchObject({ status: 'completed', result: '"outcome"' });
    expect(done?.progress).toBeUndefined();
  });
});

describe('purging completed event records (Azurite)', () => {
  it('deletes completed records older than the retention and keeps recent and in-progress ones', async () => {
    const prefix = `purge${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const config = parseConfig({
      state: { connectionString: testEnv().azurite.tableConnectionString, tablePrefix: prefix },
    });
    const s = new TableIdempotencyStore(new Tables(config.state));
    const threeDaysAgo = { now: () => new Date(Date.now() - 3 * 86_400_000) };
    await withIdempotency(s, 'old', async () => 'done', { clock: threeDaysAgo });
    await withIdempotency(s, 'recent', async () => 'done');
    await s.putInProgress('running', new Date(Date.now() + 60_000));

    const purged = await s.purgeCompleted(new Date(Date.now() - 48 * 3_600_000));

    expect(purged).toBe(1);
    expect(await s.get('old')).toBeUndefined();
    expect((await s.get('recent'))?.status).toBe('completed');
    expect((await s.get('running'))?.status).toBe('in-progress');
  });
});
