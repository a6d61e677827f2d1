import type { Clock, Timers } from '../../../lib/clock.js';

/** Lets every queued microtask and promise continuation run; no time passes on any clock. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A few rounds of settle(): code under test that yields to the event loop between steps gets to its next wait. */
export async function drain(): Promise<void> {
  for (let i = 0; i < 10; i++) await settle();
}

/**
 * A clock, timers and a monotonic `now` that only move when the test says so. advance()
 * fires each timer that falls due, in order, with the clock at its due time, and lets the
 * promises it starts run before the next one: what a second of real time does, at once.
 */
export class ManualTime implements Clock, Timers {
  private readonly due = new Map<object, { at: number; fn: () => void }>();

  constructor(public nowMs = Date.parse('2026-11-29T12:00:00.000Z')) {}

  readonly now = (): Date => new Date(this.nowMs);
  /** Milliseconds, for code that takes a monotonic clock (`() => performance.now()`). */
  readonly monotonic = (): number => this.nowMs;

  set(fn: () => void, ms: number): unknown {
    const handle = {};
    this.due.set(handle, { at: this.nowMs + Math.max(0, ms), fn });
    return handle;
  }

  clear(handle: unknown): void {
    this.due.delete(handle as object);
  }

  get pending(): number {
    return this.due.size;
  }

  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      await drain();
      const next = [...this.due].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      const [handle, timer] = next;
      this.due.delete(handle);
      this.nowMs = Math.max(this.nowMs, timer.at);
      timer.fn();
    }
    this.nowMs = target;
    await drain();
  }
}
