import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/clock.js';
import { ClusterPorts } from '../../lib/cluster-ports.js';
import { parseConfig } from '../../lib/config.js';
import type { ClusterClient } from '../../lib/kube/cluster.js';
import { SecretRefSchema } from '../../lib/secret-ref.js';
import { createLogger } from '../../lib/telemetry.js';

/** A client whose lists answer empty and are counted; its watches go nowhere (a closed port). */
function fakeClient(lists: string[], label: string): ClusterClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: label }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  const list = async (q: { plural: string }) => {
    lists.push(`${label} ${q.plural}`);
    return { items: [], metadata: { resourceVersion: '1' } };
  };
  return {
    name: 'alpha',
    kc,
    custom: { listClusterCustomObject: list, listNamespacedCustomObject: list },
  } as unknown as ClusterClient;
}

const ref = SecretRefSchema.parse({ backend: 'azure-keyvault', vault: 'kv', name: 'db' });
let ports: ClusterPorts | undefined;

afterEach(async () => {
  await ports?.close();
});

describe('the cluster ports’ object cache', () => {
  it('is started once per cluster and kept: the registry keeps one client per cluster (an AKS token is renewed in place)', async () => {
    const lists: string[] = [];
    const client = fakeClient(lists, 'first');
    ports = new ClusterPorts({
      clusters: { names: () => ['alpha'], get: async () => client },
      config: parseConfig({ keyVaults: [{ name: 'kv' }] }),
      clock: systemClock,
      log: createLogger('error', () => undefined),
    });

    await ports.resolve('alpha', ref);
    const firstLists = lists.length;
    await ports.resolve('alpha', ref);
    await ports.resolve('alpha', ref);

    expect(firstLists).toBeGreaterThan(0);
    expect(lists.length).toBe(firstLists);
  });
});
