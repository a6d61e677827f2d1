/** Injected wherever expiry, schedules or timestamps matter, so tests control time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * Timers, injected beside the clock wherever rotor waits (schedules, batching windows,
 * rollout bounds), so a test moves time forward instead of sleeping.
 */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A real timer does not keep the process alive by itself; a test's handle has nothing to release. */
export function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}
