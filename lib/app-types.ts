import type { ChangeEvent, IgnoredEvent } from './change-event.js';
import type { Config } from './config.js';
import type { DrainReport } from './drain.js';
import type { Failure } from './errors.js';
import type { Outcome } from './outcome.js';
import type { RunStatus } from './run-status.js';
import type { SecretRef } from './secret-ref.js';

/**
 * What `rotor plan` prints, nothing written: per cluster, what derives from the secret and which workloads would restart.
 * A cluster that could not be read (unreachable, refusing) carries its typed `error`, as a
 * failed workload does (`action: 'failed'`); either makes the plan incomplete (exit 1).
 */
export interface Plan {
  ref: string;
  clusters: Array<{
    cluster: string;
    error?: Failure;
    derived: Array<{
      operator: string;
      kind: string;
      namespace: string;
      name: string;
      targetSecret?: string;
      warnings: string[];
    }>;
    workloads: Array<{
      kind: string;
      namespace: string;
      name: string;
      action: string;
      reason?: string;
      error?: Failure;
    }>;
  }>;
}

export interface HealthReport {
  ok: boolean;
  checks: Array<{
    name: string;
    kind: 'keyvault' | 'vault' | 'cluster' | 'state' | 'config';
    ok: boolean;
    ms: number;
    error?: string;
  }>;
}

/**
 * The composition root seen by entry points (functions/, lib/host, CLI). Entry points
 * decode their trigger into these calls and map the results; nothing else.
 */
export interface App {
  readonly config: Config;
  /** Runs one event end to end, exactly once per event id (redeliveries return 'duplicate'). */
  process(event: ChangeEvent): Promise<Outcome>;
  /** Records that an event was received and deliberately ignored (logged, counted). */
  ignore(event: IgnoredEvent, source: ChangeEvent['source']): void;
  /** Manual rotation: write a new version now, then refresh and restart. */
  rotate(ref: SecretRef, options?: { requestId?: string; dryRun?: boolean }): Promise<Outcome>;
  /** Manual refresh: force derived objects to sync and restart consumers, no rotation. */
  refresh(ref: SecretRef, options?: { requestId?: string; dryRun?: boolean }): Promise<Outcome>;
  plan(ref: SecretRef): Promise<Plan>;
  /** Timer: rotate every secret whose policy says it is due. */
  scanDue(): Promise<Outcome[]>;
  health(): Promise<HealthReport>;
  /**
   * Builds what the first event would otherwise pay for (cluster clients, the consumer
   * index, state tables). Long-lived hosts call it at start; failures are logged, not thrown.
   */
  warm(): Promise<void>;
  /**
   * Takes over the verified rotations whose instance stopped before their rollouts ended
   * (lib/rotation/verified.ts); returns at once, never throws. Hosts call it at start; the
   * timer's run does too.
   */
  resumeVerifications(): Promise<void>;
  /** What the state store knows of an event's delivery (one entry per source that sent that id). */
  runStatus(eventId: string): Promise<RunStatus[]>;
  /**
   * Shutdown: refuses new events (retryable), lets runs in flight finish within `graceMs` and
   * gives back the claims of those that cannot, whose callers get a retryable error.
   */
  drain(graceMs: number): Promise<DrainReport>;
  close(): Promise<void>;
}

/** How an entry point obtains the App: getApp() in Azure, the host's own App locally, a fake in tests. */
export type AppSource = () => Promise<App>;
