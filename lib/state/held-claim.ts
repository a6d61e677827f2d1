import type { Clock } from '../clock.js';

/** What a holder keeps of its record: the key, and what the run has finished so far. */
interface HeldRecord {
  key: string;
  progress?: string;
}

/** What a holder needs of the idempotency store (structural: the store's module depends on this one). */
interface ClaimStore<R extends HeldRecord> {
  takeOver(record: R, expiresAt: Date): Promise<R | undefined>;
  release(record: R): Promise<void>;
}

/**
 * An in-progress claim while its run is alive. The claim is renewed (heartbeat) every
 * `heartbeatMs`, so a run that takes longer than the in-progress expiry (a frozen API
 * server, 30 s refresh timeouts) is never taken over by a redelivery while it still works.
 * A renewal is an ETag-conditional replace: when another delivery took the claim over
 * (this process was paused past the expiry), renewing stops and the record is left alone.
 * note() writes the run's progress the same way, as an early renewal, behind any write in
 * flight; notes that arrive meanwhile become one write.
 */
export class HeldClaim<R extends HeldRecord = HeldRecord> {
  private beat: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
  /** Progress not written yet, and whether a write of it is queued. */
  private progress: string | undefined;
  private progressQueued = false;
  /** True once the claim was given back (shutdown) or lost to a takeover. */
  lost = false;

  constructor(
    private readonly store: ClaimStore<R>,
    private current: R,
    private readonly expiryMs: number,
    private readonly clock: Clock,
    heartbeatMs: number,
  ) {
    this.timer = setInterval(() => {
      this.beat = this.beat.then(() => this.renew());
    }, heartbeatMs);
    this.timer.unref();
  }

  get key(): string {
    return this.current.key;
  }

  /** The record as last written by this holder (its ETag guards every later write). */
  async record(): Promise<R> {
    await this.stop();
    return this.current;
  }

  /** Records what the run has finished so far (off the run's path: the write is queued, never awaited). */
  note(progress: string): void {
    if (this.stopped || this.lost) return;
    this.progress = progress;
    if (this.progressQueued) return;
    this.progressQueued = true;
    this.beat = this.beat.then(() => {
      this.progressQueued = false;
      return this.renew();
    });
  }

  /** Gives the claim back so a redelivery proceeds at once; a no-op when it was lost already. */
  async release(): Promise<void> {
    await this.stop();
    if (this.lost) return;
    this.lost = true;
    await this.store.release(this.current).catch(() => undefined);
  }

  /** Ends the heartbeat and waits for a renewal in flight, so the ETag in hand is current. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.beat;
  }

  private async renew(): Promise<void> {
    if (this.stopped || this.lost) return;
    const expiresAt = new Date(this.clock.now().getTime() + this.expiryMs);
    const progress = this.progress;
    const record = progress === undefined ? this.current : { ...this.current, progress };
    try {
      const renewed = await this.store.takeOver(record, expiresAt);
      if (renewed) this.current = renewed;
      else this.lost = true;
    } catch {
      // The store did not answer: the next beat tries again, well before the expiry.
    }
  }
}

interface Releasable {
  readonly key: string;
  release(): Promise<void>;
  note?(progress: string): void;
}

/** The claims this process holds right now, so a shutdown can give back those it cannot finish. */
export class LiveClaims {
  private readonly held = new Set<Releasable>();
  /** Claims being written for runs already in flight: a shutdown waits for them too. */
  private readonly writing = new Set<Promise<unknown>>();
  /** Set by releaseAll: a claim written after it is given back at once. */
  private closed = false;
  private readonly late: Array<Promise<string>> = [];

  add(claim: Releasable): void {
    if (this.closed) this.late.push(claim.release().then(() => claim.key));
    else this.held.add(claim);
  }

  /**
   * A run's claim is being written (settles once it was added, or not won). A shutdown in the
   * meantime gives it back as soon as it is written, so the claim of a run that started just
   * before SIGTERM is not left in progress until its expiry.
   */
  claiming(write: Promise<unknown>): void {
    this.writing.add(write);
    const done = () => void this.writing.delete(write);
    write.then(done, done);
  }

  delete(claim: Releasable): void {
    this.held.delete(claim);
  }

  get size(): number {
    return this.held.size;
  }

  /** Records the progress of the run holding `key`; false when no claim for it is held (yet). */
  note(key: string, progress: string): boolean {
    const claim = [...this.held].find((c) => c.key === key);
    claim?.note?.(progress);
    return claim !== undefined;
  }

  /** Releases every claim still held, and those still being written once they are; returns the keys given back. */
  async releaseAll(): Promise<string[]> {
    this.closed = true;
    const claims = [...this.held];
    this.held.clear();
    await Promise.all(claims.map((c) => c.release()));
    await Promise.allSettled([...this.writing]);
    return [...claims.map((c) => c.key), ...(await Promise.all(this.late.splice(0)))];
  }
}
