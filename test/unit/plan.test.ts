import { describe, expect, it } from 'vitest';
import { ForbiddenError, TransientError } from '../../lib/errors.js';
import type { ChangedResource } from '../../lib/kube/changed-resource.js';
import type { DerivedObject } from '../../lib/kube/operators/index.js';
import { type PlanPorts, planFor } from '../../lib/plan.js';
import { KV_REF, restarted } from './support/fake-ports.js';

const externalSecret: DerivedObject = {
  cluster: 'alpha',
  operator: 'eso',
  kind: 'ExternalSecret',
  namespace: 'app',
  name: 'db',
  targetSecret: 'db-credentials',
  warnings: [],
  forceable: true,
};
const providerClass: DerivedObject = {
  cluster: 'alpha',
  operator: 'csi',
  kind: 'SecretProviderClass',
  namespace: 'app',
  name: 'db-spc',
  warnings: [],
  forceable: true,
};

function planPorts(derived: Record<string, DerivedObject[] | Error>) {
  const asked: ChangedResource[][] = [];
  const ports: PlanPorts = {
    clusters: () => Object.keys(derived),
    resolve: async (cluster) => {
      const d = derived[cluster];
      if (d instanceof Error) throw d;
      return d ?? [];
    },
    planRestarts: async (cluster, changed) => {
      asked.push(changed);
      return changed.map((c) => restarted(cluster, `uses-${c.name}`));
    },
  };
  return { ports, asked };
}

describe('planFor (rotor plan)', () => {
  it('lists the derived objects and asks the restart engine about what each would change', async () => {
    const { ports, asked } = planPorts({ alpha: [externalSecret, providerClass] });

    const plan = await planFor(KV_REF, ports);

    expect(asked).toEqual([
      [
        { cluster: 'alpha', kind: 'Secret', namespace: 'app', name: 'db-credentials' },
        expect.objectContaining({
          cluster: 'alpha',
          kind: 'SecretProviderClass',
          namespace: 'app',
          name: 'db-spc',
        }),
      ],
    ]);
    expect(plan.clusters[0]?.workloads.map((w) => `${w.name}:${w.action}`)).toEqual([
      'uses-db-credentials:restart',
      'uses-db-spc:restart',
    ]);
  });

  it('lists the workloads of a secret consumed through a ClusterExternalSecret: the targets of its children', async () => {
    const ces: DerivedObject = {
      cluster: 'alpha',
      operator: 'eso',
      kind: 'ClusterExternalSecret',
      namespace: '',
      name: 'shared',
      warnings: [],
      forceable: true,
      children: [
        { namespace: 'team-a', name: 'shared', targetSecret: 'shared-config' },
        { namespace: 'team-b', name: 'shared', targetSecret: 'shared-config' },
      ],
    };
    const { ports } = planPorts({ alpha: [ces] });

    const plan = await planFor(KV_REF, ports);

    expect(plan.clusters[0]?.workloads.map((w) => `${w.name}:${w.action}`)).toEqual([
      'uses-shared-config:restart',
      'uses-shared-config:restart',
    ]);
  });

  it('says why an object cannot be forced', async () => {
    const pinned = { ...externalSecret, forceable: false, fix: 'set spec.refreshPolicy to Periodic' };
    const { ports } = planPorts({ alpha: [pinned] });

    const plan = await planFor(KV_REF, ports);

    expect(plan.clusters[0]?.derived[0]?.warnings).toEqual([
      'cannot be forced: set spec.refreshPolicy to Periodic',
    ]);
  });

  it('reports an unreachable cluster with its typed failure and plans the others', async () => {
    const { ports } = planPorts({
      alpha: new TransientError('connect ECONNREFUSED'),
      beta: [externalSecret],
    });

    const plan = await planFor(KV_REF, ports);

    expect(plan.clusters.map((c) => [c.cluster, c.error ?? 'ok', c.workloads.length])).toEqual([
      ['alpha', { code: 'transient', message: 'connect ECONNREFUSED', retryable: true }, 0],
      ['beta', 'ok', 1],
    ]);
  });

  it('reports a cluster that refuses rotor as forbidden, not retryable', async () => {
    const { ports } = planPorts({ alpha: new ForbiddenError('forbidden: list externalsecrets') });

    const plan = await planFor(KV_REF, ports);

    expect(plan.clusters[0]?.error).toEqual({
      code: 'forbidden',
      message: 'forbidden: list externalsecrets',
      retryable: false,
    });
  });

  it('gives a workload whose restart could not be planned its typed failure', async () => {
    const { ports } = planPorts({ alpha: [externalSecret] });
    const error = { code: 'forbidden', message: 'forbidden: get deployments', retryable: false };
    ports.planRestarts = async (cluster) => [
      { status: 'failed', cluster, kind: 'Deployment', namespace: 'app', name: 'api', error },
    ];

    const plan = await planFor(KV_REF, ports);

    expect(plan.clusters[0]?.workloads).toEqual([
      { kind: 'Deployment', namespace: 'app', name: 'api', action: 'failed', error },
    ]);
  });
});
