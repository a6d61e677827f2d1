import type { Timer } from '@azure/functions';
import { type Clock, systemClock, systemTimers, type Timers, unref } from '../clock.js';
import { parseNcrontab } from '../ncrontab.js';
import type { Logger } from '../telemetry.js';

export { parseNcrontab };

/** setTimeout cannot wait longer than this; longer waits are chained. */
const MAX_DELAY_MS = 2_147_483_647;

export interface ScheduleRunner {
  /** Next planned occurrence. */
  next(): Date;
  stop(): void;
}

/**
 * Runs `run` at every occurrence of the schedule, like the Functions timer trigger does.
 * An occurrence that comes while the previous run is still going is skipped, so scans
 * never overlap. The timer is unref'd: it never keeps the process alive by itself.
 */
export function runOnSchedule(
  schedule: string,
  run: (timer: Timer) => Promise<unknown>,
  log: Logger,
  clock: Clock = systemClock,
  timers: Timers = systemTimers,
): ScheduleRunner {
  parseNcrontab(schedule, clock.now());
  let handle: unknown;
  let stopped = false;
  let running = false;
  let last = clock.now();
  let next = nextAfter(schedule, last);

  const arm = () => {
    if (stopped) return;
    const delay = Math.min(Math.max(next.getTime() - clock.now().getTime(), 0), MAX_DELAY_MS);
    handle = timers.set(tick, delay);
    unref(handle);
  };
  const tick = () => {
    const now = clock.now();
    if (now.getTime() < next.getTime()) return arm();
    const due = next;
    next = nextAfter(schedule, now);
    if (running) {
      log.warn('timer occurrence skipped: the previous run is still going', {
        schedule,
        due: due.toISOString(),
      });
    } else {
      running = true;
      const timer: Timer = {
        isPastDue: now.getTime() - due.getTime() > 1_000,
        schedule: { adjustForDST: false },
        scheduleStatus: {
          last: last.toISOString(),
          next: next.toISOString(),
          lastUpdated: now.toISOString(),
        },
      };
      last = due;
      run(timer)
        .catch((error: unknown) =>
          log.error('timer run failed', { schedule, error: (error as Error).message }),
        )
        .finally(() => {
          running = false;
        });
    }
    arm();
  };
  arm();
  return {
    next: () => next,
    stop: () => {
      stopped = true;
      if (handle !== undefined) timers.clear(handle);
    },
  };
}

function nextAfter(schedule: string, from: Date): Date {
  return parseNcrontab(schedule, from).next().toDate();
}
