import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../../../lib/kube/restart/coalescer.js';
import { ManualTime, settle } from '../../support/manual-time.js';

function recorder(time: ManualTime, maxWaitMs = 200, settleMs = 0) {
  const runs: Array<[string, string[]]> = [];
  const gates: Array<() => void> = [];
  let active = 0;
  let maxActive = 0;
  const c = new Coalescer<string, number>(
    maxWaitMs,
    async (key, items) => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs.push([key, items]);
      await new Promise<void>((resolve) => gates.push(resolve));
      active--;
      return runs.length;
    },
    time,
    time.monotonic,
    settleMs,
  );
  const finishRun = async () => {
    gates.shift()?.();
    await settle();
  };
  return { c, runs, finishRun, maxActive: () => maxActive };
}

describe('Coalescer', () => {
  it('starts a lone change at once, without waiting for any window', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time);
    const result = c.submit('w', 'secret-a');
    await settle();
    expect(runs).toEqual([['w', ['secret-a']]]);
    expect(time.pending).toBe(0);
    await finishRun();
    await expect(result).resolves.toBe(1);
  });

  it('hands the changes submitted together for one key to one run', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time);
    const a = c.submit('w', 'secret-a');
    const b = c.submit('w', 'secret-b');
    await settle();
    await finishRun();
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    expect(runs).toEqual([['w', ['secret-a', 'secret-b']]]);
  });

  it('runs different keys separately and concurrently', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time);
    const done = Promise.all([c.submit('w1', 'x'), c.submit('w2', 'x')]);
    await settle();
    expect(runs).toEqual([
      ['w1', ['x']],
      ['w2', ['x']],
    ]);
    await finishRun();
    await finishRun();
    await done;
  });

  it('never runs one key twice at once; changes arriving meanwhile join the next run, which starts when the first ends', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun, maxActive } = recorder(time);
    const first = c.submit('w', '1');
    await settle();
    const second = c.submit('w', '2');
    await settle();
    const third = c.submit('w', '3');
    await settle();
    expect(runs).toEqual([['w', ['1']]]);
    await finishRun();
    expect(runs).toEqual([
      ['w', ['1']],
      ['w', ['2', '3']],
    ]);
    await finishRun();
    expect(await Promise.all([first, second, third])).toEqual([1, 2, 2]);
    expect(maxActive()).toBe(1);
  });

  it('holds a batch for a change another run announced for the same key, and starts it when that change arrives', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time);
    const other = c.expect(['w']);
    const a = c.submit('w', 'secret-a');
    await time.advance(50);
    expect(runs).toEqual([]);
    const b = c.submit('w', 'secret-b', other);
    await settle();
    expect(runs).toEqual([['w', ['secret-a', 'secret-b']]]);
    expect(time.nowMs).toBe(50);
    await finishRun();
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    expect(time.pending).toBe(0);
  });

  it('starts the held batch at once when the announcing run gives up', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time);
    const other = c.expect(['w']);
    const a = c.submit('w', 'secret-a');
    await settle();
    expect(runs).toEqual([]);
    other.release();
    await settle();
    expect(runs).toEqual([['w', ['secret-a']]]);
    expect(time.pending).toBe(0);
    await finishRun();
    await a;
  });

  it('waits for a run announced before the first change however long its refresh takes: no window splits a burst', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time, 200);
    const slow = c.expect(['w']);
    const a = c.submit('w', 'secret-a');
    await time.advance(10_000);
    expect(runs).toEqual([]);
    expect(time.pending).toBe(0); // no timer: the announced run's submit or release decides
    const b = c.submit('w', 'secret-b', slow);
    await settle();
    expect(runs).toEqual([['w', ['secret-a', 'secret-b']]]);
    await finishRun();
    expect(await Promise.all([a, b])).toEqual([1, 1]);
  });

  it('waits for a run announced after the first change at most maxWaitMs after it; its change then gets its own run', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time, 200);
    const a = c.submit('w', 'secret-a');
    const later = c.expect(['w']);
    await time.advance(199);
    expect(runs).toEqual([]);
    await time.advance(1);
    expect(runs).toEqual([['w', ['secret-a']]]);
    await finishRun();
    const b = c.submit('w', 'secret-b', later);
    await settle();
    expect(runs).toEqual([
      ['w', ['secret-a']],
      ['w', ['secret-b']],
    ]);
    await finishRun();
    expect(await Promise.all([a, b])).toEqual([1, 2]);
  });

  it('a batch begun while another ran waits for the runs announced before it, not for those the running batch waited for', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time, 200);
    const first = c.submit('w', '1');
    await settle();
    const announced = c.expect(['w']);
    const second = c.submit('w', '2');
    await finishRun();
    expect(runs).toEqual([['w', ['1']]]); // the next batch holds for `announced`
    const third = c.submit('w', '3', announced);
    await settle();
    expect(runs).toEqual([
      ['w', ['1']],
      ['w', ['2', '3']],
    ]);
    await finishRun();
    expect(await Promise.all([first, second, third])).toEqual([1, 2, 2]);
  });

  it('an announcement for another key holds nothing', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time);
    const other = c.expect(['w2']);
    const a = c.submit('w1', 'x');
    await settle();
    expect(runs).toEqual([['w1', ['x']]]);
    other.release();
    await finishRun();
    await a;
  });

  it('a run does not wait for its own announcement', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time);
    const mine = c.expect(['w']);
    const a = c.submit('w', 'x', mine);
    await settle();
    expect(runs).toEqual([['w', ['x']]]);
    mine.release();
    await finishRun();
    await a;
  });

  it('passes a failure to every caller of the batch and keeps working afterwards', async () => {
    let fail = true;
    const c = new Coalescer<string, string>(0, async () => {
      if (fail) throw new Error('boom');
      return 'ok';
    });
    await expect(Promise.all([c.submit('w', 'a'), c.submit('w', 'b')])).rejects.toThrow('boom');
    fail = false;
    await expect(c.submit('w', 'c')).resolves.toBe('ok');
  });

  it('drain waits for held and running batches', async () => {
    const time = new ManualTime(0);
    const { c, runs, finishRun } = recorder(time);
    const held = c.expect(['w']);
    void c.submit('w', 'a');
    let drained = false;
    const draining = c.drain().then(() => {
      drained = true;
    });
    await settle();
    expect(drained).toBe(false);
    held.release();
    await settle();
    expect(runs).toHaveLength(1);
    expect(drained).toBe(false);
    await finishRun();
    await draining;
    expect(drained).toBe(true);
  });

  describe('with settleMs (beside Reloader: restart.reloader coexist)', () => {
    it('starts even a lone change only settleMs after it arrived', async () => {
      const time = new ManualTime(0);
      const { c, runs, finishRun } = recorder(time, 200, 1_000);
      const a = c.submit('w', 'secret-a');
      await time.advance(999);
      expect(runs).toEqual([]);
      await time.advance(1);
      expect(runs).toEqual([['w', ['secret-a']]]);
      await finishRun();
      await a;
    });

    it('measures settleMs from the latest change, so changes in a burst share one run', async () => {
      const time = new ManualTime(0);
      const { c, runs, finishRun } = recorder(time, 200, 1_000);
      const a = c.submit('w', 'v1');
      await time.advance(50);
      const b = c.submit('w', 'v2');
      await time.advance(999);
      expect(runs).toEqual([]);
      await time.advance(1);
      expect(runs).toEqual([['w', ['v1', 'v2']]]);
      expect(time.nowMs).toBe(1_050);
      await finishRun();
      expect(await Promise.all([a, b])).toEqual([1, 1]);
    });

    it('never holds a batch longer than settleMs + maxWaitMs after its first change', async () => {
      const time = new ManualTime(0);
      const { c, runs, finishRun } = recorder(time, 200, 1_000);
      const submitted = [c.submit('w', 'v0')];
      // A change every 100 ms: waiting for a quiet 1 s would never end.
      for (let i = 1; i <= 11; i++) {
        await time.advance(100);
        submitted.push(c.submit('w', `v${i}`));
      }
      await time.advance(99);
      expect(runs).toEqual([]);
      await time.advance(1);
      expect(time.nowMs).toBe(1_200);
      expect(runs).toEqual([['w', submitted.map((_, i) => `v${i}`)]]);
      await finishRun();
      await Promise.all(submitted);
    });
  });
});
