import type { KubeObject } from '../api/objects.js';

/**
 * Where a workload's rollout stands, read from its status alone (the rules `kubectl
 * rollout status` applies, per kind). Pure: the follower (rollout-follower.ts) feeds it
 * every version of the object it sees and stops at the first final state.
 *   progressing: not there yet (detail says what is missing)
 *   rolled-out:  the new template is fully available, nothing old left running
 *   failed:      the controller gave up (ProgressDeadlineExceeded, a failed Job, a degraded Rollout)
 *   unfollowable: the kind's settings mean no rollout happens by itself (OnDelete, paused)
 */
export type RolloutState =
  | { state: 'progressing'; detail: string }
  | { state: 'rolled-out' }
  | { state: 'failed'; reason: string; message: string }
  | { state: 'unfollowable'; reason: string };

export type FollowedKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Rollout' | 'Job';

/** `generation`: the one rotor's write produced; a later one (someone else's edit) is followed instead. */
export function rolloutState(kind: FollowedKind, obj: KubeObject, generation: number): RolloutState {
  return STATES[kind](obj, Math.max(generation, obj.metadata?.generation ?? 0));
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const STATES: Record<FollowedKind, (obj: KubeObject, generation: number) => RolloutState> = {
  Deployment(obj, generation) {
    const s = obj.status ?? {};
    if ((s.observedGeneration ?? 0) < generation) return waitingFor(generation);
    const deadline = condition(obj, 'Progressing');
    if (deadline?.reason === 'ProgressDeadlineExceeded') return failed(deadline.reason, deadline.message);
    if (obj.spec?.paused) return { state: 'unfollowable', reason: 'Deployment is paused' };
    const want = obj.spec?.replicas ?? 1;
    const updated = s.updatedReplicas ?? 0;
    if (updated < want) return progressing(`${updated} of ${want} replicas updated`);
    if ((s.replicas ?? 0) > updated) {
      return progressing(`${(s.replicas ?? 0) - updated} old replicas pending termination`);
    }
    if ((s.availableReplicas ?? 0) < updated) {
      return progressing(`${s.availableReplicas ?? 0} of ${updated} updated replicas available`);
    }
    return { state: 'rolled-out' };
  },

  StatefulSet(obj, generation) {
    const s = obj.status ?? {};
    if (obj.spec?.updateStrategy?.type === 'OnDelete') return onDelete('StatefulSet');
    if ((s.observedGeneration ?? 0) < generation) return waitingFor(generation);
    const want = obj.spec?.replicas ?? 1;
    const partition = obj.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    if ((s.readyReplicas ?? 0) < want) return progressing(`${s.readyReplicas ?? 0} of ${want} pods ready`);
    if (partition > 0) {
      const updated = s.updatedReplicas ?? 0;
      return updated < want - partition
        ? progressing(`${updated} of ${want - partition} pods above the partition updated`)
        : { state: 'rolled-out' };
    }
    if (s.updateRevision !== s.currentRevision) {
      return progressing(`${s.updatedReplicas ?? 0} of ${want} pods on revision ${s.updateRevision}`);
    }
    return { state: 'rolled-out' };
  },

  DaemonSet(obj, generation) {
    const s = obj.status ?? {};
    if (obj.spec?.updateStrategy?.type === 'OnDelete') return onDelete('DaemonSet');
    if ((s.observedGeneration ?? 0) < generation) return waitingFor(generation);
    const want = s.desiredNumberScheduled ?? 0;
    if ((s.updatedNumberScheduled ?? 0) < want) {
      return progressing(`${s.updatedNumberScheduled ?? 0} of ${want} pods updated`);
    }
    if ((s.numberAvailable ?? 0) < want)
      return progressing(`${s.numberAvailable ?? 0} of ${want} pods available`);
    return { state: 'rolled-out' };
  },

  // Argo Rollouts: observedGeneration is a string there; phase sums up the rollout.
  Rollout(obj, generation) {
    const s = obj.status ?? {};
    if (Number(s.observedGeneration ?? 0) < generation) return waitingFor(generation);
    if (s.phase === 'Healthy') return { state: 'rolled-out' };
    if (s.phase === 'Degraded') return failed(s.message?.split(':')[0] || 'Degraded', s.message);
    if (s.phase === 'Paused')
      return { state: 'unfollowable', reason: `Rollout paused: ${s.message ?? 'a pause step'}` };
    return progressing(s.message ?? s.phase ?? 'progressing');
  },

  // A Job (created for a CronJob or recreated) "rolls out" when it completes.
  Job(obj) {
    const failedCond = condition(obj, 'Failed');
    if (failedCond?.status === 'True') return failed(failedCond.reason ?? 'Failed', failedCond.message);
    if (condition(obj, 'Complete')?.status === 'True') return { state: 'rolled-out' };
    return progressing(`${obj.status?.succeeded ?? 0} succeeded, ${obj.status?.active ?? 0} active`);
  },
};

function condition(obj: KubeObject, type: string): Condition | undefined {
  return ((obj.status?.conditions ?? []) as Condition[]).find((c) => c.type === type);
}

function progressing(detail: string): RolloutState {
  return { state: 'progressing', detail };
}

function waitingFor(generation: number): RolloutState {
  return progressing(`waiting for the controller to observe generation ${generation}`);
}

function failed(reason: string, message: string | undefined): RolloutState {
  return { state: 'failed', reason, message: message ?? reason };
}

function onDelete(kind: string): RolloutState {
  return { state: 'unfollowable', reason: `${kind} updateStrategy OnDelete: pods change only when deleted` };
}
