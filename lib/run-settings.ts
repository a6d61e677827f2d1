import type { Config } from './config.js';

/** What the Runner (lib/run.ts) takes from the configuration. */
export interface RunnerSettings {
  /** config.restart.dryRun: every run is a dry run. */
  dryRun: boolean;
  /** config.runs: runs at once, and how many may wait before an event is answered busy (retry). */
  concurrency: number;
  queueLimit: number;
  /** A cluster that has not finished by then is reported as unreachable (retryable). */
  clusterDeadlineMs: number;
  /** config.state.inProgressExpiryMs: when another instance may take over a claimed event. */
  inProgressExpiryMs: number;
  /** config.restart.rolloutWaitMs: how long a run waits for its rollout follow-ups before answering. */
  followWaitMs?: number;
}

export function runnerSettings(
  config: Pick<Config, 'restart' | 'refresh' | 'state' | 'runs'>,
): RunnerSettings {
  return {
    dryRun: config.restart.dryRun,
    concurrency: config.runs.concurrency,
    queueLimit: config.runs.queueLimit,
    // Past the refresh timeout, plus the restart's share, a cluster is taken for unreachable.
    clusterDeadlineMs: config.refresh.timeoutMs + 10_000,
    inProgressExpiryMs: config.state.inProgressExpiryMs,
    followWaitMs: config.restart.rolloutWaitMs,
  };
}
