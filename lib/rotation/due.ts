import { CronExpressionParser } from 'cron-parser';
import type { SecretSnapshot } from '../backends/backend.js';
import type { RotationPolicy } from './policy.js';

const DAY_MS = 86_400_000;

export type DueReason = 'expired' | 'near-expiry' | 'period' | 'schedule';

/**
 * When the current version expires: Key Vault's expiresOn, or, where the store has no
 * expiry (KV v2) or the version was written without one, its creation + ValidityPeriodDays.
 */
export function expiryOf(
  policy: RotationPolicy,
  snapshot: Pick<SecretSnapshot, 'expiresOn' | 'createdOn'>,
): Date | undefined {
  if (snapshot.expiresOn) return snapshot.expiresOn;
  if (snapshot.createdOn) return new Date(snapshot.createdOn.getTime() + policy.validityDays * DAY_MS);
  return undefined;
}

/**
 * The near-expiry window is capped at half the validity: a version rotor has just written
 * (expiring now + validity) is then never "near expiry" itself, so rotation cannot loop
 * even when the configured window is longer than the validity.
 */
function effectiveWindowMs(policy: RotationPolicy, windowDays: number): number {
  return Math.min(windowDays, policy.validityDays / 2) * DAY_MS;
}

/**
 * Why the current version is due for rotation at `now`, or undefined when it is not.
 * Due = expiry within the window, or the last rotation (the current version's creation,
 * whoever wrote it) older than rotor-period-days, or a rotor-schedule occurrence since then.
 */
export function dueReason(
  policy: RotationPolicy,
  snapshot: Pick<SecretSnapshot, 'expiresOn' | 'createdOn'>,
  now: Date,
  windowDays: number,
): DueReason | undefined {
  const expiry = expiryOf(policy, snapshot);
  if (expiry && expiry.getTime() <= now.getTime()) return 'expired';
  if (expiry && expiry.getTime() - now.getTime() <= effectiveWindowMs(policy, windowDays))
    return 'near-expiry';
  const last = snapshot.createdOn;
  if (!last) return undefined;
  if (policy.periodDays !== undefined && now.getTime() - last.getTime() >= policy.periodDays * DAY_MS)
    return 'period';
  if (policy.schedule !== undefined && nextOccurrence(policy.schedule, last).getTime() <= now.getTime())
    return 'schedule';
  return undefined;
}

function nextOccurrence(schedule: string, after: Date): Date {
  return CronExpressionParser.parse(schedule, { currentDate: after, tz: 'UTC' }).next().toDate();
}
