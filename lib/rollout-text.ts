import type { RolloutReport } from './outcome.js';

/** One workload's follow-up in words, as the CLI, the demo and notifications print it. */
export function rolloutText(rollout: RolloutReport | undefined): string {
  if (!rollout) return '';
  switch (rollout.status) {
    case 'rolled-out':
      return `rolled out in ${(rollout.ms / 1000).toFixed(1)} s`;
    case 'rollout-failed':
      return `rollout failed after ${(rollout.ms / 1000).toFixed(1)} s: ${rollout.reason}: ${rollout.message}`;
    case 'following':
      return 'rollout being followed';
    case 'not-followed':
      return `rollout not followed (${rollout.reason})`;
  }
}
