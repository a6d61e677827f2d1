import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../lib/limiter.js';
import { settle } from './support/manual-time.js';

function gate() {
  let open = () => {};
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { opened, open };
}

describe('createLimiter', () => {
  it('runs at most `concurrency` tasks at once, in the order they were queued', async () => {
    const limit = createLimiter(2);
    const started: number[] = [];
    const gates = [gate(), gate(), gate()];
    const done = gates.map((g, i) =>
      limit(async () => {
        started.push(i);
        await g.opened;
      }),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    gates[1]?.open();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    await Promise.all(done);
  });

  it('a task that releases its place lets the next one start while it goes on; its end frees nothing more', async () => {
    const limit = createLimiter(1);
    const started: string[] = [];
    const waiting = gate();
    const others = [gate(), gate()];
    const first = limit(async (release) => {
      started.push('first');
      release();
      release(); // idempotent
      await waiting.opened;
    });
    const second = limit(async () => {
      started.push('second');
      await others[0]?.opened;
    });
    const third = limit(async () => {
      started.push('third');
      await others[1]?.opened;
    });
    await settle();
    expect(started).toEqual(['first', 'second']);
    waiting.open();
    await first;
    await settle();
    expect(started).toEqual(['first', 'second']); // the released place was the only one
    others[0]?.open();
    await second;
    await settle();
    expect(started).toEqual(['first', 'second', 'third']);
    others[1]?.open();
    await third;
  });

  it('refuses a task past maxQueued at once with the given error', async () => {
    const limit = createLimiter(1, { maxQueued: 1, onFull: (n) => new Error(`full at ${n}`) });
    const held = gate();
    const running = limit(() => held.opened);
    const queued = limit(async () => 'ran');
    await expect(limit(async () => 'never')).rejects.toThrow('full at 1');
    held.open();
    await running;
    await expect(queued).resolves.toBe('ran');
  });
});
