import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { refreshDerived, resolveDerived } from '../../../lib/kube/operators/index.js';
import { SecretRefSchema } from '../../../lib/secret-ref.js';
import { STANDIN_CONTROLLER_CLASS } from '../../env/eso.js';
import { kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { type EsoStandin, startEsoStandin } from '../../standins/eso-standin.js';
import {
  create,
  eventually,
  IN_CLUSTER_VAULT,
  manifest,
  namespace,
  resolveOptions,
  secretValue,
  tokenSecret,
  writeVault,
} from './support.js';

const env = testEnv();
const cluster = env.clusters[0]!;
let admin: ClusterClient;
let rotor: ClusterClient;
let namespaces: string[];
let standin: EsoStandin;
const label = uniqueName('shared');

beforeAll(async () => {
  admin = kubeClient(cluster, 'admin');
  rotor = kubeClient(cluster, 'rotor');
  namespaces = [
    await namespace(admin, 'ces-a', { [label]: 'true' }),
    await namespace(admin, 'ces-b', { [label]: 'true' }),
  ];
  standin = await startEsoStandin({
    kubeconfig: cluster.adminKubeconfig,
    vault: { token: '', addressMap: { [IN_CLUSTER_VAULT]: env.openbao.address } },
    namespaces,
  });
});

afterAll(async () => {
  await standin?.stop();
});

describe('ESO ClusterExternalSecret', () => {
  it('is forced through external-secrets.io/force-sync, which reaches every provisioned ExternalSecret', async () => {
    const path = `shared/${uniqueName('cfg')}`;
    const store = uniqueName('css');
    const ces = uniqueName('ces');
    await writeVault(env, path, { url: 'https://one.example' });
    await tokenSecret(admin, namespaces[0] as string, 'vault-token', env.openbao.rootToken);
    const css = manifest('clustersecretstore-vault.yaml', store);
    const vault = (
      css.spec as { provider: { vault: { server: string; auth: { tokenSecretRef: { namespace: string } } } } }
    ).provider.vault;
    vault.server = IN_CLUSTER_VAULT;
    vault.auth.tokenSecretRef.namespace = namespaces[0] as string;
    // ESO v0.16.2, the real one the test clusters run, copies only spec.externalSecretMetadata
    // to the ExternalSecrets a ClusterExternalSecret provisions, not its own force-sync
    // annotation as ESO 2.x does (test/env/eso.ts): the stand-in, following 2.x, serves this.
    (css.spec as { controller?: string }).controller = STANDIN_CONTROLLER_CLASS;
    await create(admin, css);
    const obj = manifest('clusterexternalsecret.yaml', ces);
    const spec = obj.spec as {
      externalSecretName: string;
      namespaceSelectors: Array<{ matchLabels: Record<string, string> }>;
      externalSecretSpec: {
        secretStoreRef: { name: string };
        target: { name: string };
        dataFrom: Array<{ extract: { key: string } }>;
      };
    };
    spec.externalSecretName = ces;
    spec.namespaceSelectors = [{ matchLabels: { [label]: 'true' } }];
    spec.externalSecretSpec.secretStoreRef.name = store;
    spec.externalSecretSpec.target.name = ces;
    spec.externalSecretSpec.dataFrom[0]!.extract.key = path;
    await create(admin, obj);
    for (const ns of namespaces)
      await eventually(
        () => secretValue(admin, ns, ces, 'url'),
        (v) => v === 'https://one.example',
        `first sync in ${ns}`,
      );
    await writeVault(env, path, { url: 'https://two.example' });

    const ref = SecretRefSchema.parse({
      backend: 'vault',
      address: env.openbao.address,
      mount: env.openbao.kvMount,
      path,
    });
    const derived = await resolveDerived(rotor, ref, resolveOptions(env));
    const { results, changed } = await refreshDerived(rotor, derived, { timeoutMs: 20_000 });

    expect(derived).toEqual([
      expect.objectContaining({
        kind: 'ClusterExternalSecret',
        name: ces,
        namespace: '',
        forceable: true,
        children: expect.arrayContaining(
          namespaces.map((ns) => ({ namespace: ns, name: ces, targetSecret: ces })),
        ),
      }),
    ]);
    expect(results).toHaveLength(2);
    for (const r of results)
      expect(r, JSON.stringify(r)).toMatchObject({
        status: 'refreshed',
        kind: 'ExternalSecret',
        name: ces,
        secretChanged: true,
      });
    expect(changed.map((c) => c.namespace).sort()).toEqual([...namespaces].sort());
    for (const ns of namespaces) {
      expect(await secretValue(admin, ns, ces, 'url')).toBe('https://two.example');
      const child = (await admin.custom.getNamespacedCustomObject({
        group: 'external-secrets.io',
        version: 'v1',
        plural: 'externalsecrets',
        namespace: ns,
        name: ces,
      })) as {
        metadata: { annotations: Record<string, string> };
      };
      expect(child.metadata.annotations['external-secrets.io/force-sync']).toBeTruthy();
      expect(child.metadata.annotations['force-sync']).toBeUndefined();
    }
  });
});
