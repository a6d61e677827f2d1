import type { ChangeEvent } from './change-event.js';
import type { Outcome } from './outcome.js';
import { refKey } from './secret-ref.js';

// What a sender's redelivery may fix, and what a redelivery of finished work answers.

/**
 * What a redelivery may fix: an unreachable or timed-out cluster, an operator that did not
 * finish its refresh in time (busy or restarting), a restart the API server refused for
 * now (5xx, 429). A failure that would repeat (forbidden, the operator's own sync error)
 * is recorded as done.
 */
export function retryableFailures(outcome: Outcome): string[] {
  return [
    ...outcome.clusterFailures
      .filter((f) => f.error.retryable)
      .map((f) => `cluster ${f.cluster}: ${f.error.message}`),
    ...outcome.refreshes.flatMap((r) =>
      r.status === 'failed' && r.error.retryable ? [r.error.message] : [],
    ),
    ...outcome.workloads.flatMap((w) =>
      w.status === 'failed' && w.error.retryable ? [w.error.message] : [],
    ),
  ];
}

/** The answer to a redelivery of an event whose work was done: the first outcome, as a duplicate. */
export function duplicateOutcome(event: ChangeEvent, previous: Outcome | undefined): Outcome {
  return {
    ...(previous ?? { refreshes: [], workloads: [], clusterFailures: [], timeline: [], dryRun: false }),
    eventId: event.id,
    ref: refKey(event.ref),
    kind: event.kind,
    source: event.source,
    status: 'duplicate',
  };
}

/**
 * Keys of events this instance finished lately, oldest dropped first: a redelivery of one
 * of them is not run speculatively (no force), its claim answers duplicate at once.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();

  constructor(private readonly limit = 10_000) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.limit) {
      const oldest = this.keys.values().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
  }
}
