import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';
import {
  type FollowedKind,
  type RolloutState,
  rolloutState,
} from '../../../../lib/kube/restart/rollout-state.js';

const obj = (generation: number, spec: object, status: object): KubeObject => ({
  metadata: { name: 'w', namespace: 'ns', generation },
  spec,
  status,
});

const cases: Array<[string, FollowedKind, KubeObject, RolloutState['state'], string?]> = [
  [
    'Deployment: the controller has not seen the new generation',
    'Deployment',
    obj(3, { replicas: 3 }, { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }),
    'progressing',
  ],
  [
    'Deployment: 1 of 3 updated',
    'Deployment',
    obj(3, { replicas: 3 }, { observedGeneration: 3, updatedReplicas: 1, replicas: 4, availableReplicas: 3 }),
    'progressing',
  ],
  [
    'Deployment: all updated but old pods still counted',
    'Deployment',
    obj(3, { replicas: 3 }, { observedGeneration: 3, updatedReplicas: 3, replicas: 4, availableReplicas: 3 }),
    'progressing',
  ],
  [
    'Deployment: updated but not yet available',
    'Deployment',
    obj(3, { replicas: 3 }, { observedGeneration: 3, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }),
    'progressing',
  ],
  [
    'Deployment: rolled out',
    'Deployment',
    obj(3, { replicas: 3 }, { observedGeneration: 3, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }),
    'rolled-out',
  ],
  [
    'Deployment: replicas defaults to 1',
    'Deployment',
    obj(2, {}, { observedGeneration: 2, updatedReplicas: 1, replicas: 1, availableReplicas: 1 }),
    'rolled-out',
  ],
  [
    'Deployment: ProgressDeadlineExceeded',
    'Deployment',
    obj(
      3,
      { replicas: 3 },
      {
        observedGeneration: 3,
        updatedReplicas: 1,
        replicas: 4,
        availableReplicas: 3,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "w-1" has timed out progressing.',
          },
        ],
      },
    ),
    'failed',
    'ProgressDeadlineExceeded',
  ],
  [
    'Deployment: paused',
    'Deployment',
    obj(3, { replicas: 3, paused: true }, { observedGeneration: 3, updatedReplicas: 0, replicas: 3 }),
    'unfollowable',
  ],
  [
    'StatefulSet: revisions differ',
    'StatefulSet',
    obj(
      2,
      { replicas: 2 },
      {
        observedGeneration: 2,
        readyReplicas: 2,
        updatedReplicas: 1,
        currentRevision: 'a',
        updateRevision: 'b',
      },
    ),
    'progressing',
  ],
  [
    'StatefulSet: not all ready',
    'StatefulSet',
    obj(
      2,
      { replicas: 2 },
      { observedGeneration: 2, readyReplicas: 1, currentRevision: 'b', updateRevision: 'b' },
    ),
    'progressing',
  ],
  [
    'StatefulSet: rolled out',
    'StatefulSet',
    obj(
      2,
      { replicas: 2 },
      {
        observedGeneration: 2,
        readyReplicas: 2,
        updatedReplicas: 2,
        currentRevision: 'b',
        updateRevision: 'b',
      },
    ),
    'rolled-out',
  ],
  [
    'StatefulSet: partition reached',
    'StatefulSet',
    obj(
      2,
      { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
      {
        observedGeneration: 2,
        readyReplicas: 3,
        updatedReplicas: 1,
        currentRevision: 'a',
        updateRevision: 'b',
      },
    ),
    'rolled-out',
  ],
  [
    'StatefulSet: OnDelete',
    'StatefulSet',
    obj(2, { replicas: 2, updateStrategy: { type: 'OnDelete' } }, { observedGeneration: 2 }),
    'unfollowable',
  ],
  [
    'DaemonSet: half updated',
    'DaemonSet',
    obj(
      2,
      {},
      { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 1, numberAvailable: 2 },
    ),
    'progressing',
  ],
  [
    'DaemonSet: rolled out',
    'DaemonSet',
    obj(
      2,
      {},
      { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 },
    ),
    'rolled-out',
  ],
  [
    'Rollout: observedGeneration is a string, Healthy',
    'Rollout',
    obj(4, {}, { observedGeneration: '4', phase: 'Healthy' }),
    'rolled-out',
  ],
  [
    'Rollout: Degraded',
    'Rollout',
    obj(
      4,
      {},
      {
        observedGeneration: '4',
        phase: 'Degraded',
        message: 'ProgressDeadlineExceeded: ReplicaSet "x" has timed out progressing.',
      },
    ),
    'failed',
    'ProgressDeadlineExceeded',
  ],
  ['Job: running', 'Job', obj(1, {}, { active: 1 }), 'progressing'],
  [
    'Job: complete',
    'Job',
    obj(1, {}, { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }),
    'rolled-out',
  ],
  [
    'Job: failed',
    'Job',
    obj(
      1,
      {},
      {
        failed: 6,
        conditions: [
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
        ],
      },
    ),
    'failed',
    'BackoffLimitExceeded',
  ],
];

describe('rolloutState: where a rollout stands, from the object alone', () => {
  it.each(cases)('%s', (_title, kind, object, state, reason) => {
    const got = rolloutState(kind, object, object.metadata?.generation ?? 0);
    expect(got.state).toBe(state);
    if (reason) expect(got).toMatchObject({ reason });
  });

  it('follows a newer generation than rotor wrote (someone edited it meanwhile)', () => {
    const d = obj(
      5,
      { replicas: 1 },
      { observedGeneration: 4, updatedReplicas: 1, replicas: 1, availableReplicas: 1 },
    );
    expect(rolloutState('Deployment', d, 4)).toEqual({
      state: 'progressing',
      detail: 'waiting for the controller to observe generation 5',
    });
  });
});
