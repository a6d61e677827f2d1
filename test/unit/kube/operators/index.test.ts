import { describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../../lib/kube/cluster.js';
import { type DerivedObject, refreshDerived, resolveDerived } from '../../../../lib/kube/operators/index.js';
import { type Operator, refreshedTargets } from '../../../../lib/kube/operators/operator.js';
import { SecretRefSchema } from '../../../../lib/secret-ref.js';
import { settle } from '../../support/manual-time.js';

const client = { name: 'alpha' } as ClusterClient;
const ref = SecretRefSchema.parse({
  backend: 'vault',
  address: 'http://vault:8200',
  mount: 'secret',
  path: 'app',
});

function derived(operator: DerivedObject['operator'], name: string, forceable = true): DerivedObject {
  return {
    cluster: 'alpha',
    operator,
    kind: operator === 'csi' ? 'SecretProviderClass' : 'ExternalSecret',
    namespace: 'ns',
    name,
    warnings: [],
    forceable,
    ...(operator === 'csi' ? {} : { targetSecret: `${name}-target` }),
    ...(forceable ? {} : { fix: 'set refreshInterval' }),
  };
}

describe('refreshDerived', () => {
  it('in a dry run patches nothing and says what it would do for each object, and what it would change', async () => {
    const out = await refreshDerived(
      client,
      [derived('eso', 'a'), derived('eso', 'b', false), derived('csi', 'c')],
      { timeoutMs: 1_000, dryRun: true },
    );

    expect(out.results).toEqual([
      {
        status: 'dry-run',
        cluster: 'alpha',
        operator: 'eso',
        kind: 'ExternalSecret',
        namespace: 'ns',
        name: 'a',
        action: 'annotate force-sync=<unique> and await the sync',
      },
      {
        status: 'not-forceable',
        cluster: 'alpha',
        operator: 'eso',
        kind: 'ExternalSecret',
        namespace: 'ns',
        name: 'b',
        reason: 'dry run',
        fix: 'set refreshInterval',
      },
      {
        status: 'dry-run',
        cluster: 'alpha',
        operator: 'csi',
        kind: 'SecretProviderClass',
        namespace: 'ns',
        name: 'c',
        action: 'restart the workloads that mount it',
      },
    ]);
    // The ExternalSecret's target would change (the dry run used to report only CSI classes);
    // the one ESO would not refresh changes nothing.
    expect(out.changed).toEqual([
      { cluster: 'alpha', kind: 'Secret', namespace: 'ns', name: 'a-target' },
      { cluster: 'alpha', kind: 'SecretProviderClass', namespace: 'ns', name: 'c' },
    ]);
  });

  it('hands each object to its operator, at most `concurrency` at a time, and keeps the input order', async () => {
    let running = 0;
    let peak = 0;
    const slow: Operator = {
      id: 'eso',
      resolve: async () => [],
      refresh: async (_c, d) => {
        running++;
        peak = Math.max(peak, running);
        await settle();
        running--;
        return {
          result: [
            {
              status: 'refreshed',
              cluster: d.cluster,
              operator: 'eso',
              kind: d.kind,
              namespace: d.namespace,
              name: d.name,
              targetSecret: d.name,
              secretChanged: true,
              ms: 10,
            },
          ],
        };
      },
      affects: (d, results) => refreshedTargets(d.cluster, results ?? []),
    };
    const items = ['a', 'b', 'c', 'd', 'e'].map((n) => derived('eso', n));

    const out = await refreshDerived(client, items, { timeoutMs: 1_000, concurrency: 2, operators: [slow] });

    expect(peak).toBe(2);
    expect(out.results.map((r) => r.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(out.changed.map((c) => c.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('resolveDerived', () => {
  it('asks every registered operator and concatenates what they find', async () => {
    const fixed = (id: Operator['id'], found: DerivedObject[]): Operator => ({
      id,
      resolve: async () => found,
      refresh: async () => ({ result: [] }),
      affects: () => [],
    });

    const found = await resolveDerived(client, ref, {
      operators: [fixed('eso', [derived('eso', 'x')]), fixed('csi', [derived('csi', 'y')])],
    });

    expect(found.map((d) => d.name)).toEqual(['x', 'y']);
  });
});
