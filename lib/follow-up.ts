import { describeError } from './errors.js';
import type { Outcome, RolloutResult, TimelineEntry, WorkloadResult } from './outcome.js';

/** Follows one restarted workload to its end, bounded (the cluster's restart engine). */
export type FollowPort = (cluster: string, workload: WorkloadResult) => Promise<RolloutResult>;

export interface FollowUpOptions {
  /** How long the run waits before it answers; the follow-ups go on afterwards. */
  waitMs: number;
  /** Milliseconds since the event was received, for the timeline. */
  elapsedMs: () => number;
  /** Called once with the final outcome when follow-ups were still running at the answer. */
  onDone?: (outcome: Outcome) => void;
}

/**
 * Follows every restart of the outcome to rolled-out / rollout-failed. Waits at most
 * `waitMs`, so a delivery is never held past its sender's timeout: what has ended by then
 * goes into the answer, the rest is `following` there and continues; when the last one
 * ends, `onDone` gets a copy of the outcome with every result and a `rolled-out` timeline
 * entry. The outcome handed in is completed in place only for what ended within the wait.
 */
export async function followRestarts(
  outcome: Outcome,
  follow: FollowPort,
  options: FollowUpOptions,
): Promise<void> {
  const original = outcome.workloads;
  const restarted = original.filter((w) => w.status === 'restarted');
  if (restarted.length === 0) return;
  const reports = new Map<WorkloadResult, RolloutResult>();
  const all = Promise.all(
    restarted.map(async (w) => {
      const r = await follow(w.cluster, w).catch(
        (error): RolloutResult => ({ status: 'not-followed', reason: describeError(error).message }),
      );
      reports.set(w, r);
    }),
  );
  const withReports = (): WorkloadResult[] =>
    original.map((w) =>
      w.status === 'restarted' ? { ...w, rollout: reports.get(w) ?? { status: 'following' } } : w,
    );
  const mark = (): TimelineEntry => ({
    step: 'rolled-out',
    atMs: options.elapsedMs(),
    detail: summary(reports),
  });

  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    all.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), options.waitMs);
    }),
  ]);
  clearTimeout(timer);
  if (inTime) {
    outcome.workloads = withReports();
    outcome.timeline.push(mark());
    return;
  }
  outcome.workloads = withReports();
  // Read at the end: the run's own `done` entry is in the timeline by then.
  void all.then(() =>
    options.onDone?.({ ...outcome, workloads: withReports(), timeline: [...outcome.timeline, mark()] }),
  );
}

function summary(reports: Map<WorkloadResult, RolloutResult>): string {
  const results = [...reports.values()];
  const count = (s: RolloutResult['status']) => results.filter((r) => r.status === s).length;
  const slowest = Math.max(0, ...results.map((r) => ('ms' in r ? r.ms : 0)));
  return `${count('rolled-out')} rolled out, ${count('rollout-failed')} failed, ${count('not-followed')} not followed (slowest ${(slowest / 1000).toFixed(1)} s)`;
}
