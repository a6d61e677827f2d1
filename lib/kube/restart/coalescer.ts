/**
 * Per-key debounce with serialisation: items submitted for one key within `windowMs` of
 * the first are handed to `run` together, once; while a run for a key is in flight, new
 * items wait and join the next batch, so one workload is never written by two runs at
 * once. This is what turns a burst of Secret changes into one patch per workload
 * (Reloader issues #110, #279, #856: no debounce, restart storms).
 */
export class Coalescer<T, R> {
  private readonly pending = new Map<string, Batch<T, R>>();
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly windowMs: number,
    private readonly run: (key: string, items: T[]) => Promise<R>,
  ) {}

  submit(key: string, item: T): Promise<R> {
    let batch = this.pending.get(key);
    if (!batch) {
      batch = newBatch<T, R>();
      this.pending.set(key, batch);
      this.schedule(key, batch);
    }
    batch.items.push(item);
    return batch.promise;
  }

  /** Waits for every batch submitted so far to finish. */
  async drain(): Promise<void> {
    while (this.pending.size > 0 || this.inflight.size > 0) {
      await Promise.allSettled([...this.pending.values()].map((b) => b.promise));
      await Promise.allSettled([...this.inflight.values()]);
    }
  }

  private schedule(key: string, batch: Batch<T, R>): void {
    setTimeout(() => void this.flush(key, batch), this.windowMs);
  }

  private async flush(key: string, batch: Batch<T, R>): Promise<void> {
    // The batch stays open while an earlier run for the key finishes: late items join it.
    await this.inflight.get(key)?.catch(() => undefined);
    if (this.pending.get(key) === batch) this.pending.delete(key);
    const job = this.run(key, batch.items);
    this.inflight.set(key, job);
    try {
      batch.resolve(await job);
    } catch (error) {
      batch.reject(error);
    } finally {
      if (this.inflight.get(key) === job) this.inflight.delete(key);
    }
  }
}

interface Batch<T, R> {
  items: T[];
  promise: Promise<R>;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

function newBatch<T, R>(): Batch<T, R> {
  let resolve!: (value: R) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<R>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers always await; this keeps an unobserved rejection from crashing the process.
  promise.catch(() => undefined);
  return { items: [], promise, resolve, reject };
}
