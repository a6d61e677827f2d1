import { systemTimers, type Timers } from '../../clock.js';

/**
 * Per-key batching without a fixed wait. A batch for a key starts at once (after the
 * current tick, so the changes one restart() submits together stay together), unless
 * rotor knows that more changes to the same key are on their way:
 *   - a run for the key is in flight: new items wait and join the next batch, so one
 *     workload is never written by two runs at once and a burst becomes few patches;
 *   - pipeline runs announced (expect()) that they will change resources this key
 *     consumes and have not submitted yet. Those announced before the batch's first item
 *     are waited for however long they take: each is a change the workload has to take
 *     anyway (a restart before it only means a second rollout right after), and each run
 *     submits or releases within its own refresh timeout. Those announced later are waited
 *     for at most `maxWaitMs` after the first item, so a steady stream of changes cannot
 *     hold a workload's restart (Reloader issues #110, #279, #856: no debounce, restart storms).
 * A lone change waits for nothing, unless `settleMs` is set: then a batch starts only when
 * `settleMs` has passed since its latest item (at most `settleMs + maxWaitMs` after its
 * first), which lets another restarter that writes the same template (Stakater Reloader,
 * restart.reloader: coexist) act first, so rotor's write is a no-op (docs/reloader.md).
 * A caller waiting for a batch holds nothing the announced runs need: the run queue gives
 * a run's place up once its refreshes are over (lib/prefetch.ts).
 */
/** Milliseconds on a monotonic clock; injected with Timers so tests control both. */
export type Now = () => number;

/** What a pipeline run announced it will submit; released when it has submitted or given up. */
export interface Expectation {
  release(): void;
}

interface KeyState<T, R> {
  running?: Promise<unknown>;
  next?: Batch<T, R>;
  /** Announced runs that have not submitted to this key yet. */
  expected: Set<object>;
  timer?: unknown;
}

export class Coalescer<T, R> {
  private readonly keys = new Map<string, KeyState<T, R>>();

  constructor(
    private readonly maxWaitMs: number,
    private readonly run: (key: string, items: T[]) => Promise<R>,
    private readonly timers: Timers = systemTimers,
    private readonly now: Now = () => performance.now(),
    private readonly settleMs = 0,
  ) {}

  /**
   * Announces that the caller will submit to each key (or release the expectation).
   * Batches for these keys hold for it, bounded by maxWaitMs.
   */
  expect(keys: Iterable<string>): Expectation {
    const held = [...new Set(keys)];
    const expectation: Expectation = {
      release: () => {
        for (const key of held) {
          const s = this.keys.get(key);
          if (s?.expected.delete(expectation)) this.schedule(key);
        }
      },
    };
    for (const key of held) this.state(key).expected.add(expectation);
    return expectation;
  }

  /** `from`: the expectation this item fulfils (its run no longer holds the key). */
  submit(key: string, item: T, from?: Expectation): Promise<R> {
    const s = this.state(key);
    if (from) s.expected.delete(from);
    const at = this.now();
    s.next ??= newBatch<T, R>(at, s.expected);
    s.next.items.push(item);
    s.next.lastAt = at;
    const promise = s.next.promise;
    this.schedule(key);
    return promise;
  }

  /** Waits for every batch submitted so far to finish. */
  async drain(): Promise<void> {
    for (;;) {
      const busy = [...this.keys.values()].flatMap((s) => [
        ...(s.next ? [s.next.promise] : []),
        ...(s.running ? [s.running] : []),
      ]);
      if (busy.length === 0) return;
      await Promise.allSettled(busy);
    }
  }

  private state(key: string): KeyState<T, R> {
    let s = this.keys.get(key);
    if (!s) {
      s = { expected: new Set() };
      this.keys.set(key, s);
    }
    return s;
  }

  /** Decides after the current tick, so items submitted together start together. */
  private schedule(key: string): void {
    queueMicrotask(() => this.decide(key));
  }

  private decide(key: string): void {
    const s = this.keys.get(key);
    if (!s) return;
    if (s.running) return; // its end decides again
    const batch = s.next;
    if (!batch) {
      if (s.expected.size === 0 && s.timer === undefined) this.keys.delete(key);
      return;
    }
    // Announced before the batch began: wait for them (their release or submit decides again).
    for (const e of batch.before) if (s.expected.has(e)) return;
    const waitLeft = this.waitLeft(batch, s.expected.size > 0);
    if (waitLeft > 0) {
      if (s.timer === undefined)
        s.timer = this.timers.set(() => {
          s.timer = undefined;
          this.decide(key);
        }, waitLeft);
      return;
    }
    if (s.timer !== undefined) {
      this.timers.clear(s.timer);
      s.timer = undefined;
    }
    s.next = undefined;
    const job = this.start(key, batch);
    s.running = job;
    void job.finally(() => {
      s.running = undefined;
      this.decide(key);
    });
  }

  /** How long the batch still holds: for runs announced since it began (bounded), and to settle. */
  private waitLeft(batch: Batch<T, R>, announced: boolean): number {
    const now = this.now();
    const forAnnounced = announced ? batch.firstAt + this.maxWaitMs - now : 0;
    const toSettle =
      this.settleMs > 0 ? Math.min(batch.lastAt, batch.firstAt + this.maxWaitMs) + this.settleMs - now : 0;
    return Math.max(forAnnounced, toSettle);
  }

  private async start(key: string, batch: Batch<T, R>): Promise<void> {
    try {
      batch.resolve(await this.run(key, batch.items));
    } catch (error) {
      batch.reject(error);
    }
  }
}

interface Batch<T, R> {
  firstAt: number;
  /** The runs that had announced changes to the key when the batch began. */
  before: ReadonlySet<object>;
  lastAt: number;
  items: T[];
  promise: Promise<R>;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

function newBatch<T, R>(firstAt: number, expected: ReadonlySet<object>): Batch<T, R> {
  let resolve!: (value: R) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<R>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers always await; this keeps an unobserved rejection from crashing the process.
  promise.catch(() => undefined);
  return { firstAt, before: new Set(expected), lastAt: firstAt, items: [], promise, resolve, reject };
}
