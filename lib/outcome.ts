import type { ChangeEvent } from './change-event.js';
import type { Failure } from './errors.js';

/** Per-workload result of the restart step; every workload gets exactly one. */
export type WorkloadResult =
  | {
      status: 'restarted';
      cluster: string;
      kind: string;
      namespace: string;
      name: string;
      hashes: string[];
      /** metadata.generation after the write (the created/recreated Job's for CronJob/Job). */
      generation?: number;
      /** CronJob: the Job created for it, which is what rolls out (is followed). */
      job?: string;
      /** How the restart ended, when followed (restart.followRollouts); see RolloutReport. */
      rollout?: RolloutReport;
    }
  | {
      status: 'already-current';
      cluster: string;
      kind: string;
      namespace: string;
      name: string;
      /** CronJob: the Job another run created for the same hashes, which is what rolls out. */
      job?: string;
      /**
       * Another run restarted it first (rotor's own write coming back as a change event): a
       * verified rotation follows that rollout as its own (lib/rotation/verified.ts); rotor
       * did not see it start, so its `ms` is how long rotor followed it (`since: 'followed'`).
       */
      rollout?: RolloutReport;
    }
  | { status: 'skipped'; cluster: string; kind: string; namespace: string; name: string; reason: string }
  | { status: 'failed'; cluster: string; kind: string; namespace: string; name: string; error: Failure };

/**
 * A restart followed to its end: `following` while the run has answered and the follow-up
 * continues (bounded by restart.rolloutTimeoutMs); `rolled-out` when the new template is
 * fully available; `rollout-failed` when the controller gave up (ProgressDeadlineExceeded,
 * a failed Job) or the bound passed (reason Timeout); `ms` counts from the restart write.
 * With `since: 'followed'` rotor did not see the rollout start (another run restarted the
 * workload, or this instance took the verification over from one that stopped): `ms` then
 * only says how long rotor followed it, from when it began following to the end.
 */
export type RolloutReport =
  | { status: 'following' }
  | { status: 'rolled-out'; ms: number; since?: 'followed' }
  | { status: 'rollout-failed'; ms: number; reason: string; message: string; since?: 'followed' }
  | { status: 'not-followed'; reason: string };

/** The rollout rotor followed for a workload: its own restart's, or (a verified rotation) another run's. */
export function rolloutOf(w: WorkloadResult): RolloutReport | undefined {
  return w.status === 'restarted' || w.status === 'already-current' ? w.rollout : undefined;
}

/** How a followed restart ended (RolloutReport without the interim `following`). */
export type RolloutResult = Exclude<RolloutReport, { status: 'following' }>;

/** Per derived object (ExternalSecret, VaultStaticSecret, SecretProviderClass) result of the refresh step. */
export type RefreshResult =
  | {
      status: 'refreshed';
      cluster: string;
      operator: string;
      kind: string;
      namespace: string;
      name: string;
      targetSecret?: string;
      secretChanged: boolean;
      ms: number;
    }
  | {
      status: 'restart-only';
      cluster: string;
      operator: string;
      kind: string;
      namespace: string;
      name: string;
      reason: string;
    }
  | {
      status: 'not-forceable';
      cluster: string;
      operator: string;
      kind: string;
      namespace: string;
      name: string;
      reason: string;
      fix: string;
    }
  | {
      status: 'failed';
      cluster: string;
      operator: string;
      kind: string;
      namespace: string;
      name: string;
      error: Failure;
    }
  /** Dry run: what the refresh step would do; nothing was patched. */
  | {
      status: 'dry-run';
      cluster: string;
      operator: string;
      kind: string;
      namespace: string;
      name: string;
      action: string;
    };

export type TimelineStep =
  | 'received'
  | 'rotated'
  | 'resolved'
  | 'refresh-forced'
  | 'secret-updated'
  | 'workloads-patched'
  | 'done'
  /** Every followed restart has ended (after `done` when the run answered first). */
  | 'rolled-out';

export interface TimelineEntry {
  step: TimelineStep;
  /** Milliseconds since the event was received. */
  atMs: number;
  detail?: string;
}

/** Told of each part of an outcome as it finishes: timeline marks, each cluster's refresh and restart results. */
export interface StepListener {
  marked(entry: TimelineEntry): void;
  refreshed(results: RefreshResult[]): void;
  restarted(results: WorkloadResult[]): void;
}

/** A cluster whose part of the run failed as a whole; `error.retryable` (unreachable, timed out, 5xx): the sender should deliver the event again. */
export interface ClusterFailure {
  cluster: string;
  error: Failure;
}

export interface Outcome {
  eventId: string;
  ref: string;
  kind: ChangeEvent['kind'];
  source: ChangeEvent['source'];
  status: 'completed' | 'partial' | 'failed' | 'duplicate' | 'nothing-to-do';
  /**
   * `finishing`: not a rotation; the last rotation's version had not reached every consumer,
   * so this run refreshed and restarted on it (`detail` says why), see docs/rotation-policy.md.
   */
  rotation?: { newVersion: string } | { skipped: string } | { finishing: string; detail: string };
  refreshes: RefreshResult[];
  workloads: WorkloadResult[];
  clusterFailures: ClusterFailure[];
  timeline: TimelineEntry[];
  dryRun: boolean;
  /** A verified rotation whose rollouts failed: what rotor did about it (lib/rotation/verified.ts). */
  undo?: UndoRecord;
  /**
   * Set when this event named the same secret version as a run already in flight (a noisy
   * source, several vaults' replicas): it shared that run instead of forcing the operators again.
   */
  sharedRunOf?: string;
}

/**
 * What settling makes of a run's outcome (lib/run.ts): the outcome, or an answer now and the
 * final outcome later (a verified rotation following rollouts it did not start), recorded
 * and notified when it ends, as a rollout follow-up is.
 */
export type Settled = Outcome | { answer: Outcome; final: Promise<Outcome> };

/**
 * After a rotation rotor made, a consumer's rollout failed. `restored`: the previous
 * credential was written back as `restoredVersion` and the run `rerun` refreshes and
 * restarts on it. `not-restored`: rotor only alerts, and why (not asked for, not allowed by
 * configuration, the previous credential no longer valid, the write failed).
 */
export type UndoRecord =
  | {
      status: 'restored';
      /** cluster/kind/namespace/name of each workload whose rollout failed. */
      failed: string[];
      previousVersion: string;
      restoredVersion: string;
      rerun: string;
    }
  | { status: 'not-restored'; failed: string[]; reason: string };
