import {
  type ApiConstructor,
  ApiException,
  type ApiType,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeCluster, startKubeCluster } from '../../env/kube.js';

function client<T extends ApiType>(
  cluster: KubeCluster,
  identity: 'admin' | 'rotor',
  api: ApiConstructor<T>,
): T {
  const kc = new KubeConfig();
  kc.loadFromString(cluster.kubeconfigYaml(identity));
  return kc.makeApiClient(api);
}

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

function externalSecret(name: string, refreshPolicy: string) {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace: 'default' },
    spec: {
      refreshInterval: '1h',
      refreshPolicy,
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
      target: { name: `${name}-secret` },
      data: [{ secretKey: 'password', remoteRef: { key: 'db/password' } }],
    },
  };
}

describe('test kube-apiserver', () => {
  let cluster: KubeCluster;

  beforeAll(async () => {
    cluster = await startKubeCluster({ name: 'env-test' });
  }, 1_800_000); // a cold build of the apiserver takes many minutes on 2 cores

  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves ExternalSecret v1 with the upstream schema (valid accepted, invalid enum rejected with 422)', async () => {
    const custom = client(cluster, 'admin', CustomObjectsApi);
    const target = {
      group: 'external-secrets.io',
      version: 'v1',
      namespace: 'default',
      plural: 'externalsecrets',
    };

    const created = await custom.createNamespacedCustomObject({
      ...target,
      body: externalSecret('db', 'Periodic'),
    });
    expect(created.metadata.name).toBe('db');

    expect(
      await statusOf(
        custom.createNamespacedCustomObject({ ...target, body: externalSecret('bad', 'Bogus') }),
      ),
    ).toBe(422);
  });

  it('serves VaultStaticSecret v1beta1', async () => {
    const custom = client(cluster, 'admin', CustomObjectsApi);
    const created = await custom.createNamespacedCustomObject({
      group: 'secrets.hashicorp.com',
      version: 'v1beta1',
      namespace: 'default',
      plural: 'vaultstaticsecrets',
      body: {
        apiVersion: 'secrets.hashicorp.com/v1beta1',
        kind: 'VaultStaticSecret',
        metadata: { name: 'app', namespace: 'default' },
        spec: {
          mount: 'kv',
          path: 'app/config',
          type: 'kv-v2',
          destination: { name: 'app-config', create: true },
        },
      },
    });
    expect(created.spec.type).toBe('kv-v2');
  });

  it('restricts the rotor identity: may list deployments, may not create namespaces (403)', async () => {
    const apps = client(cluster, 'rotor', AppsV1Api);
    const list = await apps.listNamespacedDeployment({ namespace: 'default' });
    expect(list.items).toEqual([]);

    const core = client(cluster, 'rotor', CoreV1Api);
    expect(await statusOf(core.createNamespace({ body: { metadata: { name: 'not-allowed' } } }))).toBe(403);

    const adminCore = client(cluster, 'admin', CoreV1Api);
    const ns = await adminCore.createNamespace({ body: { metadata: { name: 'allowed-for-admin' } } });
    expect(ns.metadata?.name).toBe('allowed-for-admin');
  });
});
