import type { SecretSnapshot } from '../backends/backend.js';
import type { ChangeKind } from '../change-event.js';
import type { Config } from '../config.js';
import { dueReason } from './due.js';
import { parsePolicy, type RotationPolicy } from './policy.js';

/**
 * Whether a secret may be rotated now, decided from its current version's metadata alone
 * (pure: the engine reads, leases and writes around it).
 */
export type SkipReason =
  /** `changed` / `deleted` events never rotate: that is what keeps rotor's own writes from looping. */
  | 'not-a-rotation-trigger'
  | 'rotation-disabled'
  | 'not-rotatable'
  | 'no-policy'
  | 'invalid-policy'
  | 'not-due'
  /** The event or request named an older version than the current one. */
  | 'superseded'
  | 'in-progress-elsewhere'
  /** Another writer created a version between our read and our write; its version stands. */
  | 'rotated-concurrently'
  /**
   * The last rotation's consumers have not all rolled out on it (still rolling, or failed and
   * not undone): rotating again could revoke the credential they still run on.
   */
  | 'awaiting-rollout';

export type RotationResult =
  | { status: 'rotated'; newVersion: string; previousVersion?: string; credentialId?: string }
  | { status: 'skipped'; reason: SkipReason; detail?: string; currentVersion?: string };

/**
 * Not a rotation: the last rotation's new version did not reach every consumer (its record is
 * failed), so this run refreshes and restarts on `version` to finish that rollout instead of
 * rotating again (lib/rotation/verification-finish.ts).
 */
export type FinishRollout = { status: 'finishing'; version: string; detail: string };

export interface RotateOptions {
  /** The event kind that asks for rotation; 'manual' and 'rotate-requested' rotate even when not due. */
  reason: ChangeKind | 'manual';
  /** Rotate only if this is still the current version (the version an event or a scan saw). */
  expectedVersion?: string;
}

const TRIGGERS = new Set<RotateOptions['reason']>([
  'near-expiry',
  'expired',
  'rotate-due',
  'rotate-requested',
  'manual',
]);
const FORCED = new Set<RotateOptions['reason']>(['rotate-requested', 'manual']);

export function isRotationTrigger(reason: RotateOptions['reason']): boolean {
  return TRIGGERS.has(reason);
}

export function skipped(reason: SkipReason, detail: string, currentVersion?: string): RotationResult {
  return { status: 'skipped', reason, detail, ...(currentVersion !== undefined ? { currentVersion } : {}) };
}

/** The policy to rotate with, or why not: not rotatable, no or invalid policy, superseded, not due. */
export function rotationGate(
  snapshot: SecretSnapshot,
  options: RotateOptions,
  context: { now: Date; rotation: Pick<Config['rotation'], 'defaultValidityDays' | 'nearExpiryWindowDays'> },
): RotationResult | { policy: RotationPolicy } {
  if (!snapshot.enabled || snapshot.managed) {
    return skipped(
      'not-rotatable',
      'the current version is disabled, deleted or managed by Key Vault',
      snapshot.version,
    );
  }
  const result = parsePolicy(snapshot.metadata, context.rotation.defaultValidityDays);
  if (result.kind === 'none') return skipped('no-policy', result.reason, snapshot.version);
  if (result.kind === 'invalid') return skipped('invalid-policy', result.issues.join('; '), snapshot.version);
  if (options.expectedVersion !== undefined && options.expectedVersion !== snapshot.version) {
    return skipped('superseded', `version ${options.expectedVersion} is no longer current`, snapshot.version);
  }
  if (!FORCED.has(options.reason)) {
    const due = dueReason(result.policy, snapshot, context.now, context.rotation.nearExpiryWindowDays);
    if (!due)
      return skipped(
        'not-due',
        'the current version is neither near expiry nor past its period',
        snapshot.version,
      );
  }
  return { policy: result.policy };
}
