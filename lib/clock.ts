/** Injected wherever expiry, schedules or timestamps matter, so tests control time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
