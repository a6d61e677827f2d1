import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';
import { followRollout, type ObjectSource } from '../../../../lib/kube/restart/rollout-follower.js';
import type { RolloutResult } from '../../../../lib/outcome.js';
import { ManualTime, settle } from '../../support/manual-time.js';

/** A watch the test drives: push() delivers a version; read() answers the latest one. */
function fakeSource(initial: KubeObject) {
  let latest = initial;
  const listeners = new Set<(o: KubeObject) => void>();
  let reads = 0;
  const source: ObjectSource = {
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async read() {
      reads++;
      return latest;
    },
  };
  return {
    source,
    push(o: KubeObject) {
      latest = o;
      for (const l of listeners) l(o);
    },
    listeners: () => listeners.size,
    reads: () => reads,
  };
}

const deployment = (status: object, generation = 2): KubeObject => ({
  metadata: { name: 'web', namespace: 'ns', generation },
  spec: { replicas: 2 },
  status,
});

describe('followRollout: one restarted workload followed to its end', () => {
  it('ends rolled-out on the first version that is fully available, and stops listening', async () => {
    const src = fakeSource(deployment({ observedGeneration: 1, replicas: 2, updatedReplicas: 0 }));
    const result = followRollout('Deployment', 2, src.source, {
      timeoutMs: 5_000,
      startedAt: performance.now(),
    });
    await settle();
    src.push(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 }));
    src.push(deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }));

    await expect(result).resolves.toMatchObject({ status: 'rolled-out' });
    expect(src.listeners()).toBe(0);
  });

  it('ends rollout-failed with the controller reason on ProgressDeadlineExceeded', async () => {
    const src = fakeSource(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 1 }));
    const result = followRollout('Deployment', 2, src.source, {
      timeoutMs: 5_000,
      startedAt: performance.now(),
    });
    src.push(
      deployment({
        observedGeneration: 2,
        replicas: 3,
        updatedReplicas: 1,
        conditions: [
          { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'timed out' },
        ],
      }),
    );

    await expect(result).resolves.toMatchObject({
      status: 'rollout-failed',
      reason: 'ProgressDeadlineExceeded',
      message: 'timed out',
    });
  });

  it('ends rollout-failed with reason Timeout and what was missing when the bound passes', async () => {
    const src = fakeSource(
      deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 1 }),
    );
    const time = new ManualTime(0);
    let result: RolloutResult | undefined;
    void followRollout('Deployment', 2, src.source, {
      timeoutMs: 10_000,
      startedAt: time.monotonic(),
      timers: time,
      now: time.monotonic,
    }).then((r) => {
      result = r;
    });

    await time.advance(9_999);
    expect(result).toBeUndefined();
    await time.advance(1);

    expect(result).toMatchObject({ status: 'rollout-failed', reason: 'Timeout', ms: 10_000 });
    expect(result?.status === 'rollout-failed' && result.message).toBe(
      'not rolled out within 10 s: 1 of 2 replicas updated',
    );
    expect(time.pending).toBe(0);
  });

  it('a rollout already finished when following starts is found by the first read', async () => {
    const src = fakeSource(
      deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
    );
    await expect(
      followRollout('Deployment', 2, src.source, { timeoutMs: 5_000, startedAt: performance.now() }),
    ).resolves.toMatchObject({ status: 'rolled-out' });
    expect(src.reads()).toBe(1);
  });

  it('polls when the watch says nothing', async () => {
    const src = fakeSource(deployment({ observedGeneration: 1 }));
    const time = new ManualTime(0);
    const result = followRollout('Deployment', 2, src.source, {
      timeoutMs: 5_000,
      startedAt: time.monotonic(),
      pollMs: 2_000,
      timers: time,
      now: time.monotonic,
    });
    await settle();
    // Changes without a watch event: only a read sees them.
    const quiet = deployment({
      observedGeneration: 2,
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 2,
    });
    src.source.read = async () => quiet;
    await time.advance(2_000);

    await expect(result).resolves.toMatchObject({ status: 'rolled-out', ms: 2_000 });
  });

  it('reports a paused Deployment as not followed instead of waiting for the bound', async () => {
    const src = fakeSource({ ...deployment({ observedGeneration: 2 }), spec: { replicas: 2, paused: true } });
    await expect(
      followRollout('Deployment', 2, src.source, { timeoutMs: 5_000, startedAt: performance.now() }),
    ).resolves.toEqual({ status: 'not-followed', reason: 'Deployment is paused' });
  });
});
