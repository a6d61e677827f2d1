import { describe, expect, it } from 'vitest';
import { RestartConfigSchema } from '../../../../lib/config.js';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';
import { RestartEngine } from '../../../../lib/kube/restart/engine.js';
import type { WorkloadResult } from '../../../../lib/outcome.js';
import { restarted } from '../../support/fake-ports.js';

/** A Deployment already rolled out at generation 7, read through a counting client. */
function rolledOutCluster() {
  let reads = 0;
  const client = {
    name: 'alpha',
    apps: {
      readNamespacedDeployment: async () => {
        reads++;
        return {
          metadata: { name: 'web', namespace: 'app', generation: 7 },
          spec: { replicas: 1 },
          status: { observedGeneration: 7, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
        };
      },
    },
  } as unknown as ClusterClient;
  return { client, reads: () => reads };
}

const restartedAt = (generation: number): WorkloadResult => ({ ...restarted('alpha', 'web'), generation });

describe('RestartEngine.follow: the runs of one coalesced restart', () => {
  it('follow its one rollout together: one read of the workload, one result, however many runs ask', async () => {
    const { client, reads } = rolledOutCluster();
    const engine = new RestartEngine(client, RestartConfigSchema.parse({}));

    const results = await Promise.all(
      Array.from({ length: 10 }, () => engine.follow(restartedAt(7), 60_000)),
    );

    expect(results.map((r) => r.status)).toEqual(Array(10).fill('rolled-out'));
    expect(reads()).toBe(1);
    await engine.follow(restartedAt(7), 60_000); // that follow ended: a new one reads again
    expect(reads()).toBe(2);
  });
});
