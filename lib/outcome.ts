import type { ChangeEvent } from './change-event.js';

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
      /** Set when a bounded wait for the controller was asked for (restart.rolloutWaitMs). */
      rollout?: { status: 'progressed' | 'timeout'; ms: number };
    }
  | { status: 'already-current'; cluster: string; kind: string; namespace: string; name: string }
  | { status: 'skipped'; cluster: string; kind: string; namespace: string; name: string; reason: string }
  | { status: 'failed'; cluster: string; kind: string; namespace: string; name: string; error: string };

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
      error: string;
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
  | 'deduplicated'
  | 'rotated'
  | 'resolved'
  | 'refresh-forced'
  | 'secret-updated'
  | 'workloads-patched'
  | 'done';

export interface TimelineEntry {
  step: TimelineStep;
  /** Milliseconds since the event was received. */
  atMs: number;
  detail?: string;
}

export interface ClusterFailure {
  cluster: string;
  error: string;
  /** Unreachable, timed out, 5xx: the sender should deliver the event again. */
  retryable: boolean;
}

export interface Outcome {
  eventId: string;
  ref: string;
  kind: ChangeEvent['kind'];
  source: ChangeEvent['source'];
  status: 'completed' | 'partial' | 'failed' | 'duplicate' | 'nothing-to-do';
  rotation?: { newVersion: string } | { skipped: string };
  refreshes: RefreshResult[];
  workloads: WorkloadResult[];
  clusterFailures: ClusterFailure[];
  timeline: TimelineEntry[];
  dryRun: boolean;
  /**
   * Set when this event named the same secret version as a run already in flight (a noisy
   * source, several vaults' replicas): it shared that run instead of forcing the operators again.
   */
  sharedRunOf?: string;
}
