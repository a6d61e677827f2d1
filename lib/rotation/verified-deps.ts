import type { BackendRegistry } from '../backends/registry.js';
import type { ChangeEvent } from '../change-event.js';
import type { Clock, Timers } from '../clock.js';
import type { LazyClusterPorts } from '../cluster-ports-lazy.js';
import type { Config } from '../config.js';
import { describeError } from '../errors.js';
import type { FollowPort } from '../follow-up.js';
import type { Outcome } from '../outcome.js';
import type { ProcessOptions } from '../run.js';
import { runnerSettings } from '../run-settings.js';
import type { SecretRef } from '../secret-ref.js';
import type { IdempotencyStore } from '../state/idempotency.js';
import type { StateStores } from '../state/stores.js';
import type { VerificationStore } from '../state/verifications.js';
import type { Logger } from '../telemetry.js';
import type { RotationEngine } from './engine.js';
import type { RotateOptions, RotationResult } from './gate.js';
import type { Rerun } from './verification.js';

/** What VerifiedRotation (verified.ts) works with. */
export interface VerifiedRotationDeps {
  rotate(ref: SecretRef, options: RotateOptions): Promise<RotationResult>;
  backends: Pick<BackendRegistry, 'get'>;
  /** Where the undo state lives between the rotation and the end of its rollouts (lib/state). */
  store: VerificationStore;
  config: { rotation: { undo: boolean; defaultValidityDays: number } };
  /** How long a follower may take before another instance takes over: from the rotation, from the answer. */
  bounds: { rotationMs: number; followMs: number };
  /** Follows a restart to its end (the cluster ports); undefined when rollouts are not followed. */
  follow?: FollowPort;
  /** The runs' records (`rotor status`): a take-over writes what it saw and did into the rotating run's. */
  runs?: Pick<IdempotencyStore, 'get' | 'updateResult'>;
  /** Refreshes and restarts on a restored version (rerunThrough). */
  rerun: Rerun;
  clock: Clock;
  timers?: Timers;
  /** This instance, as recorded in the records it follows. */
  owner?: string;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * The verified rotation's dependencies from the app's components (lib/app.ts only composes).
 * Another instance takes a rotation over when its follower has not settled it a minute past
 * the bound: from the rotation (the run's refresh within its cluster deadline, the restart,
 * the follow-up), and from the run's answer or a take-over (the follow-up alone).
 */
export function verifiedRotationDeps(
  config: Config,
  parts: {
    rotation: Pick<RotationEngine, 'rotate'>;
    backends: Pick<BackendRegistry, 'get'>;
    state: Pick<StateStores, 'verifications' | 'idempotency'>;
    clusterPorts: Pick<LazyClusterPorts, 'follow'>;
    clock: Clock;
    log: Logger;
    /** The runner, built after the verified rotation it calls back into. */
    runner: () => { process(event: ChangeEvent, options: ProcessOptions): Promise<Outcome> };
  },
): VerifiedRotationDeps {
  const followMs = config.restart.rolloutTimeoutMs + 60_000;
  return {
    rotate: (ref, options) => parts.rotation.rotate(ref, options),
    backends: parts.backends,
    store: parts.state.verifications,
    runs: parts.state.idempotency,
    config,
    clock: parts.clock,
    log: parts.log,
    ...(config.restart.followRollouts ? { follow: parts.clusterPorts.follow } : {}),
    bounds: { rotationMs: runnerSettings(config).clusterDeadlineMs + followMs, followMs },
    rerun: rerunThrough((event, options) => parts.runner().process(event, options), parts.clock, parts.log),
  };
}

/** Reruns the pipeline (refresh and restart, no rotation) on the restored version, as `<event id>-undo`. */
export function rerunThrough(
  process: (event: ChangeEvent, options: { skipRotation: true }) => Promise<Outcome>,
  clock: Clock,
  log: Pick<Logger, 'warn'>,
): Rerun {
  return (ref, version, eventId) => {
    const id = `${eventId}-undo`;
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
