import { describe, expect, it } from 'vitest';
import { MemoryLeaseStore, rowKeyOf } from '../../../lib/state/lease.js';

describe('MemoryLeaseStore', () => {
  it('grants a key once until it is released or expires', async () => {
    let now = 0;
    const store = new MemoryLeaseStore({ now: () => new Date(now) });

    const first = await store.tryAcquire('k', 1_000);
    const whileHeld = await store.tryAcquire('k', 1_000);
    now = 1_001;
    const afterExpiry = await store.tryAcquire('k', 1_000);
    await first?.release();
    const stillHeld = await store.tryAcquire('k', 1_000);

    expect(first).toBeDefined();
    expect(whileHeld).toBeUndefined();
    expect(afterExpiry).toBeDefined();
    expect(stillHeld).toBeUndefined();
  });
});

describe('rowKeyOf', () => {
  it('turns a refKey with characters Table Storage forbids into a stable hex key', () => {
    const key = 'vault:https://bao.example#team/a/secret/app?x';

    expect(rowKeyOf(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(rowKeyOf(key)).toBe(rowKeyOf(key));
  });
});
