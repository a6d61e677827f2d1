import type { App } from '../app-types.js';
import { type ChangeEvent, changeKey, type EventSource, type IgnoredEvent } from '../change-event.js';
import type { Decoded } from '../events/decoded.js';
import { createLimiter } from '../limiter.js';
import type { Outcome } from '../outcome.js';

export interface DispatchResult {
  outcomes: Outcome[];
  ignored: IgnoredEvent[];
}

/**
 * Runs every change of one delivery through the App (once per secret and version) and
 * records every ignored event.
 * All changes are allowed to finish before the first failure is rethrown, so a retry of
 * the delivery finds the finished ones recorded as done and redoes only the failed ones.
 */
export async function dispatch(
  app: App,
  decoded: readonly Decoded[],
  source: EventSource,
): Promise<DispatchResult> {
  const ignoredEvents: IgnoredEvent[] = [];
  const changes: ChangeEvent[] = [];
  for (const item of decoded) {
    if (item.type === 'ignored') {
      app.ignore(item.event, source);
      ignoredEvents.push(item.event);
    } else {
      changes.push(item.event);
    }
  }
  const settled = await onePerChange(
    changes,
    changeKey,
    (event) => app.process(event),
    (outcome, event) => sharedOutcome(outcome, event.id),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return {
    outcomes: settled.map((s) => (s as PromiseFulfilledResult<Outcome>).value),
    ignored: ignoredEvents,
  };
}

/** Items of one delivery handled at once: a big batch must not flood the state store or the queue. */
const DELIVERY_CONCURRENCY = 16;

/**
 * Runs one item per change key, at most 16 at a time; every other item of the key gets
 * the representative's answer through `share`. One delivery naming the same secret (and
 * version) 6,000 times is one run, not 6,000. Items without a key run on their own.
 */
export async function onePerChange<T, R>(
  items: readonly T[],
  keyOf: (item: T) => string | undefined,
  work: (item: T) => Promise<R>,
  share: (answer: R, item: T) => R,
): Promise<Array<PromiseSettledResult<R>>> {
  const limit = createLimiter(DELIVERY_CONCURRENCY);
  const run = (item: T) => limit(() => work(item));
  const first = new Map<string, Promise<R>>();
  const answers = items.map((item) => {
    const key = keyOf(item);
    if (key === undefined) return run(item);
    const running = first.get(key);
    if (running) return running.then((answer) => share(answer, item));
    const started = run(item);
    first.set(key, started);
    return started;
  });
  return Promise.allSettled(answers);
}

/** The outcome of the run an event shared, as that event's answer. */
export function sharedOutcome(outcome: Outcome, eventId: string): Outcome {
  return outcome.eventId === eventId ? outcome : { ...outcome, eventId, sharedRunOf: outcome.eventId };
}
