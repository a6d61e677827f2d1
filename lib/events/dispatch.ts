import type { App } from '../app-types.js';
import type { EventSource, IgnoredEvent } from '../change-event.js';
import type { Outcome } from '../outcome.js';
import type { Decoded } from './decoded.js';

export interface DispatchResult {
  outcomes: Outcome[];
  ignored: IgnoredEvent[];
}

/**
 * Runs every change of one delivery through the App and records every ignored event.
 * All changes are allowed to finish before the first failure is rethrown, so a retry of
 * the delivery finds the finished ones recorded as done and redoes only the failed ones.
 */
export async function dispatch(
  app: App,
  decoded: readonly Decoded[],
  source: EventSource,
): Promise<DispatchResult> {
  const ignoredEvents: IgnoredEvent[] = [];
  const runs: Array<Promise<Outcome>> = [];
  for (const item of decoded) {
    if (item.type === 'ignored') {
      app.ignore(item.event, source);
      ignoredEvents.push(item.event);
    } else {
      runs.push(app.process(item.event));
    }
  }
  const settled = await Promise.allSettled(runs);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return {
    outcomes: settled.map((s) => (s as PromiseFulfilledResult<Outcome>).value),
    ignored: ignoredEvents,
  };
}
