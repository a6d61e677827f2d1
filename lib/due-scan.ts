import type { ChangeEvent } from './change-event.js';
import type { Clock } from './clock.js';
import { describeError } from './errors.js';
import { parseNcrontab } from './ncrontab.js';
import type { Outcome } from './outcome.js';
import type { DueSecret } from './rotation/engine.js';
import { finishingNow } from './rotation/verification-finish.js';
import { refKey, type SecretRef } from './secret-ref.js';
import type { VerificationRecord, VerificationStore } from './state/verifications.js';
import type { Logger } from './telemetry.js';

/**
 * Rollouts one timer run finishes at most. Each is a run that refreshes and restarts in every
 * cluster, in turn, so a backlog (a cluster down for a day) must not hold the timer past its
 * next tick; the rest are finished by the next ticks, those that waited longest first.
 */
export const MAX_FINISHES_PER_TICK = 10;

export interface DueScanDeps {
  /** Every secret whose policy says it is due now (RotationEngine.scanDue). */
  scan(): Promise<DueSecret[]>;
  /** Runs one event exactly once (Runner.process). */
  process(event: ChangeEvent): Promise<Outcome>;
  /** Work the timer does before scanning (resume paused Deployments, purge old records); never throws. */
  housekeeping: ReadonlyArray<() => Promise<void>>;
  /** The Verifications rows (lib/rotation/verification-finish.ts) and the timer's NCRONTAB schedule. */
  finishing: { store: Pick<VerificationStore, 'list'>; schedule: string };
  clock: Clock;
  log: Logger;
}

/**
 * The timer's run: housekeeping, then one event per rotation whose new version did not reach
 * every consumer (its row failed, and no run finishing it now), then one `rotate-due` event
 * per other due secret, in turn; one event's failure is logged and the others go on. A due
 * event's id names the secret and the version the scan saw (the hour when the store lists no
 * versions), so a second timer instance in the same hour finds the first one's record.
 */
export async function runDueScan(deps: DueScanDeps): Promise<Outcome[]> {
  await Promise.all(deps.housekeeping.map((task) => task()));
  const unfinished = await unfinishedRollouts(deps);
  const finishing = new Set(unfinished.map((r) => refKey(r.ref)));
  const due = (await deps.scan()).filter((d) => !finishing.has(refKey(d.ref)));
  const hour = deps.clock.now().toISOString().slice(0, 13);
  const tick = tickOf(deps.finishing.schedule, deps.clock.now());
  const runs = [
    // Not a rotation: VerifiedRotation.rotate finds the failed row before any policy and
    // finishes its rollout (finishOrWait), so a secret also due is finished, never rotated.
    // The id names the schedule's tick: two instances running one tick share the event
    // (one runs it, the other finds its record), and the next tick is a new attempt, not a
    // duplicate of this one (a finisher that stopped or failed is retried then).
    ...unfinished.map((r) =>
      timerRun(`finish:${refKey(r.ref)}@${r.newVersion}/${tick}`, r.ref, r.newVersion),
    ),
    ...due.map((d) => timerRun(`due:${refKey(d.ref)}@${d.version ?? hour}`, d.ref, d.version)),
  ];
  const outcomes: Outcome[] = [];
  for (const run of runs) {
    const now = deps.clock.now();
    const event: ChangeEvent = {
      ...run,
      kind: 'rotate-due',
      source: 'timer',
      observedAt: now,
      receivedAt: now,
    };
    try {
      const outcome = await deps.process(event);
      outcomes.push(outcome);
      if (event.id.startsWith('finish:'))
        deps.log.info('rotation scan: finishing a rollout', { eventId: event.id, status: outcome.status });
    } catch (error) {
      const message = describeError(error).message;
      deps.log.warn('rotation scan: a run failed; the next timer run tries again', {
        eventId: event.id,
        error: message,
      });
    }
  }
  if (runs.length === 0) deps.log.info('rotation scan: nothing due');
  return outcomes;
}

/** Failed rows no run is finishing now (never claimed, or the claim's deadline passed), oldest deadline first, bounded. */
async function unfinishedRollouts(deps: DueScanDeps): Promise<VerificationRecord[]> {
  let rows: VerificationRecord[];
  try {
    rows = (await deps.finishing.store.list()).map((s) => s.record);
  } catch (error) {
    const message = describeError(error).message;
    deps.log.warn('rotation scan: the Verifications rows could not be read; the next timer run tries again', {
      error: message,
    });
    return [];
  }
  const nowMs = deps.clock.now().getTime();
  const failed = rows
    .filter((r) => r.state === 'failed' && !finishingNow(r, nowMs))
    .sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline));
  const tried = failed.slice(0, MAX_FINISHES_PER_TICK);
  if (failed.length > 0)
    deps.log.info('rotation scan: finishing rollouts that did not reach every consumer', {
      refs: tried.map((r) => refKey(r.ref)),
      left: failed.length - tried.length,
    });
  return tried;
}

/** The schedule's latest occurrence at or before now: the same for every instance running that tick. */
function tickOf(schedule: string, now: Date): string {
  return parseNcrontab(schedule, new Date(now.getTime() + 1))
    .prev()
    .toDate()
    .toISOString();
}

type TimerRun = Pick<ChangeEvent, 'id' | 'ref' | 'version'>;

function timerRun(id: string, ref: SecretRef, version: string | undefined): TimerRun {
  return version ? { id, ref, version } : { id, ref };
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
