import type { SecretWithValue } from '../backends/backend.js';
import type { BackendRegistry } from '../backends/registry.js';
import type { ChangeEvent } from '../change-event.js';
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { Outcome, UndoRecord } from '../outcome.js';
import { refKey, type SecretRef } from '../secret-ref.js';
import type { RotateOptions, RotationResult } from './gate.js';
import { skipped } from './gate.js';
import { type GeneratorSpec, parsePolicy } from './policy.js';

/** A rotation whose consumers have not all rolled out on it yet. */
interface Unsettled {
  ref: SecretRef;
  newVersion: string;
  /** The version it replaced, with its value: what an undo writes back. Held in memory only. */
  previous: SecretWithValue;
  generator: GeneratorSpec;
  verify: boolean;
}

export interface VerifiedRotationDeps {
  rotate(ref: SecretRef, options: RotateOptions): Promise<RotationResult>;
  backends: Pick<BackendRegistry, 'get'>;
  config: { rotation: { undo: boolean; defaultValidityDays: number } };
  log: {
    warn(msg: string, fields: Record<string, unknown>): void;
    error(msg: string, fields: Record<string, unknown>): void;
  };
}

/**
 * Rotation, safe to undo (issue 16.4). Around the rotation engine:
 * - every rotation stays unsettled until its run's rollouts have ended; while one is, the
 *   secret is not rotated again (`awaiting-rollout`): a dual-role generator would change the
 *   password of the role the consumers may still run on, i.e. revoke the previous credential
 *   before every consumer rolled out on the new one;
 * - settle() takes the run's final outcome: every consumer rolled out, it is settled; one
 *   rollout failed, rotor alerts and, when the policy asked for verification
 *   (`rotor-verify: rollout`), configuration allows it (`rotation.undo`) and the previous
 *   credential is still valid (a value only the store holds; a dual-role PostgreSQL pair,
 *   whose previous role was not touched), writes the previous value back as the current
 *   version and hands it to `rerun` to refresh and restart again.
 * The previous value is held in memory for the length of the follow-up, like the follow-up
 * itself; a restarted process forgets it and cannot undo (it then only alerts).
 */
export class VerifiedRotation {
  private readonly unsettled = new Map<string, Unsettled>();

  constructor(private readonly deps: VerifiedRotationDeps) {}

  readonly rotate = async (ref: SecretRef, options: RotateOptions): Promise<RotationResult> => {
    const key = refKey(ref);
    const waiting = this.unsettled.get(key);
    if (waiting) {
      return skipped(
        'awaiting-rollout',
        `the consumers of version ${waiting.newVersion} have not all rolled out on it; rotating again could revoke the credential they run on`,
        waiting.newVersion,
      );
    }
    const before = await this.deps.backends
      .get(ref)
      .read(ref)
      .catch(() => undefined);
    const result = await this.deps.rotate(ref, options);
    if (result.status !== 'rotated' || !before || result.previousVersion !== before.version) return result;
    const policy = parsePolicy(before.metadata, this.deps.config.rotation.defaultValidityDays);
    if (policy.kind !== 'policy') return result;
    this.unsettled.set(key, {
      ref,
      newVersion: result.newVersion,
      previous: before,
      generator: policy.policy.generator,
      verify: policy.policy.verify === 'rollout',
    });
    return result;
  };

  /**
   * The run's final outcome (every rollout ended). Returns it with the undo record when a
   * rollout of a rotation rotor made failed; `rerun` refreshes and restarts on the restored
   * version and returns the event id it runs under.
   */
  async settle(
    outcome: Outcome,
    rerun: (ref: SecretRef, version: string, after: Outcome) => string,
  ): Promise<Outcome> {
    const rotated =
      outcome.rotation && 'newVersion' in outcome.rotation ? outcome.rotation.newVersion : undefined;
    const pending = this.unsettled.get(outcome.ref);
    if (!pending) return outcome;
    const ended = outcome.workloads.flatMap((w) =>
      w.status === 'restarted' && w.rollout ? [w.rollout] : [],
    );
    if (ended.some((r) => r.status === 'following')) return outcome;
    if (pending.newVersion !== rotated) {
      // A later run of the secret (a refresh after a fix) rolled every consumer out: settled.
      if (!rotated && ended.length > 0 && ended.every((r) => r.status === 'rolled-out')) {
        this.unsettled.delete(outcome.ref);
      }
      return outcome;
    }
    const failed = outcome.workloads.flatMap((w) =>
      w.status === 'restarted' && w.rollout?.status === 'rollout-failed'
        ? [`${w.cluster}/${w.kind}/${w.namespace}/${w.name}`]
        : [],
    );
    if (failed.length === 0) {
      this.unsettled.delete(outcome.ref);
      return outcome;
    }
    const undo = await this.undo(pending, failed, outcome, rerun).catch(
      (error): UndoRecord => ({ status: 'not-restored', failed, reason: describeError(error).message }),
    );
    this.deps.log.error('a rotation failed its consumers’ rollouts', {
      eventId: outcome.eventId,
      ref: outcome.ref,
      version: pending.newVersion,
      failed,
      undo: undo.status,
      ...(undo.status === 'restored' ? { restoredVersion: undo.restoredVersion } : { reason: undo.reason }),
    });
    return { ...outcome, undo };
  }

  private async undo(
    pending: Unsettled,
    failed: string[],
    outcome: Outcome,
    rerun: (ref: SecretRef, version: string, after: Outcome) => string,
  ): Promise<UndoRecord> {
    const refusal = this.whyNotRestorable(pending);
    // Not undone: the secret stays unsettled, so no rotation revokes what consumers still run on.
    if (refusal) return { status: 'not-restored', failed, reason: refusal };
    try {
      const { previous } = pending;
      const written = await this.deps.backends.get(pending.ref).write(pending.ref, {
        value: previous.value,
        expectedVersion: pending.newVersion,
        metadata: previous.metadata,
        ...(previous.contentType ? { contentType: previous.contentType } : {}),
        ...(previous.notBefore ? { notBefore: previous.notBefore } : {}),
        ...(previous.expiresOn ? { expiresOn: previous.expiresOn } : {}),
      });
      this.unsettled.delete(outcome.ref);
      const rerunId = rerun(pending.ref, written.version, outcome);
      return {
        status: 'restored',
        failed,
        previousVersion: previous.version ?? '',
        restoredVersion: written.version,
        rerun: rerunId,
      };
    } catch (error) {
      return { status: 'not-restored', failed, reason: `restoring failed: ${describeError(error).message}` };
    }
  }

  private whyNotRestorable(pending: Unsettled): string | undefined {
    if (!pending.verify) return 'the policy does not ask for verification (rotor-verify: rollout)';
    if (!this.deps.config.rotation.undo) return 'rotation.undo is off: rotor only alerts';
    const g = pending.generator;
    if (g.kind === 'postgres' && g.mode === 'single') {
      return "single-role PostgreSQL: the previous password was replaced at the database; use mode 'dual'";
    }
    return undefined;
  }
}

/** Reruns the pipeline (refresh and restart, no rotation) on the restored version, as `<event id>-undo`. */
export function rerunThrough(
  process: (event: ChangeEvent, options: { skipRotation: true }) => Promise<Outcome>,
  clock: Clock,
  log: VerifiedRotationDeps['log'],
): (ref: SecretRef, version: string, after: Outcome) => string {
  return (ref, version, after) => {
    const id = `${after.eventId}-undo`;
    const now = clock.now();
    const event: ChangeEvent = {
      id,
      ref,
      version,
      kind: 'changed',
      source: 'manual',
      observedAt: now,
      receivedAt: now,
    };
    process(event, { skipRotation: true }).catch((error: unknown) =>
      log.warn('the run after an undo failed; deliver a change of the secret again', {
        eventId: id,
        error: describeError(error).message,
      }),
    );
    return id;
  };
}
