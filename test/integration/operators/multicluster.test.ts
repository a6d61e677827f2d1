import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterConfigSchema } from '../../../lib/config.js';
import { ClusterRegistry } from '../../../lib/kube/cluster.js';
import { forEachCluster } from '../../../lib/kube/fanout.js';
import { refreshDerived, resolveDerived } from '../../../lib/kube/operators/index.js';
import { SecretRefSchema } from '../../../lib/secret-ref.js';
import { kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { type EsoStandin, startEsoStandin } from '../../standins/eso-standin.js';
import {
  create,
  eventually,
  manifest,
  namespace,
  resolveOptions,
  secretValue,
  setKeyVaultSecret,
} from './support.js';

const env = testEnv();
const [alpha, beta] = env.clusters as [(typeof env.clusters)[0], (typeof env.clusters)[0]];
const namespaces = new Map<string, string>();
const standins: EsoStandin[] = [];

/** A kubeconfig whose server is a loopback port nothing listens on. */
function unreachableKubeconfig(): string {
  return alpha.rotorKubeconfig.replace(alpha.server, 'https://127.0.0.1:1');
}

beforeAll(async () => {
  for (const c of [alpha, beta]) {
    const admin = kubeClient(c, 'admin');
    const ns = await namespace(admin, `multi-${c.name}`);
    namespaces.set(c.name, ns);
    const store = manifest('secretstore-azurekv.yaml', 'azure-store', ns);
    (store.spec as { provider: { azurekv: { vaultUrl: string } } }).provider.azurekv.vaultUrl =
      env.lowkey.vaultUrl;
    await create(admin, store);
    standins.push(
      await startEsoStandin({
        kubeconfig: c.adminKubeconfig,
        keyVault: { caPem: env.lowkey.caPem },
        namespaces: [ns],
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all(standins.map((s) => s.stop()));
});

function registry(withUnreachable: boolean): ClusterRegistry {
  const configs = [
    { name: alpha.name, kubeconfigYaml: alpha.rotorKubeconfig },
    { name: beta.name, kubeconfigYaml: beta.rotorKubeconfig },
    ...(withUnreachable ? [{ name: 'gone', kubeconfigYaml: unreachableKubeconfig() }] : []),
  ];
  return new ClusterRegistry(configs.map((c) => ClusterConfigSchema.parse(c)));
}

describe('multi-cluster fan-out', () => {
  it('refreshes the derived objects of every cluster; the changed Secrets name their cluster', async () => {
    const secret = uniqueName('kv-multi');
    const name = uniqueName('es');
    await setKeyVaultSecret(env, secret, 'v1');
    for (const c of [alpha, beta]) {
      const es = manifest('externalsecret-data.yaml', name, namespaces.get(c.name));
      const spec = es.spec as { data: Array<{ remoteRef: { key: string } }>; target: { name: string } };
      spec.data[0]!.remoteRef.key = secret;
      spec.target.name = name;
      await create(kubeClient(c, 'admin'), es);
      await eventually(
        () => secretValue(kubeClient(c, 'admin'), namespaces.get(c.name) as string, name, 'password'),
        (v) => v === 'v1',
        `first sync in ${c.name}`,
      );
    }
    await setKeyVaultSecret(env, secret, 'v2');
    const ref = SecretRefSchema.parse({
      backend: 'azure-keyvault',
      vault: env.lowkey.vaultName,
      name: secret,
    });

    const { results, failures } = await forEachCluster(registry(false), async (client) =>
      refreshDerived(client, await resolveDerived(client, ref, resolveOptions(env)), { timeoutMs: 20_000 }),
    );

    expect(failures).toEqual([]);
    expect(results.map((r) => r.cluster).sort()).toEqual([alpha.name, beta.name].sort());
    for (const { cluster, value } of results) {
      expect(value.results).toEqual([
        expect.objectContaining({ status: 'refreshed', cluster, secretChanged: true }),
      ]);
      expect(value.changed).toEqual([{ cluster, kind: 'Secret', namespace: namespaces.get(cluster), name }]);
    }
    for (const c of [alpha, beta])
      expect(
        await secretValue(kubeClient(c, 'admin'), namespaces.get(c.name) as string, name, 'password'),
      ).toBe('v2');
  });

  it('reports an unreachable cluster without delaying the reachable ones', async () => {
    const ref = SecretRefSchema.parse({
      backend: 'azure-keyvault',
      vault: env.lowkey.vaultName,
      name: uniqueName('kv-none'),
    });

    const started = Date.now();
    const { results, failures } = await forEachCluster(
      registry(true),
      (client) => resolveDerived(client, ref, resolveOptions(env)),
      {
        connectTimeoutMs: 2_000,
      },
    );
    const elapsed = Date.now() - started;

    expect(results.map((r) => r.cluster).sort()).toEqual([alpha.name, beta.name].sort());
    expect(failures).toEqual([
      {
        cluster: 'gone',
        error: expect.stringMatching(
          /^cluster gone is unreachable at https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/,
        ),
        // Unreachable is a fault worth a redelivery, not a permanent refusal.
        retryable: true,
      },
    ]);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('bounds a cluster that accepts connections but never answers by the connect timeout', async () => {
    const sockets: net.Socket[] = [];
    const hung = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const port = (hung.address() as net.AddressInfo).port;
    try {
      const configs = [
        { name: alpha.name, kubeconfigYaml: alpha.rotorKubeconfig },
        {
          name: 'hung',
          kubeconfigYaml: alpha.rotorKubeconfig.replace(alpha.server, `https://127.0.0.1:${port}`),
        },
      ].map((c) => ClusterConfigSchema.parse(c));
      const ref = SecretRefSchema.parse({
        backend: 'azure-keyvault',
        vault: env.lowkey.vaultName,
        name: uniqueName('kv-none'),
      });

      const started = Date.now();
      const { results, failures } = await forEachCluster(
        new ClusterRegistry(configs),
        (client) => resolveDerived(client, ref),
        {
          connectTimeoutMs: 1_000,
        },
      );
      const elapsed = Date.now() - started;

      expect(results.map((r) => r.cluster)).toEqual([alpha.name]);
      expect(failures).toEqual([
        {
          cluster: 'hung',
          error: expect.stringMatching(/unreachable .*no answer within 1000 ms/),
          retryable: true,
        },
      ]);
      expect(elapsed).toBeGreaterThanOrEqual(1_000);
      expect(elapsed).toBeLessThan(4_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });
});
