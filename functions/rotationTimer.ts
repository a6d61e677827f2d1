import type { InvocationContext, Timer } from '@azure/functions';
import type { AppSource } from '../lib/app-types.js';
import type { Outcome } from '../lib/outcome.js';

/**
 * Asks the rotation engine for due secrets on the NCRONTAB schedule in the app setting
 * ROTOR_ROTATION_SCHEDULE (six fields, seconds first, UTC unless WEBSITE_TIME_ZONE says
 * otherwise). The setting must exist: the Functions host refuses to index the function
 * without it. A failed scan is thrown so it shows as a failed invocation; the next tick retries.
 */
export const rotationTimerHandler =
  (rotor: AppSource) =>
  async (timer: Timer, context: InvocationContext): Promise<Outcome[]> => {
    if (timer.isPastDue) context.warn('rotation timer is running late');
    const outcomes = await (await rotor()).scanDue();
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o.status] = (counts[o.status] ?? 0) + 1;
    context.info(`rotation scan: ${outcomes.length} due secret(s) ${JSON.stringify(counts)}`);
    return outcomes;
  };
