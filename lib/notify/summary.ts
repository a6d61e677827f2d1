import type { Failure } from '../errors.js';
import { type Outcome, rolloutOf } from '../outcome.js';
import { rolloutText, undoText } from '../rollout-text.js';

/** What a notification says: references, counts and workload names, never values. */
export interface NotificationSummary {
  title: string;
  lines: string[];
  failed: boolean;
  restarted: number;
  /** Every failure with its code, so a receiver can route or group them without reading prose. */
  failures: Array<{ what: string; code: string; retryable: boolean }>;
}

export function summarise(outcome: Outcome): NotificationSummary {
  const restarted = outcome.workloads.filter((w) => w.status === 'restarted');
  const failedWorkloads = outcome.workloads.filter((w) => w.status === 'failed');
  const failedRefreshes = outcome.refreshes.filter((r) => r.status === 'failed');
  const rolloutFailed = outcome.workloads.some((w) => rolloutOf(w)?.status === 'rollout-failed');
  // Restarted first by another run (rotor's own write as a change event): a verified rotation followed them.
  const followedForOthers = outcome.workloads.filter((w) => w.status === 'already-current' && w.rollout);
  const failed = outcome.status === 'failed' || outcome.status === 'partial' || rolloutFailed;
  const failures = [
    ...failedWorkloads.map((w) => failure(`${w.kind} ${w.namespace}/${w.name} in ${w.cluster}`, w.error)),
    ...failedRefreshes.map((r) =>
      failure(`refresh of ${r.kind} ${r.namespace}/${r.name} in ${r.cluster}`, r.error),
    ),
    ...outcome.clusterFailures.map((c) => failure(`cluster ${c.cluster}`, c.error)),
  ];
  const lines = [
    ...restarted.map(
      (w) =>
        `restarted ${w.kind} ${w.namespace}/${w.name} in ${w.cluster}${w.status === 'restarted' && w.rollout ? `, ${rolloutText(w.rollout)}` : ''}`,
    ),
    ...followedForOthers.map(
      (w) =>
        `${w.kind} ${w.namespace}/${w.name} in ${w.cluster}, restarted by another run: ${rolloutText(rolloutOf(w))}`,
    ),
    ...failures.map((f) => f.line),
    ...(outcome.undo ? [undoText(outcome.undo)] : []),
  ];
  const verb = failed ? 'failed for' : 'reloaded';
  return {
    title: `rotor ${verb} ${outcome.ref} (${outcome.status})`,
    lines,
    failed,
    restarted: restarted.length,
    failures: failures.map(({ what, code, retryable }) => ({ what, code, retryable })),
  };
}

function failure(what: string, error: Failure) {
  return {
    what,
    code: error.code,
    retryable: error.retryable,
    line: `failed ${what} [${error.code}]: ${error.message}`,
  };
}
