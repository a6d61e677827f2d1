import type { Clock } from '../clock.js';

/** What a holder needs of the idempotency store (structural: the store's module depends on this one). */
interface ClaimStore<R extends { key: string }> {
  takeOver(record: R, expiresAt: Date): Promise<R | undefined>;
  release(record: R): Promise<void>;
}

/**
 * An in-progress claim while its run is alive. The claim is renewed (heartbeat) every
 * `heartbeatMs`, so a run that takes longer than the in-progress expiry (a frozen API
 * server, 30 s refresh timeouts) is never taken over by a redelivery while it still works.
 * A renewal is an ETag-conditional replace: when another delivery took the claim over
 * (this process was paused past the expiry), renewing stops and the record is left alone.
 */
export class HeldClaim<R extends { key: string } = { key: string }> {
  private beat: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
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
    try {
      const renewed = await this.store.takeOver(this.current, expiresAt);
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
}

/** The claims this process holds right now, so a shutdown can give back those it cannot finish. */
export class LiveClaims {
  private readonly held = new Set<Releasable>();

  add(claim: Releasable): void {
    this.held.add(claim);
  }

  delete(claim: Releasable): void {
    this.held.delete(claim);
  }

  get size(): number {
    return this.held.size;
  }

  /** Releases every claim still held; returns the keys given back. */
  async releaseAll(): Promise<string[]> {
    const claims = [...this.held];
    this.held.clear();
    await Promise.all(claims.map((c) => c.release()));
    return claims.map((c) => c.key);
  }
}
