/**
 * A bound on concurrent tasks: API servers and Vault throttle bursts, a small pool is faster overall.
 * A task may call `release()` when what is left of it only waits (for other tasks' work): its
 * place goes to the next task, and its own end frees nothing more.
 */
export type Limiter = <T>(task: (release: () => void) => Promise<T>) => Promise<T>;

/** A limiter that says whether a task queued now would start at once. */
export interface GaugedLimiter extends Limiter {
  idle(): boolean;
}

/**
 * At most `concurrency` tasks at a time, started in the order they were queued. With
 * `maxQueued`, a task that would wait behind that many others is refused at once with
 * `onFull()`'s error, never queued.
 */
export function createLimiter(
  concurrency: number,
  bound?: { maxQueued: number; onFull: (queued: number) => Error },
): GaugedLimiter {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    if (active >= concurrency) return;
    const start = queue.shift();
    if (start) {
      active++;
      start();
    }
  };
  const limit = <T>(task: (release: () => void) => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      if (bound && active >= concurrency && queue.length >= bound.maxQueued) {
        reject(bound.onFull(queue.length));
        return;
      }
      queue.push(() => {
        let held = true;
        const release = () => {
          if (!held) return;
          held = false;
          active--;
          next();
        };
        task(release).then(resolve, reject).finally(release);
      });
      next();
    });
  return Object.assign(limit, { idle: () => active < concurrency && queue.length === 0 });
}

/** `fn` over every item, at most `concurrency` at a time; results in the items' order. */
export function mapLimited<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const limit = createLimiter(Math.max(1, concurrency));
  return Promise.all(items.map((item) => limit(() => fn(item))));
}
