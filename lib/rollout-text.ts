import type { RolloutReport, UndoRecord } from './outcome.js';

/** One workload's follow-up in words, as the CLI, the demo and notifications print it. */
export function rolloutText(rollout: RolloutReport | undefined): string {
  if (!rollout) return '';
  const seconds = 'ms' in rollout ? `${(rollout.ms / 1000).toFixed(1)} s` : '';
  // Not started by rotor's restart: only how long it was followed is known.
  const followed = 'since' in rollout ? ` (followed for ${seconds}; started earlier)` : undefined;
  switch (rollout.status) {
    case 'rolled-out':
      return followed ? `rolled out${followed}` : `rolled out in ${seconds}`;
    case 'rollout-failed':
      return `rollout failed${followed ?? ` after ${seconds}`}: ${rollout.reason}: ${rollout.message}`;
    case 'following':
      return 'rollout being followed';
    case 'not-followed':
      return `rollout not followed (${rollout.reason})`;
  }
}

/** What was done about a verified rotation whose rollouts failed, as the CLI and notifications print it. */
export function undoText(undo: UndoRecord): string {
  const failed = undo.failed.join(', ');
  return undo.status === 'restored'
    ? `undone: version ${undo.previousVersion} restored as ${undo.restoredVersion} after failed rollouts (${failed}); refresh and restart again as ${undo.rerun}`
    : `not undone after failed rollouts (${failed}): ${undo.reason}`;
}
