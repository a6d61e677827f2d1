import { systemTimers, type Timers, unref } from '../../clock.js';
import type { RolloutResult } from '../../outcome.js';
import type { KubeObject } from '../api/objects.js';
import { type FollowedKind, type RolloutState, rolloutState } from './rollout-state.js';

/** Where the follower gets versions of the object: pushed by a watch, and read on demand. */
export interface ObjectSource {
  /** Calls `onObject` with every version the watch delivers until the returned function is called. */
  subscribe(onObject: (obj: KubeObject) => void): () => void;
  read(): Promise<KubeObject | undefined>;
}

export interface FollowOptions {
  /** The bound: a rollout not finished by then has failed ("new pods not Ready within N s"). */
  timeoutMs: number;
  /** performance.now() of the restart write; `ms` is counted from there. */
  startedAt: number;
  /** A read now and then, in case a watch event was missed (the watch restarting). */
  pollMs?: number;
  /** The bound's and the poll's timers, and the monotonic clock `startedAt` is on (tests drive both). */
  timers?: Timers;
  now?: () => number;
}

/**
 * Follows one restarted workload to its end: every version the watch delivers is judged by
 * rolloutState(); the first final state wins; at the bound the rollout has failed with
 * reason Timeout and what was still missing.
 */
export function followRollout(
  kind: FollowedKind,
  generation: number,
  source: ObjectSource,
  options: FollowOptions,
): Promise<RolloutResult> {
  const pollMs = options.pollMs ?? 2_000;
  const timers = options.timers ?? systemTimers;
  const now = options.now ?? (() => performance.now());
  return new Promise<RolloutResult>((resolve) => {
    let last: RolloutState | undefined;
    let done = false;
    const elapsed = () => Math.round(now() - options.startedAt);
    const finish = (result: RolloutResult) => {
      if (done) return;
      done = true;
      unsubscribe();
      timers.clear(deadline);
      timers.clear(poll);
      resolve(result);
    };
    const judge = (obj: KubeObject | undefined) => {
      if (done || !obj) return;
      last = rolloutState(kind, obj, generation);
      if (last.state === 'rolled-out') finish({ status: 'rolled-out', ms: elapsed() });
      else if (last.state === 'failed') {
        finish({ status: 'rollout-failed', ms: elapsed(), reason: last.reason, message: last.message });
      } else if (last.state === 'unfollowable') finish({ status: 'not-followed', reason: last.reason });
    };
    const readAndJudge = () =>
      source.read().then(judge, () => undefined /* a failed read is retried by the next poll */);

    const unsubscribe = source.subscribe(judge);
    let poll: unknown;
    const armPoll = () => {
      poll = timers.set(() => {
        if (done) return;
        void readAndJudge();
        armPoll();
      }, pollMs);
      unref(poll);
    };
    armPoll();
    const deadline = timers.set(
      () => {
        const missing = last?.state === 'progressing' ? `: ${last.detail}` : '';
        finish({
          status: 'rollout-failed',
          ms: elapsed(),
          reason: 'Timeout',
          message: `not rolled out within ${Math.round(options.timeoutMs / 1000)} s${missing}`,
        });
      },
      Math.max(0, options.timeoutMs - (now() - options.startedAt)),
    );
    void readAndJudge();
  });
}
