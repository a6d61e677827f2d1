import { eventKey } from '../change-event.js';
import { describeError } from '../errors.js';
import type { Outcome, UndoRecord, WorkloadResult } from '../outcome.js';
import type { IdempotencyStore } from '../state/idempotency.js';
import type { VerificationRecord } from '../state/verifications.js';
import type { Logger } from '../telemetry.js';
import { withRollouts } from './verification.js';

/**
 * A take-over settled a rotation whose instance stopped: the rotating run's record in the
 * idempotency store still says `following`, so `rotor status <event id>` and GET
 * /api/runs/{id} would never tell how it ended. Its workloads get the rollouts the take-over
 * saw, and the outcome the undo (if any). Best effort: a record that is gone or unreadable
 * is left alone, with a warning.
 */
export async function recordResumed(
  runs: Pick<IdempotencyStore, 'get' | 'updateResult'> | undefined,
  record: VerificationRecord,
  followed: readonly WorkloadResult[],
  undo: UndoRecord | undefined,
  log: Pick<Logger, 'warn'>,
): Promise<void> {
  if (!runs || !record.eventId || !record.source) return;
  const key = eventKey(record.source, record.eventId);
  try {
    const stored = await runs.get(key);
    if (!stored?.result) return;
    const answered = withRollouts(JSON.parse(stored.result) as Outcome, followed);
    await runs.updateResult(key, JSON.stringify({ ...answered, ...(undo ? { undo } : {}) }));
  } catch (error) {
    log.warn('verified rotation: the run’s record could not be updated', {
      eventId: record.eventId,
      error: describeError(error).message,
    });
  }
}
