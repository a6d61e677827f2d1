import type { RolloutResult, WorkloadResult } from '../../outcome.js';
import type { KubeObject } from '../api/objects.js';
import type { ClusterClient } from '../cluster.js';
import type { WorkloadRef } from './consumer-index.js';
import type { WorkloadKind } from './kinds/types.js';
import { followRollout } from './rollout-follower.js';
import type { FollowedKind } from './rollout-state.js';

/** The watch a restart is followed on: the consumer index's, so no request per workload. */
export interface FollowDeps {
  client: ClusterClient;
  kinds: readonly WorkloadKind[];
  subscribe(ref: WorkloadRef, onObject: (obj: KubeObject) => void): () => void;
  /** A read this often only covers a watch being resumed. */
  pollMs: number;
}

/**
 * Follows a restart to its end (rolled-out / rollout-failed, bounded by timeoutMs). A
 * CronJob rolls out through the Job created for it; a workload that was not restarted, or
 * a kind without a rollout, is not followed.
 */
export function followRestart(
  result: WorkloadResult,
  timeoutMs: number,
  deps: FollowDeps,
): Promise<RolloutResult> {
  const startedAt = performance.now();
  if (result.status !== 'restarted') {
    return Promise.resolve({ status: 'not-followed', reason: `workload ${result.status}` });
  }
  const followed: { kind: FollowedKind; name: string } | undefined =
    result.kind === 'CronJob'
      ? result.job
        ? { kind: 'Job', name: result.job }
        : undefined
      : { kind: result.kind as FollowedKind, name: result.name };
  const kind = followed && deps.kinds.find((k) => k.kind === followed.kind);
  if (!followed || !kind) {
    return Promise.resolve({ status: 'not-followed', reason: `${result.kind} is not followed` });
  }
  const ref = { kind: kind.kind, namespace: result.namespace, name: followed.name };
  return followRollout(
    followed.kind,
    result.generation ?? 0,
    {
      subscribe: (onObject) => deps.subscribe(ref, onObject),
      read: () => kind.get(deps.client, ref.namespace, ref.name).catch(() => undefined),
    },
    { timeoutMs, startedAt, pollMs: deps.pollMs },
  );
}
