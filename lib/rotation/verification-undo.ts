import type { BackendRegistry } from '../backends/registry.js';
import { ConflictError, describeError, RotorError } from '../errors.js';
import type { Outcome, UndoRecord } from '../outcome.js';
import type { StoredVerification, VerificationRecord } from '../state/verifications.js';
import type { Logger } from '../telemetry.js';
import {
  followedWorkloads,
  notReached,
  type Rerun,
  restorePrevious,
  whyNotRestorable,
} from './verification.js';
import { failedRecord, rollingRecord } from './verification-finish.js';
import type { VerificationLedger } from './verification-ledger.js';

export interface UndoDeps {
  ledger: VerificationLedger;
  backends: Pick<BackendRegistry, 'get'>;
  /** `rotation.undo`: configuration allows writing the previous credential back. */
  undoAllowed: boolean;
  rerun: Rerun;
  /** How long the instance that undoes may take before another takes the record over. */
  followMs: number;
  owner: string;
  log: Pick<Logger, 'error'>;
}

const TAKEN_OVER = 'another rotor instance took this rotation over and settles it';

/**
 * A rollout of a verified rotation failed (lib/rotation/verified.ts): undo where the policy
 * asked for it, configuration allows it and the previous credential is still valid; alert
 * either way. Of two instances that get here on the same record, only one undoes: the
 * record is claimed by a write conditional on its ETag before the previous value is written.
 */
export async function concludeFailed(
  deps: UndoDeps,
  key: string,
  failed: string[],
  eventId: string,
): Promise<UndoRecord> {
  const s = deps.ledger.get(key);
  // Forgotten here: another instance wrote the record since, and it settles the rotation.
  if (!s) return { status: 'not-restored', failed, reason: TAKEN_OVER };
  const undo = await undoRotation(deps, key, s, failed, eventId).catch(
    (error): UndoRecord => ({ status: 'not-restored', failed, reason: describeError(error).message }),
  );
  deps.log.error('a rotation failed its consumers’ rollouts', {
    eventId,
    ref: key,
    version: s.record.newVersion,
    failed,
    undo: undo.status,
    ...(undo.status === 'restored' ? { restoredVersion: undo.restoredVersion } : { reason: undo.reason }),
  });
  return undo;
}

async function undoRotation(
  deps: UndoDeps,
  key: string,
  s: StoredVerification,
  failed: string[],
  eventId: string,
): Promise<UndoRecord> {
  const { ledger, owner } = deps;
  const { record } = s;
  const refusal = whyNotRestorable(record, deps.undoAllowed);
  if (refusal) {
    // Not undone: the record stays, so no rotation revokes what consumers still run on.
    await ledger.save(key, s, failedRecord(record, refusal));
    ledger.unfollow(key);
    return { status: 'not-restored', failed, reason: refusal };
  }
  // Of two instances that got this far on the same record, only one's write lands.
  const claimed = await ledger.save(
    key,
    s,
    rollingRecord(record, { owner, deadline: ledger.after(deps.followMs) }),
  );
  if (!claimed) return { status: 'not-restored', failed, reason: TAKEN_OVER };
  try {
    const written = await restorePrevious(deps.backends.get(record.ref), record);
    await ledger.drop(key, claimed);
    return {
      status: 'restored',
      failed,
      previousVersion: record.previousVersion,
      restoredVersion: written.version,
      rerun: deps.rerun(record.ref, written.version, eventId),
    };
  } catch (error) {
    const reason = `restoring failed: ${describeError(error).message}`;
    // Someone wrote a version since (another undo, a person): this rotation is over.
    if (error instanceof ConflictError) await ledger.drop(key, claimed);
    // Retryable (the store did not answer): the record stays rolling, and the next resume tries again.
    else if (error instanceof RotorError && error.retryable)
      await ledger.save(key, claimed, { ...claimed.record, deadline: ledger.after(0) });
    else await ledger.save(key, claimed, failedRecord(claimed.record, reason));
    ledger.unfollow(key);
    return { status: 'not-restored', failed, reason };
  }
}

/**
 * When the new version did not reach every consumer (verification.ts notReached), the
 * rotation cannot be verified: nothing is undone (no consumer failed on it); rotor alerts and
 * keeps the secret from rotating until a later run of it rolls every consumer out; a retry of
 * the request finishes that rollout (verification-finish.ts) instead of rotating again while
 * those consumers still run on the version before, whose credential a dual-role generator
 * would then replace. True when so concluded.
 */
export async function concludeIfNotReached(
  deps: Pick<UndoDeps, 'ledger' | 'log'>,
  key: string,
  s: StoredVerification,
  outcome: Outcome,
): Promise<boolean> {
  const unreached = notReached(outcome);
  if (unreached.length === 0) return false;
  const { eventId, source } = outcome;
  const workloads = followedWorkloads(outcome.workloads);
  await concludeNotReached(deps, key, s, unreached.join('; '), { eventId, source, workloads });
  return true;
}

/**
 * The record is failed because the new version did not reach every consumer (`why`), whether
 * the run's final outcome says so or the record does (`unreached`, for a take-over).
 */
export async function concludeNotReached(
  deps: Pick<UndoDeps, 'ledger' | 'log'>,
  key: string,
  s: StoredVerification,
  why: string,
  patch: Partial<VerificationRecord> = {},
): Promise<void> {
  const reason = `the new version did not reach every consumer (${why}): not verified; the secret is not rotated again until a later run of it (a retry of the rotation, a refresh) rolls every consumer out`;
  await deps.ledger.save(key, s, failedRecord(s.record, reason, patch));
  deps.ledger.unfollow(key);
  deps.log.error('a verified rotation could not be verified', {
    eventId: patch.eventId ?? s.record.eventId,
    ref: key,
    version: s.record.newVersion,
    reason,
  });
}
