import type { Outcome } from '../outcome.js';
import { rolloutText } from '../rollout-text.js';

/** What a notification says: references, counts and workload names, never values. */
export interface NotificationSummary {
  title: string;
  lines: string[];
  failed: boolean;
  restarted: number;
}

export function summarise(outcome: Outcome): NotificationSummary {
  const restarted = outcome.workloads.filter((w) => w.status === 'restarted');
  const failedWorkloads = outcome.workloads.filter((w) => w.status === 'failed');
  const failedRefreshes = outcome.refreshes.filter((r) => r.status === 'failed');
  const rolloutFailed = restarted.some(
    (w) => w.status === 'restarted' && w.rollout?.status === 'rollout-failed',
  );
  const failed = outcome.status === 'failed' || outcome.status === 'partial' || rolloutFailed;
  const lines = [
    ...restarted.map(
      (w) =>
        `restarted ${w.kind} ${w.namespace}/${w.name} in ${w.cluster}${w.status === 'restarted' && w.rollout ? `, ${rolloutText(w.rollout)}` : ''}`,
    ),
    ...failedWorkloads.map((w) => `failed ${w.kind} ${w.namespace}/${w.name} in ${w.cluster}: ${w.error}`),
    ...failedRefreshes.map(
      (r) => `refresh failed ${r.kind} ${r.namespace}/${r.name} in ${r.cluster}: ${r.error}`,
    ),
    ...outcome.clusterFailures.map((c) => `cluster ${c.cluster} unreachable: ${c.error}`),
  ];
  const verb = failed ? 'failed for' : 'reloaded';
  return {
    title: `rotor ${verb} ${outcome.ref} (${outcome.status})`,
    lines,
    failed,
    restarted: restarted.length,
  };
}
