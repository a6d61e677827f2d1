import { stepInWords } from '../../lib/cli/plain-words.js';
import type { Outcome } from '../../lib/outcome.js';
import { rolloutText } from '../../lib/rollout-text.js';

/**
 * One line per event rotor handled in `npm run sandbox`: when, where it came from, which
 * secret, how it ended, event -> patch, and which workloads restarted.
 */
export function eventLine(o: Outcome, at: Date = new Date()): string {
  const patched = o.timeline.filter((t) => t.step === 'workloads-patched').at(-1)?.atMs;
  const restarted = o.workloads.filter((w) => w.status === 'restarted');
  const names = restarted.map((w) => `${w.cluster}/${w.namespace}/${w.name}`);
  const rotated = o.rotation && 'newVersion' in o.rotation ? ` rotated to ${o.rotation.newVersion};` : '';
  return [
    at.toISOString().slice(11, 19),
    o.source.padEnd(11),
    o.ref,
    `${o.status}${o.dryRun ? ' (dry run)' : ''};${rotated}`,
    `event->patch ${patched === undefined ? '-' : `${patched} ms`};`,
    `restarted ${restarted.length}${names.length ? ` (${names.join(', ')})` : ''}`,
    ...o.clusterFailures.map((c) => `; ${c.cluster} FAILED: ${c.error.message}`),
  ].join('  ');
}

/** The full timeline of one outcome, as the demo prints it. */
export function timelineLines(o: Outcome): string[] {
  return o.timeline.map((t) => `    ${String(t.atMs).padStart(6)} ms  ${stepInWords(t.step, t.detail)}`);
}

/**
 * One line per restarted workload whose rollout has ended ("rolled out in 1.2 s"); those
 * still being followed get theirs when the follow-up ends (onFollowUp).
 */
export function rolloutLines(o: Outcome): string[] {
  return o.workloads.flatMap((w) =>
    w.status === 'restarted' && w.rollout && w.rollout.status !== 'following'
      ? [`    ${w.cluster}/${w.kind}/${w.namespace}/${w.name}: ${rolloutText(w.rollout)}`]
      : [],
  );
}
