import { TransientError } from './errors.js';
import type { LiveClaims } from './state/held-claim.js';

/** What a shutdown did with the runs in flight. */
export interface DrainReport {
  /** Runs that finished within the grace period (and were answered). */
  finished: number;
  /** Keys of the claims given back: runs that could not finish (answered 503, delivered again). */
  released: string[];
  graceMs: number;
  ms: number;
}

/** The process is shutting down: the sender should deliver the event again (it lands on another instance). */
export class ShuttingDownError extends TransientError {
  constructor(message = 'rotor is shutting down; deliver the event again') {
    super(message);
  }
}

/**
 * The runs in flight in this process, and what a shutdown (SIGTERM, the Functions worker
 * terminating) does with them: new runs are refused with a retryable error (503), runs in
 * flight get `graceMs` to finish and answer; the claims of those that cannot are released,
 * so their redelivery proceeds at once instead of waiting for the in-progress expiry, and
 * their callers get the retryable error.
 */
export class Drain {
  private readonly inflight = new Set<Promise<unknown>>();
  private draining = false;
  private over = false;
  private giveUp: (error: Error) => void = () => undefined;
  /** Rejects when the grace period is over: every run still waiting on it is answered then. */
  private readonly gaveUp = new Promise<never>((_resolve, reject) => {
    this.giveUp = reject;
  });

  constructor(private readonly claims: LiveClaims) {
    this.gaveUp.catch(() => undefined);
  }

  /**
   * Throws once the grace period is over: a run that was waiting for a place in the queue
   * must not start its pipeline then (its claim is given back by the caller's failure path).
   */
  assertOpen(): void {
    if (this.over) throw new ShuttingDownError();
  }

  /** Runs `work` unless shutting down; answers early (retryable) when it outlives the grace period. */
  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.draining) return Promise.reject(new ShuttingDownError());
    const running = work();
    this.inflight.add(running);
    const forget = () => void this.inflight.delete(running);
    running.then(forget, forget);
    return Promise.race([running, this.gaveUp]);
  }

  /** Refuses new runs, waits up to `graceMs` for those in flight, releases the claims of the rest. */
  async drain(graceMs: number): Promise<DrainReport> {
    const started = performance.now();
    this.draining = true;
    const pending = [...this.inflight];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(pending),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    const unfinished = pending.filter((p) => this.inflight.has(p)).length;
    // Released before the callers are answered: their redelivery must find the key free.
    this.over = true;
    const released = unfinished > 0 ? await this.claims.releaseAll() : [];
    this.giveUp(
      new ShuttingDownError(
        `rotor is shutting down and this run did not finish within ${graceMs} ms; its claim was released: deliver the event again`,
      ),
    );
    return {
      finished: pending.length - unfinished,
      released,
      graceMs,
      ms: Math.round(performance.now() - started),
    };
  }
}
