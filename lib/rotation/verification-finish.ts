import type { StoredVerification, VerificationRecord } from '../state/verifications.js';
import { type FinishRollout, type RotationResult, skipped } from './gate.js';
import type { VerificationLedger } from './verification-ledger.js';

/**
 * A rotation whose new version did not reach every consumer (a cluster failed, an operator
 * could not sync it, a restart failed) is failed, not undone (verification-undo.ts). A retry
 * of the rotation (a redelivered event, the next SecretNearExpiry or schedule, a manual
 * request) does not rotate again, which could revoke the credential those consumers still run
 * on: it finishes that rollout. It claims the record (a write conditional on its ETag: of two
 * retries one finishes, the other waits) and its run refreshes and restarts on the new
 * version; VerifiedRotation.settle then follows and settles it as it does the run that
 * rotated, undo included. Until its deadline no other run takes the record; a finisher that
 * stopped leaves it failed, for the next retry.
 */
export async function finishOrWait(
  ledger: VerificationLedger,
  key: string,
  s: StoredVerification,
  context: { owner: string; boundMs: number; nowMs: number },
): Promise<RotationResult | FinishRollout> {
  const { record } = s;
  const version = record.newVersion;
  const wait = (detail: string) => skipped('awaiting-rollout', detail, version);
  if (record.state === 'rolling')
    return wait(
      `the consumers of version ${version} have not all rolled out on it; rotating again could revoke the credential they run on`,
    );
  if (finishingNow(record, context.nowMs))
    return wait(`another run is finishing the rollout of version ${version} (until ${record.deadline})`);
  const claim = {
    ...record,
    finishing: true as const,
    owner: context.owner,
    deadline: ledger.after(context.boundMs),
  };
  if (!(await ledger.claim(key, s, claim)))
    return wait(`another run began finishing the rollout of version ${version} first`);
  ledger.follow(key);
  const why = record.reason ?? 'not verified';
  return {
    status: 'finishing',
    version,
    detail: `version ${version} had not rolled out on every consumer (${why}); this run refreshes and restarts on it instead of rotating again`,
  };
}

/** A retry is finishing the record's rollout, and its deadline has not passed. */
export function finishingNow(record: VerificationRecord, nowMs: number): boolean {
  return record.state === 'failed' && record.finishing === true && Date.parse(record.deadline) > nowMs;
}

/** The record failed (not undone) and why; no run is finishing it any more. */
export function failedRecord(
  record: VerificationRecord,
  reason: string,
  patch: Partial<VerificationRecord> = {},
): VerificationRecord {
  const { finishing: _finishing, unreached: _unreached, ...rest } = record;
  return { ...rest, ...patch, state: 'failed', reason };
}

/** The record followed to its end again: a run that rotated, or a retry that reached every consumer. */
export function rollingRecord(
  record: VerificationRecord,
  patch: Partial<VerificationRecord>,
): VerificationRecord {
  const { finishing: _finishing, reason: _reason, unreached: _unreached, ...rest } = record;
  return { ...rest, ...patch, state: 'rolling' };
}
