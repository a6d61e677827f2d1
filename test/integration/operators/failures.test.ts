import { KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterClient, clusterClientFromKubeConfig } from '../../../lib/kube/cluster.js';
import { refreshDerived, resolveDerived } from '../../../lib/kube/operators/index.js';
import { SecretRefSchema } from '../../../lib/secret-ref.js';
import { kubeClient, testEnv, uniqueName, vaultClient } from '../../env/index.js';
import { startVsoStandin, type VsoStandin } from '../../standins/vso-standin.js';
import {
  create,
  esoVaultServer,
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
let ns: string;
let other: string;
let operatorNs: string;
let vso: VsoStandin;

beforeAll(async () => {
  admin = kubeClient(cluster, 'admin');
  rotor = kubeClient(cluster, 'rotor');
  ns = await namespace(admin, 'fail');
  other = await namespace(admin, 'fail-other');
  operatorNs = await namespace(admin, 'fail-vso');
  const connection = manifest('vaultconnection.yaml', 'default', operatorNs);
  (connection.spec as { address: string }).address = IN_CLUSTER_VAULT;
  await create(admin, connection);
  await create(admin, manifest('vaultauth.yaml', 'default', operatorNs));
  const addressMap = { [IN_CLUSTER_VAULT]: env.openbao.address };
  vso = await startVsoStandin({
    kubeconfig: cluster.adminKubeconfig,
    vault: { token: env.openbao.rootToken, addressMap },
    operatorNamespace: operatorNs,
    namespaces: [ns],
  });
});

afterAll(async () => {
  await vso?.stop();
});

function vaultRef(path: string) {
  return SecretRefSchema.parse({
    backend: 'vault',
    address: env.openbao.address,
    mount: env.openbao.kvMount,
    path,
  });
}

/**
 * An ExternalSecret reading `path` through a namespaced SecretStore whose token lives in
 * `tokenName`; `controller` hands the store to another ESO instance (one that is down).
 */
async function vaultExternalSecret(
  namespaceName: string,
  name: string,
  path: string,
  tokenName: string,
  controller?: string,
): Promise<void> {
  const store = manifest('secretstore-vault.yaml', `${name}-store`, namespaceName);
  if (controller) (store.spec as { controller?: string }).controller = controller;
  const vault = (
    store.spec as { provider: { vault: { server: string; auth: { tokenSecretRef: { name: string } } } } }
  ).provider.vault;
  vault.server = esoVaultServer(env);
  vault.auth.tokenSecretRef.name = tokenName;
  await create(admin, store);
  const es = manifest('externalsecret-extract.yaml', name, namespaceName);
  const spec = es.spec as {
    secretStoreRef: { kind: string; name: string };
    target: { name: string };
    dataFrom: Array<{ extract: { key: string } }>;
  };
  spec.secretStoreRef = { kind: 'SecretStore', name: `${name}-store` };
  spec.target.name = name;
  spec.dataFrom[0]!.extract.key = path;
  await create(admin, es);
}

describe('refresh failures carry the reason', () => {
  it('surfaces the backend error ESO reports (Warning Event) when the forced sync fails', async () => {
    const path = `apps/${uniqueName('denied')}`;
    const name = uniqueName('es');
    const token = uniqueName('token');
    await writeVault(env, path, { password: 'one' });
    // A token that stays valid while its policy loses the path. The real ESO v0.16.2 mostly
    // reports the backend's 403 from the sync itself; once in two fresh-clone runs (and with a
    // revoked token before) it reported "SecretStore ... is not ready" instead, its store
    // having turned not ready (cause in ESO not established: its validation only looks the
    // token up). Either way the reason must be the last Warning event ESO recorded.
    const policy = uniqueName('es-read');
    const bao = vaultClient();
    const grant = (capabilities: string) =>
      bao.write(`sys/policies/acl/${policy}`, {
        policy: `path "${env.openbao.kvMount}/data/${path}" { capabilities = [${capabilities}] }`,
      });
    await grant('"read"');
    const created = (await bao.write('auth/token/create', { policies: [policy], ttl: '1h' })) as {
      auth: { client_token: string };
    };
    await tokenSecret(admin, ns, token, created.auth.client_token);
    await vaultExternalSecret(ns, name, path, token);
    await eventually(
      () => secretValue(admin, ns, name, 'password'),
      (v) => v === 'one',
      'first sync',
    );
    await grant('"deny"');
    await writeVault(env, path, { password: 'two' });

    const derived = (await resolveDerived(rotor, vaultRef(path), resolveOptions(env))).filter(
      (d) => d.namespace === ns,
    );
    const { results, changed } = await refreshDerived(rotor, derived, { timeoutMs: 20_000 });

    expect(results).toEqual([
      expect.objectContaining({
        status: 'failed',
        name,
        error: {
          code: 'sync_failed',
          message: expect.stringMatching(/UpdateFailed: [\s\S]*(permission denied|is not ready)/),
          retryable: false,
        },
      }),
    ]);
    expect(changed).toEqual([]);
    expect(await secretValue(admin, ns, name, 'password')).toBe('one');
  });

  it('an ExternalSecret that keeps failing: reports the known failure with its last reason at once, not after the timeout', async () => {
    const path = `apps/${uniqueName('absent')}`;
    const name = uniqueName('es');
    const token = uniqueName('token');
    await tokenSecret(admin, ns, token, env.openbao.rootToken);
    await vaultExternalSecret(ns, name, path, token);
    const es = {
      group: 'external-secrets.io',
      version: 'v1',
      plural: 'externalsecrets',
      namespace: ns,
      name,
    };
    type Es = { status?: { conditions?: Array<{ type: string; status: string }> } };
    await eventually(
      async () => (await admin.custom.getNamespacedCustomObject(es)) as Es,
      (o) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False') ?? false,
      'the first failure',
    );
    // Forced again and again, ESO fails the same way: no new status, and once client-go's
    // spam filter has spent its ~25 events for the object, no new event either.
    const warnings = async () =>
      (
        await admin.core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: `involvedObject.name=${name},type=Warning`,
        })
      ).items.reduce((n, e) => n + (e.count ?? 1), 0);
    for (let i = 0; i < 30; i++) {
      await admin.custom.patchNamespacedCustomObject(
        { ...es, body: { metadata: { annotations: { 'force-sync': `spend-${i}` } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await new Promise((r) => setTimeout(r, 40));
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const spent = await warnings();

    const derived = (await resolveDerived(rotor, vaultRef(path), resolveOptions(env))).filter(
      (d) => d.namespace === ns,
    );
    const started = Date.now();
    const { results } = await refreshDerived(rotor, derived, { timeoutMs: 30_000 });
    const elapsed = Date.now() - started;

    expect(await warnings()).toBe(spent); // the operator really said nothing new
    expect(results).toEqual([
      expect.objectContaining({
        status: 'failed',
        name,
        error: {
          code: 'sync_failed',
          message: expect.stringMatching(
            /still failing after the force.*Ready=False SecretSyncedError: could not get secret data from provider; last event \(before the force\) UpdateFailed: /,
          ),
          retryable: false,
        },
      }),
    ]);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('surfaces VSO reason and message when the forced read fails', async () => {
    const path = `apps/${uniqueName('gone')}`;
    const name = uniqueName('vss');
    await writeVault(env, path, { password: 'one' });
    const vss = manifest('vaultstaticsecret.yaml', name, ns);
    const spec = vss.spec as {
      path: string;
      mount: string;
      destination: { name: string };
      vaultAuthRef?: string;
    };
    Object.assign(spec, { path, mount: env.openbao.kvMount, destination: { name, create: true } });
    delete spec.vaultAuthRef;
    await create(admin, vss);
    await eventually(
      () => secretValue(admin, ns, name, 'password'),
      (v) => v === 'one',
      'first sync',
    );
    await vaultClient(env).delete(`${env.openbao.kvMount}/metadata/${path}`);

    const derived = await resolveDerived(
      rotor,
      vaultRef(path),
      resolveOptions(env, { vsoOperatorNamespace: operatorNs }),
    );
    const { results } = await refreshDerived(rotor, derived, { timeoutMs: 20_000 });

    expect(results).toEqual([
      expect.objectContaining({
        status: 'failed',
        operator: 'vso',
        name,
        error: {
          code: 'sync_failed',
          message: expect.stringMatching(/VaultClientError.*Failed to read Vault secret/),
          retryable: false,
        },
      }),
    ]);
  });

  it('gives up after the timeout when no operator acts, naming the last state seen', async () => {
    const path = `apps/${uniqueName('idle')}`;
    const name = uniqueName('es');
    await vaultExternalSecret(other, name, path, 'no-token', 'eso-that-is-down');
    const derived = (await resolveDerived(rotor, vaultRef(path), resolveOptions(env))).filter(
      (d) => d.namespace === other,
    );

    const started = Date.now();
    const { results } = await refreshDerived(rotor, derived, { timeoutMs: 1_500 });
    const elapsed = Date.now() - started;

    expect(results).toEqual([
      expect.objectContaining({
        status: 'failed',
        name,
        error: {
          code: 'timeout',
          message: expect.stringMatching(
            /^timeout: ExternalSecret .* within 1\.5 s \(no Ready condition yet\)/,
          ),
          retryable: true,
        },
      }),
    ]);
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    expect(elapsed).toBeLessThan(6_000);
  });

  it('reports forbidden, with the verb to grant, when the identity may not patch', async () => {
    const path = `apps/${uniqueName('ro')}`;
    const name = uniqueName('es');
    await vaultExternalSecret(other, name, path, 'no-token');
    const user = uniqueName('read-only');
    await create(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: user, namespace: other },
      rules: [
        {
          apiGroups: ['external-secrets.io'],
          resources: ['externalsecrets'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: [''], resources: ['secrets', 'events'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    await create(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: user, namespace: other },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    });
    const kc = new KubeConfig();
    kc.loadFromString(cluster.adminKubeconfig);
    kc.loadFromOptions({
      clusters: kc.clusters,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
      users: kc.users.map((u) => ({ ...u, impersonateUser: user })),
    });
    const readOnly = clusterClientFromKubeConfig(cluster.name, kc);
    const derived = (await resolveDerived(rotor, vaultRef(path), resolveOptions(env))).filter(
      (d) => d.namespace === other,
    );

    const { results } = await refreshDerived(readOnly, derived, { timeoutMs: 5_000 });

    expect(results).toEqual([
      expect.objectContaining({
        status: 'failed',
        name,
        error: {
          code: 'forbidden',
          message: expect.stringMatching(
            /^forbidden: patch externalsecrets\.external-secrets\.io .*cannot patch resource.*infra\/k8s\/rbac\.yaml/,
          ),
          retryable: false,
        },
      }),
    ]);
  });
});
