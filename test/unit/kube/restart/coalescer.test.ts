import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../../../lib/kube/restart/coalescer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Coalescer', () => {
  it('hands every item submitted for a key within the window to one run', async () => {
    const runs: string[][] = [];
    const c = new Coalescer<string, number>(30, async (_key, items) => {
      runs.push(items);
      return runs.length;
    });
    const a = c.submit('w', 'secret-a');
    await sleep(10);
    const b = c.submit('w', 'secret-b');
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    expect(runs).toEqual([['secret-a', 'secret-b']]);
  });

  it('runs different keys separately', async () => {
    const runs: Array<[string, string[]]> = [];
    const c = new Coalescer<string, void>(5, async (key, items) => {
      runs.push([key, items]);
    });
    await Promise.all([c.submit('w1', 'x'), c.submit('w2', 'x')]);
    expect(runs.sort()).toEqual([
      ['w1', ['x']],
      ['w2', ['x']],
    ]);
  });

  it('never runs one key twice at once; items arriving meanwhile join the next run', async () => {
    let active = 0;
    let maxActive = 0;
    const runs: string[][] = [];
    const c = new Coalescer<string, void>(0, async (_key, items) => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs.push(items);
      await sleep(40);
      active--;
    });
    const first = c.submit('w', '1');
    await sleep(10);
    const second = c.submit('w', '2');
    await sleep(5);
    const third = c.submit('w', '3');
    await Promise.all([first, second, third]);
    expect(maxActive).toBe(1);
    expect(runs).toEqual([['1'], ['2', '3']]);
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

  it('drain waits for pending and running batches', async () => {
    let done = false;
    const c = new Coalescer<string, void>(10, async () => {
      await sleep(20);
      done = true;
    });
    void c.submit('w', 'a');
    await c.drain();
    expect(done).toBe(true);
  });
});
