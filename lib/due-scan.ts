import type { ChangeEvent } from './change-event.js';
import type { Clock } from './clock.js';
import { describeError } from './errors.js';
import type { Outcome } from './outcome.js';
import type { DueSecret } from './rotation/engine.js';
import { refKey } from './secret-ref.js';
import type { Logger } from './telemetry.js';

export interface DueScanDeps {
  /** Every secret whose policy says it is due now (RotationEngine.scanDue). */
  scan(): Promise<DueSecret[]>;
  /** Runs one event exactly once (Runner.process). */
  process(event: ChangeEvent): Promise<Outcome>;
  /** Work the timer does before scanning (resume paused Deployments, purge old records); never throws. */
  housekeeping: ReadonlyArray<() => Promise<void>>;
  clock: Clock;
  log: Logger;
}

/**
 * The timer's run: housekeeping, then one `rotate-due` event per due secret, in turn. The
 * event id names the secret and the version the scan saw (the hour when the store lists
 * no versions), so a second timer instance in the same hour finds the first one's record.
 */
export async function runDueScan(deps: DueScanDeps): Promise<Outcome[]> {
  await Promise.all(deps.housekeeping.map((task) => task()));
  const due = await deps.scan();
  const hour = deps.clock.now().toISOString().slice(0, 13);
  const outcomes: Outcome[] = [];
  for (const d of due) {
    const now = deps.clock.now();
    outcomes.push(
      await deps.process({
        id: `due:${refKey(d.ref)}@${d.version ?? hour}`,
        ref: d.ref,
        ...(d.version ? { version: d.version } : {}),
        kind: 'rotate-due',
        source: 'timer',
        observedAt: now,
        receivedAt: now,
      }),
    );
  }
  if (due.length === 0) deps.log.info('rotation scan: nothing due');
  return outcomes;
}

/** Completed event records older than the retention are deleted; a failure waits for the next timer run. */
export function purgeTask(
  store: { purgeCompleted(before: Date): Promise<number> } | undefined,
  retentionHours: number,
  clock: Clock,
  log: Logger,
): () => Promise<void> {
  return async () => {
    if (!store) return;
    try {
      const before = new Date(clock.now().getTime() - retentionHours * 3_600_000);
      const purged = await store.purgeCompleted(before);
      if (purged > 0) log.info('purged completed event records', { purged, before: before.toISOString() });
    } catch (error) {
      log.warn('purging event records failed; the next timer run retries', {
        error: describeError(error).message,
      });
    }
  };
}
