import { describe, expect, it } from 'vitest';
import type { ChangedResource } from '../../../../lib/kube/changed-resource.js';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';
import { type DerivedObject, refreshDerived } from '../../../../lib/kube/operators/index.js';
import type { Operator } from '../../../../lib/kube/operators/operator.js';
import { operatorById } from '../../../../lib/kube/operators/registry.js';
import type { RefreshResult } from '../../../../lib/outcome.js';
import { planFor } from '../../../../lib/plan.js';
import { KV_REF } from '../../support/fake-ports.js';

const client = { name: 'alpha' } as ClusterClient;

const base = { cluster: 'alpha', namespace: 'app', warnings: [], forceable: true };
const externalSecret: DerivedObject = {
  ...base,
  operator: 'eso',
  kind: 'ExternalSecret',
  name: 'db',
  targetSecret: 'db-credentials',
};
const clusterExternalSecret: DerivedObject = {
  ...base,
  operator: 'eso',
  kind: 'ClusterExternalSecret',
  namespace: '',
  name: 'shared',
  children: [
    { namespace: 'team-a', name: 'shared', targetSecret: 'shared-config' },
    { namespace: 'team-b', name: 'shared', targetSecret: 'shared-config' },
  ],
};
const vaultStaticSecret: DerivedObject = {
  ...base,
  operator: 'vso',
  kind: 'VaultStaticSecret',
  name: 'api',
  targetSecret: 'api-key',
};
const providerClass: DerivedObject = {
  ...base,
  operator: 'csi',
  kind: 'SecretProviderClass',
  name: 'tls',
  mountedBy: [{ kind: 'Deployment', namespace: 'app', name: 'web' }],
};

/** What each operator's refresh reports when the operator synced (ESO reports a CES per child). */
function syncedResults(d: DerivedObject): RefreshResult[] {
  const subject = { cluster: d.cluster, operator: d.operator, ms: 5, secretChanged: true };
  if (d.operator === 'csi')
    return [
      {
        status: 'restart-only',
        ...subject,
        kind: d.kind,
        namespace: d.namespace,
        name: d.name,
        reason: 'csi',
      },
    ];
  const children = d.children ?? [
    { namespace: d.namespace, name: d.name, targetSecret: d.targetSecret ?? '' },
  ];
  return children.map((c) => ({
    status: 'refreshed',
    ...subject,
    kind: d.kind === 'ClusterExternalSecret' ? 'ExternalSecret' : d.kind,
    namespace: c.namespace,
    name: c.name,
    targetSecret: c.targetSecret,
  }));
}

/** The operator as registered, except that its refresh succeeds without a cluster. */
function syncing(d: DerivedObject): Operator {
  return {
    ...operatorById(d.operator),
    refresh: async (_c, derived) => ({ result: syncedResults(derived) }),
  };
}

/** What plan, dry run and real run hand to the restart engine for one derived object. */
async function threeWays(d: DerivedObject) {
  const planned: ChangedResource[] = [];
  await planFor(KV_REF, {
    clusters: () => ['alpha'],
    resolve: async () => [d],
    planRestarts: async (_cluster, changed) => {
      planned.push(...changed);
      return [];
    },
  });
  const dryRun = (await refreshDerived(client, [d], { timeoutMs: 1_000, dryRun: true })).changed;
  const realRun = (await refreshDerived(client, [d], { timeoutMs: 1_000, operators: [syncing(d)] })).changed;
  return { planned, dryRun, realRun };
}

describe('affects: plan, dry run and real run agree on what a refresh changes', () => {
  it('ESO ExternalSecret: its target Secret', async () => {
    const { planned, dryRun, realRun } = await threeWays(externalSecret);

    const expected = [{ cluster: 'alpha', kind: 'Secret', namespace: 'app', name: 'db-credentials' }];
    expect({ planned, dryRun, realRun }).toEqual({ planned: expected, dryRun: expected, realRun: expected });
  });

  it('ESO ClusterExternalSecret: the target Secret of every ExternalSecret it provisioned', async () => {
    const { planned, dryRun, realRun } = await threeWays(clusterExternalSecret);

    const expected = [
      { cluster: 'alpha', kind: 'Secret', namespace: 'team-a', name: 'shared-config' },
      { cluster: 'alpha', kind: 'Secret', namespace: 'team-b', name: 'shared-config' },
    ];
    expect({ planned, dryRun, realRun }).toEqual({ planned: expected, dryRun: expected, realRun: expected });
  });

  it('VSO VaultStaticSecret: its destination Secret', async () => {
    const { planned, dryRun, realRun } = await threeWays(vaultStaticSecret);

    const expected = [{ cluster: 'alpha', kind: 'Secret', namespace: 'app', name: 'api-key' }];
    expect({ planned, dryRun, realRun }).toEqual({ planned: expected, dryRun: expected, realRun: expected });
  });

  it('CSI SecretProviderClass: the class itself, whose consumers restart', async () => {
    const { planned, dryRun, realRun } = await threeWays(providerClass);

    const expected = [{ cluster: 'alpha', kind: 'SecretProviderClass', namespace: 'app', name: 'tls' }];
    expect(planned).toEqual(expected);
    expect(dryRun).toEqual(expected);
    // The real run stamps the backend version on the class in the cluster ports, not here.
    expect(realRun).toEqual(expected);
  });

  it('an object its operator will not refresh changes nothing, in all three', async () => {
    const pinned = { ...externalSecret, forceable: false, fix: 'set spec.refreshPolicy' };
    const notForced: Operator = {
      ...operatorById('eso'),
      refresh: async (_c, d) => ({
        result: [
          {
            status: 'not-forceable',
            cluster: d.cluster,
            operator: 'eso',
            kind: d.kind,
            namespace: d.namespace,
            name: d.name,
            reason: 'pinned',
            fix: 'x',
          },
        ],
      }),
    };
    const planned: ChangedResource[] = [];
    await planFor(KV_REF, {
      clusters: () => ['alpha'],
      resolve: async () => [pinned],
      planRestarts: async (_c, changed) => {
        planned.push(...changed);
        return [];
      },
    });
    const dryRun = (await refreshDerived(client, [pinned], { timeoutMs: 1_000, dryRun: true })).changed;
    const realRun = (await refreshDerived(client, [pinned], { timeoutMs: 1_000, operators: [notForced] }))
      .changed;

    expect({ planned, dryRun, realRun }).toEqual({ planned: [], dryRun: [], realRun: [] });
  });
});
