import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { refreshDerived, resolveDerived } from '../../../lib/kube/operators/index.js';
import { SecretRefSchema } from '../../../lib/secret-ref.js';
import { kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { type EsoStandin, startEsoStandin } from '../../standins/eso-standin.js';
import {
  create,
  esoVaultServer,
  eventually,
  manifest,
  namespace,
  resolveOptions,
  secretValue,
  setKeyVaultSecret,
  tokenSecret,
  writeVault,
} from './support.js';

const env = testEnv();
const cluster = env.clusters[0]!;
let admin: ClusterClient;
let rotor: ClusterClient;
let ns: string;
let standin: EsoStandin;

const ES = { group: 'external-secrets.io', version: 'v1', plural: 'externalsecrets' };

beforeAll(async () => {
  admin = kubeClient(cluster, 'admin');
  rotor = kubeClient(cluster, 'rotor');
  ns = await namespace(admin, 'eso');
  await create(admin, manifest('secretstore-azurekv.yaml', 'azure-store', ns));
  await admin.custom.patchNamespacedCustomObject(
    {
      ...ES,
      plural: 'secretstores',
      namespace: ns,
      name: 'azure-store',
      body: { spec: { provider: { azurekv: { vaultUrl: env.lowkey.vaultUrl } } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  // Key Vault needs Entra ID: the stand-in serves the azurekv store; the real ESO the rest.
  standin = await startEsoStandin({
    kubeconfig: cluster.adminKubeconfig,
    keyVault: { caPem: env.lowkey.caPem },
    namespaces: [ns],
  });
});

afterAll(async () => {
  await standin?.stop();
});

function kvRef(name: string) {
  return SecretRefSchema.parse({ backend: 'azure-keyvault', vault: env.lowkey.vaultName, name });
}

async function externalSecret(
  file: string,
  name: string,
  key: string,
  edit: (spec: Record<string, unknown>) => void = () => {},
) {
  const es = manifest(file, name, ns);
  const spec = es.spec as { data: Array<{ remoteRef: { key: string } }>; target: { name: string } };
  spec.data[0]!.remoteRef.key = key;
  spec.target.name = name;
  edit(es.spec as Record<string, unknown>);
  await create(admin, es);
}

describe('ESO: Key Vault change → force → target Secret updated', () => {
  it('resolves the ExternalSecret that reads the secret, through its SecretStore, with the target Secret', async () => {
    const secret = uniqueName('kv-resolve');
    await setKeyVaultSecret(env, secret, 'v1');
    await externalSecret('externalsecret-data.yaml', uniqueName('es'), `secret/${secret}`);

    const derived = (await resolveDerived(rotor, kvRef(secret), resolveOptions(env))).filter(
      (d) => d.namespace === ns,
    );

    expect(derived).toHaveLength(1);
    expect(derived[0]).toMatchObject({
      operator: 'eso',
      kind: 'ExternalSecret',
      forceable: true,
      warnings: [],
    });
    expect(derived[0]?.targetSecret).toBe(derived[0]?.name);
  });

  it('forces the sync, waits for it, and hands the changed target Secret on', async () => {
    const secret = uniqueName('kv-rotate');
    const name = uniqueName('es');
    await setKeyVaultSecret(env, secret, 'old-value');
    await externalSecret('externalsecret-data.yaml', name, secret);
    await eventually(
      () => secretValue(admin, ns, name, 'password'),
      (v) => v === 'old-value',
      'first sync',
    );
    await setKeyVaultSecret(env, secret, 'new-value');

    const derived = await resolveDerived(rotor, kvRef(secret), resolveOptions(env));
    const { results, changed } = await refreshDerived(rotor, derived, { timeoutMs: 20_000 });

    expect(results).toEqual([
      expect.objectContaining({
        status: 'refreshed',
        namespace: ns,
        name,
        targetSecret: name,
        secretChanged: true,
      }),
    ]);
    // syncedAt: when the sync was seen done; the restart reuses the read made then.
    expect(changed).toEqual([
      { cluster: cluster.name, kind: 'Secret', namespace: ns, name, syncedAt: expect.any(Number) },
    ]);
    expect(await secretValue(admin, ns, name, 'password')).toBe('new-value');
    const target = await admin.core.readNamespacedSecret({ namespace: ns, name });
    expect(target.metadata?.labels?.['reconcile.external-secrets.io/managed']).toBe('true');
    expect(target.metadata?.annotations?.['reconcile.external-secrets.io/data-hash']).toMatch(
      /^[0-9a-f]{56}$/,
    );
    const es = (await admin.custom.getNamespacedCustomObject({ ...ES, namespace: ns, name })) as {
      metadata: { annotations: Record<string, string> };
    };
    expect(es.metadata.annotations['force-sync']).toBeTruthy();
  });

  it('reports an unchanged value as unchanged although ESO rewrote the Secret with the force-sync annotation', async () => {
    const secret = uniqueName('kv-same');
    const name = uniqueName('es');
    await setKeyVaultSecret(env, secret, 'same');
    await externalSecret('externalsecret-data.yaml', name, secret);
    const before = await eventually(
      () => admin.core.readNamespacedSecret({ namespace: ns, name }),
      (s) => Boolean(s.data),
      'first sync',
    );

    const derived = await resolveDerived(rotor, kvRef(secret), resolveOptions(env));
    const { results, changed } = await refreshDerived(rotor, derived, { timeoutMs: 20_000 });

    expect(results).toEqual([expect.objectContaining({ status: 'refreshed', secretChanged: false })]);
    // Still handed to the restart engine: the operator's own poll may have synced it before
    // the force, with consumers not restarted yet; the restart hash makes it a no-op if they are.
    // syncedAt: when the sync was seen done; the restart reuses the read made then.
    expect(changed).toEqual([
      { cluster: cluster.name, kind: 'Secret', namespace: ns, name, syncedAt: expect.any(Number) },
    ]);
    // ESO copies the ExternalSecret's annotations to the Secret and rewrites it on every
    // forced sync: "changed" is decided by data, never by resourceVersion.
    const es = (await admin.custom.getNamespacedCustomObject({ ...ES, namespace: ns, name })) as {
      metadata: { annotations: Record<string, string> };
    };
    const after = await eventually(
      () => admin.core.readNamespacedSecret({ namespace: ns, name }),
      (s) => s.metadata?.annotations?.['force-sync'] === es.metadata.annotations['force-sync'],
      "the Secret rewritten with the ExternalSecret's force-sync annotation",
    );
    expect(after.metadata?.resourceVersion).not.toBe(before.metadata?.resourceVersion);
    expect(after.data).toEqual(before.data);
  });
});

describe('ESO (the real controller): Vault through a ClusterSecretStore', () => {
  it('matches the store, forces dataFrom.extract and updates every field', async () => {
    const path = `apps/${uniqueName('cfg')}`;
    const store = uniqueName('vault-css');
    const name = uniqueName('es');
    await writeVault(env, path, { user: 'app', password: 'one' });
    await tokenSecret(admin, ns, 'vault-token', env.openbao.rootToken);
    const css = manifest('clustersecretstore-vault.yaml', store);
    const vault = (
      css.spec as { provider: { vault: { server: string; auth: { tokenSecretRef: { namespace: string } } } } }
    ).provider.vault;
    vault.server = esoVaultServer(env);
    vault.auth.tokenSecretRef.namespace = ns;
    await create(admin, css);
    const es = manifest('externalsecret-extract.yaml', name, ns);
    const spec = es.spec as {
      secretStoreRef: { name: string };
      target: { name: string };
      dataFrom: Array<{ extract: { key: string } }>;
    };
    spec.secretStoreRef.name = store;
    spec.target.name = name;
    spec.dataFrom[0]!.extract.key = path;
    await create(admin, es);
    await eventually(
      () => secretValue(admin, ns, name, 'password'),
      (v) => v === 'one',
      'first sync',
    );
    // The real ESO retried while its ClusterSecretStore was being validated: let it settle
    // (Ready True recorded) so the change below is seen by the force, not by a late retry.
    type Status = { status?: { conditions?: Array<{ type: string; status: string }> } };
    await eventually(
      async () => (await admin.custom.getNamespacedCustomObject({ ...ES, namespace: ns, name })) as Status,
      (o) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      'Ready',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    await writeVault(env, path, { user: 'app', password: 'two' });

    const ref = SecretRefSchema.parse({
      backend: 'vault',
      address: env.openbao.address,
      mount: env.openbao.kvMount,
      path,
    });
    const derived = (await resolveDerived(rotor, ref, resolveOptions(env))).filter((d) => d.namespace === ns);
    const { results, changed } = await refreshDerived(rotor, derived, { timeoutMs: 20_000 });

    expect(derived.map((d) => d.name)).toEqual([name]);
    expect(results).toEqual([expect.objectContaining({ status: 'refreshed', secretChanged: true })]);
    expect(changed).toHaveLength(1);
    expect(await secretValue(admin, ns, name, 'password')).toBe('two');
    expect(await secretValue(admin, ns, name, 'user')).toBe('app');
  });
});

describe('ESO refreshInterval 0 trap', () => {
  it('is reported as not forceable with the fix, and really is ignored by the operator after the first sync', async () => {
    const secret = uniqueName('kv-trap');
    const trapped = uniqueName('es-zero');
    const control = uniqueName('es-hourly');
    await setKeyVaultSecret(env, secret, 'first');
    await externalSecret('externalsecret-refresh-zero.yaml', trapped, secret);
    await externalSecret('externalsecret-data.yaml', control, secret);
    await eventually(
      () => secretValue(admin, ns, trapped, 'token'),
      (v) => v === 'first',
      'first sync (interval 0)',
    );
    await eventually(
      () => secretValue(admin, ns, control, 'password'),
      (v) => v === 'first',
      'first sync (1h)',
    );
    await setKeyVaultSecret(env, secret, 'second');

    const derived = await resolveDerived(rotor, kvRef(secret), resolveOptions(env));
    const zero = derived.find((d) => d.name === trapped);
    const { results } = await refreshDerived(rotor, derived, { timeoutMs: 20_000 });

    expect(zero).toMatchObject({ forceable: false, fix: expect.stringMatching(/refreshInterval 0/) });
    expect(results.find((r) => r.name === trapped)).toMatchObject({
      status: 'not-forceable',
      fix: expect.stringMatching(/non-zero/),
    });
    expect(results.find((r) => r.name === control)).toMatchObject({
      status: 'refreshed',
      secretChanged: true,
    });
    // What rotor predicted: the operator ignores a force-sync annotation on the trapped
    // one, while the same annotation on the control makes it sync again.
    type Es = { status?: { syncedResourceVersion?: string } };
    const read = (name: string) =>
      admin.custom.getNamespacedCustomObject({ ...ES, namespace: ns, name }) as Promise<Es>;
    const trappedBefore = (await read(trapped)).status?.syncedResourceVersion;
    const controlBefore = (await read(control)).status?.syncedResourceVersion;
    for (const name of [trapped, control]) {
      await admin.custom.patchNamespacedCustomObject(
        { ...ES, namespace: ns, name, body: { metadata: { annotations: { 'force-sync': 'by-hand' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
    await eventually(
      () => read(control),
      (es) => es.status?.syncedResourceVersion !== controlBefore,
      'the control to sync again',
    );
    expect((await read(trapped)).status?.syncedResourceVersion).toBe(trappedBefore);
    expect(await secretValue(admin, ns, trapped, 'token')).toBe('first');
  });
});
