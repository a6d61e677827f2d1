/**
 * The ESO stand-in (kept for Azure Key Vault, whose provider needs Entra ID) reproduces
 * what the real ESO was observed to do (REFERENCE.md 2a): one test per behaviour, so a
 * divergence from ESO_BEHAVIOUR shows here.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { CoreV1Event } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { STANDIN_CONTROLLER_CLASS } from '../../env/eso.js';
import { kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { ESO_BEHAVIOUR, type EsoStandin, startEsoStandin } from '../../standins/eso-standin.js';
import { create, eventually, manifest, namespace, setKeyVaultSecret } from '../operators/support.js';

const env = testEnv();
const cluster = env.clusters[0]!;
let admin: ClusterClient;
let ns: string;
let standin: EsoStandin;
const ES = { group: 'external-secrets.io', version: 'v1', plural: 'externalsecrets' };

interface Es {
  metadata: { resourceVersion: string; finalizers?: string[] };
  status?: {
    syncedResourceVersion?: string;
    refreshTime?: string | null;
    binding?: { name?: string };
    conditions?: Array<{
      type: string;
      status: string;
      reason: string;
      message: string;
      lastTransitionTime: string;
    }>;
  };
}

beforeAll(async () => {
  admin = kubeClient(cluster, 'admin');
  ns = await namespace(admin, 'eso-standin');
  await azureStore('azure-store', ns);
  standin = await startEsoStandin({
    kubeconfig: cluster.adminKubeconfig,
    keyVault: { caPem: env.lowkey.caPem },
    namespaces: [ns],
  });
});

afterAll(async () => {
  await standin?.stop();
});

async function externalSecret(
  name: string,
  key: string,
  inNamespace = ns,
  refresh: { refreshInterval?: string; refreshPolicy?: string } = {},
): Promise<void> {
  const es = manifest('externalsecret-data.yaml', name, inNamespace);
  es.metadata = { ...es.metadata, labels: { team: 'web' }, annotations: { owner: 'alice' } };
  const spec = es.spec as { data: Array<{ remoteRef: { key: string } }>; target: { name: string } };
  spec.data[0]!.remoteRef.key = key;
  spec.target.name = name;
  Object.assign(spec, refresh);
  await create(admin, es);
}

const read = async (name: string, inNamespace = ns) =>
  (await admin.custom.getNamespacedCustomObject({ ...ES, namespace: inNamespace, name })) as Es;
const readyOf = (es: Es) => es.status?.conditions?.find((c) => c.type === 'Ready');
/** The ExternalSecret once its resourceVersion has not changed for 600 ms. */
async function settled(name: string): Promise<Es> {
  let last = await read(name);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 600));
    const now = await read(name);
    if (now.metadata.resourceVersion === last.metadata.resourceVersion) return now;
    last = now;
  }
}

async function events(name: string, inNamespace = ns): Promise<CoreV1Event[]> {
  return (
    await admin.core.listNamespacedEvent({
      namespace: inNamespace,
      fieldSelector: `involvedObject.name=${name}`,
    })
  ).items;
}

/** A Key Vault SecretStore of the stand-in's class. */
async function azureStore(name: string, inNamespace: string): Promise<void> {
  const store = manifest('secretstore-azurekv.yaml', name, inNamespace);
  (store.spec as { provider: { azurekv: { vaultUrl: string } } }).provider.azurekv.vaultUrl =
    env.lowkey.vaultUrl;
  await create(admin, store);
}

async function force(name: string, value: string): Promise<Es> {
  return (await admin.custom.patchNamespacedCustomObject(
    { ...ES, namespace: ns, name, body: { metadata: { annotations: { 'force-sync': value } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  )) as Es;
}

describe('ESO stand-in (ESO_BEHAVIOUR)', () => {
  it('adds its finalizer, reports Ready SecretSynced "secret synced" and a Normal Created event', async () => {
    const name = uniqueName('es');
    const secret = uniqueName('kv');
    await setKeyVaultSecret(env, secret, 'v1');
    await externalSecret(name, secret);

    const es = await eventually(
      () => read(name),
      (e) => readyOf(e)?.status === 'True',
      'first sync',
    );

    expect(es.metadata.finalizers).toContain(ESO_BEHAVIOUR.finalizer);
    expect(readyOf(es)).toMatchObject({ reason: 'SecretSynced', message: 'secret synced' });
    expect((await events(name)).map((e) => [e.type, e.reason, e.message])).toContainEqual([
      'Normal',
      'Created',
      'secret created',
    ]);
  });

  it('copies its labels and annotations (force-sync too) to the Secret and rewrites it on a forced sync of unchanged data', async () => {
    const name = uniqueName('es');
    const secret = uniqueName('kv');
    await setKeyVaultSecret(env, secret, 'same');
    await externalSecret(name, secret);
    const before = await eventually(
      () => admin.core.readNamespacedSecret({ namespace: ns, name }),
      (s) => Boolean(s.data),
      'first sync',
    );

    await force(name, 'one');
    const after = await eventually(
      () => admin.core.readNamespacedSecret({ namespace: ns, name }),
      (s) => s.metadata?.annotations?.['force-sync'] === 'one',
      'the forced rewrite',
    );

    expect(after.data).toEqual(before.data);
    expect(after.metadata?.resourceVersion).not.toBe(before.metadata?.resourceVersion);
    expect(after.metadata?.labels).toMatchObject({
      team: 'web',
      'reconcile.external-secrets.io/managed': 'true',
    });
    expect(after.metadata?.annotations).toMatchObject({ owner: 'alice' });
    // Recorded right after the write the watch above saw.
    const updated = await eventually(
      async () => (await events(name)).find((e) => e.reason === 'Updated'),
      (e) => e !== undefined,
      'the Updated event',
    );
    expect(updated?.message).toBe('secret updated');
  });

  it('reads the ExternalSecret and its store from its informers, not the API server, as ESO does (eso-cache.ts)', async () => {
    const name = uniqueName('es');
    const secret = uniqueName('kv');
    await setKeyVaultSecret(env, secret, 'v1');
    await externalSecret(name, secret);
    const first = await eventually(
      () => read(name),
      (e) => readyOf(e)?.status === 'True',
      'first sync',
    );
    const before = first.status?.syncedResourceVersion;
    // Every GET this process sends by name to an ExternalSecret or a store (the stand-in runs
    // here; meanwhile the test itself only LISTs them and reads the Secret).
    const reads: string[] = [];
    const onRequest = (message: unknown) => {
      const { request } = message as { request: ClientRequest };
      const byName = /\/(externalsecrets|secretstores|clustersecretstores)\/[^/?]+/;
      if (request.method === 'GET' && byName.test(request.path)) reads.push(request.path);
    };
    subscribe('http.client.request.start', onRequest);
    try {
      await setKeyVaultSecret(env, secret, 'v2');
      await force(name, 'cached');
      const list = async () =>
        (
          (await admin.custom.listNamespacedCustomObject({ ...ES, namespace: ns })) as {
            items: Array<Es & { metadata: { name: string } }>;
          }
        ).items.find((e) => e.metadata.name === name);
      await eventually(list, (e) => e?.status?.syncedResourceVersion !== before, 'the forced sync');
      const synced = await admin.core.readNamespacedSecret({ namespace: ns, name });
      expect(Object.values(synced.data ?? {}).map((v) => Buffer.from(v, 'base64').toString())).toEqual([
        'v2',
      ]);
      await new Promise((r) => setTimeout(r, 200)); // the reconcile its own status write brings
    } finally {
      unsubscribe('http.client.request.start', onRequest);
    }

    expect(reads).toEqual([]);
  });

  it('on a provider error: Ready False SecretSyncedError, binding "" and refreshTime null, the error in Warning UpdateFailed, retried with backoff', async () => {
    const name = uniqueName('es');
    const missing = uniqueName('missing');
    await externalSecret(name, missing);

    const es = await eventually(
      () => read(name),
      (e) => readyOf(e)?.status === 'False',
      'the failure',
    );

    expect(readyOf(es)).toMatchObject({
      reason: 'SecretSyncedError',
      message: 'could not get secret data from provider',
    });
    expect(es.status?.binding?.name).toBe('');
    expect(es.status?.refreshTime ?? null).toBeNull();
    // controller-runtime's backoff (5 ms doubling) retries at once: the same event repeats.
    const failed = await eventually(
      async () => (await events(name)).find((e) => e.reason === 'UpdateFailed'),
      (e) => (e?.count ?? 0) >= 5,
      'repeated UpdateFailed events',
    );
    expect(failed?.type).toBe('Warning');
    expect(failed?.message).toMatch(
      new RegExp(`^error processing spec\\.data\\[0\\] \\(key: ${missing}\\), err: `),
    );
  });

  it('a failure that repeats with the same message writes no status', async () => {
    const name = uniqueName('es');
    await externalSecret(name, uniqueName('missing'));
    const failing = await eventually(
      () => read(name),
      (e) => readyOf(e)?.status === 'False',
      'the failure',
    );
    const count = async () => (await events(name)).find((e) => e.reason === 'UpdateFailed')?.count ?? 0;

    const forced = await force(name, 'again');
    const seen = await count();
    await eventually(count, (n) => n > seen, 'the repeated failure');

    const after = await read(name);
    expect(after.metadata.resourceVersion).toBe(forced.metadata.resourceVersion);
    expect(readyOf(after)?.lastTransitionTime).toBe(readyOf(failing)?.lastTransitionTime);
  });

  it('refreshInterval "0" (Periodic) ignores a forced sync after the first; refreshPolicy OnChange syncs on it', async () => {
    const secret = uniqueName('kv');
    await setKeyVaultSecret(env, secret, 'v1');
    const trapped = uniqueName('es');
    const onChange = uniqueName('es');
    await externalSecret(trapped, secret, ns, { refreshInterval: '0' });
    await externalSecret(onChange, secret, ns, { refreshInterval: '1h', refreshPolicy: 'OnChange' });
    await Promise.all(
      [trapped, onChange].map((name) =>
        eventually(
          () => read(name),
          (e) => readyOf(e)?.status === 'True',
          name,
        ),
      ),
    );
    // The finalizer's own update queues the ExternalSecret again; a reconcile that reads the
    // informer before its status arrived syncs once more (as ESO's cached client can), so the
    // trap is judged from a settled status, not from the first Ready one.
    const first = [await settled(trapped)];
    const trappedSecret = await admin.core.readNamespacedSecret({ namespace: ns, name: trapped });
    await setKeyVaultSecret(env, secret, 'v2');

    await force(trapped, 'now');
    await force(onChange, 'now');
    const synced = await eventually(
      () => admin.core.readNamespacedSecret({ namespace: ns, name: onChange }),
      (s) => s.metadata?.annotations?.['force-sync'] === 'now',
      'the OnChange sync',
    );
    expect(Buffer.from(synced.data?.password ?? '', 'base64').toString()).toBe('v2');
    // The forced reconcile of the trapped one ran beside it; give it time to (not) write.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await admin.core.readNamespacedSecret({ namespace: ns, name: trapped });
    expect(after.metadata?.resourceVersion).toBe(trappedSecret.metadata?.resourceVersion);
    expect((await read(trapped)).status).toEqual(first[0]?.status);
  });

  it('validates its stores (Ready True Valid "store validated"); until then an ExternalSecret fails "SecretStore \\"<name>\\" is not ready" and retries', async () => {
    const waiting = await namespace(admin, 'eso-store');
    const late = await startEsoStandin({
      kubeconfig: cluster.adminKubeconfig,
      keyVault: { caPem: env.lowkey.caPem },
      namespaces: [waiting],
      storeValidationDelayMs: 1_500,
    });
    try {
      const secret = uniqueName('kv');
      await setKeyVaultSecret(env, secret, 'v1');
      await azureStore('azure-store', waiting);
      const name = uniqueName('es');
      await externalSecret(name, secret, waiting);

      const failing = await eventually(
        () => read(name, waiting),
        (e) => readyOf(e)?.status === 'False',
        'the flood gate',
      );
      expect(readyOf(failing)).toMatchObject({
        reason: 'SecretSyncedError',
        message: 'could not get secret data from provider',
      });
      const warning = (await events(name, waiting)).find((e) => e.reason === 'UpdateFailed');
      expect([warning?.type, warning?.message]).toEqual([
        'Warning',
        `error processing spec.data[0] (key: ${secret}), err: SecretStore "azure-store" is not ready`,
      ]);

      const synced = await eventually(
        () => read(name, waiting),
        (e) => readyOf(e)?.status === 'True',
        'the sync once the store is validated',
      );
      expect(readyOf(synced)?.reason).toBe('SecretSynced');
      const store = (await admin.custom.getNamespacedCustomObject({
        ...ES,
        plural: 'secretstores',
        namespace: waiting,
        name: 'azure-store',
      })) as { status?: { capabilities?: string; conditions?: Array<Record<string, string>> } };
      expect(store.status?.capabilities).toBe('ReadWrite');
      expect(store.status?.conditions).toEqual([
        expect.objectContaining({
          type: 'Ready',
          status: 'True',
          reason: 'Valid',
          message: 'store validated',
        }),
      ]);
      expect((await events('azure-store', waiting)).map((e) => [e.type, e.reason, e.message])).toContainEqual(
        ['Normal', 'Valid', 'store validated'],
      );
    } finally {
      await late.stop();
    }
  });
});

describe('ESO stand-in ClusterExternalSecrets (ESO 2.x, in the cluster that leaves CES to the stand-in)', () => {
  const CES = { group: 'external-secrets.io', version: 'v1', plural: 'clusterexternalsecrets' };
  let beta: ClusterClient;
  let cesStandin: EsoStandin;
  let namespaces: string[];
  const label = uniqueName('ces-standin');

  beforeAll(async () => {
    const cluster = env.clusters.find((c) => c.name === env.eso?.standinCesCluster);
    if (!cluster) throw new Error('no test cluster leaves ClusterExternalSecrets to the stand-in');
    beta = kubeClient(cluster, 'admin');
    namespaces = [
      await namespace(beta, 'ces-fin-a', { [label]: 'true' }),
      await namespace(beta, 'ces-fin-b', { [label]: 'true' }),
    ];
    cesStandin = await startEsoStandin({
      kubeconfig: cluster.adminKubeconfig,
      keyVault: { caPem: env.lowkey.caPem },
      namespaces,
    });
  });
  afterAll(async () => {
    await cesStandin?.stop();
  });

  async function ces(name: string) {
    return (await beta.custom.getClusterCustomObject({ ...CES, name })) as {
      metadata: { finalizers?: string[] };
      status?: { provisionedNamespaces?: string[]; conditions?: Array<Record<string, string>> };
    };
  }
  const namespaceFinalizers = async (ns: string) =>
    (await beta.core.readNamespace({ name: ns })).metadata?.finalizers ?? [];

  it('finalizers on the CES and on each provisioned Namespace, a Ready condition without lastTransitionTime; deletion removes them and the ExternalSecrets', async () => {
    const store = uniqueName('css');
    const name = uniqueName('ces');
    const secret = uniqueName('kv');
    await setKeyVaultSecret(env, secret, 'v1');
    await create(beta, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      metadata: { name: store },
      spec: {
        controller: STANDIN_CONTROLLER_CLASS,
        provider: { azurekv: { vaultUrl: env.lowkey.vaultUrl } },
      },
    });
    await create(beta, {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterExternalSecret',
      metadata: { name },
      spec: {
        namespaceSelectors: [{ matchLabels: { [label]: 'true' } }],
        externalSecretSpec: {
          secretStoreRef: { kind: 'ClusterSecretStore', name: store },
          target: { name },
          data: [{ secretKey: 'value', remoteRef: { key: secret } }],
        },
      },
    });

    const provisioned = await eventually(
      () => ces(name),
      (c) => (c.status?.provisionedNamespaces ?? []).length === 2,
      'the CES provisions both namespaces',
    );
    expect(provisioned.metadata.finalizers).toEqual([ESO_BEHAVIOUR.cesFinalizer]);
    expect(provisioned.status?.conditions).toEqual([{ type: 'Ready', status: 'True' }]);
    for (const ns of namespaces)
      expect(await namespaceFinalizers(ns)).toContain(`externalsecrets.external-secrets.io/ces-${name}`);

    await beta.custom.deleteClusterCustomObject({ ...CES, name });

    await eventually(
      () =>
        ces(name).then(
          () => 'present',
          (e: { code?: number }) => (e.code === 404 ? 'gone' : 'error'),
        ),
      (state) => state === 'gone',
      'the CES is deleted once its finalizer is removed',
    );
    for (const ns of namespaces) {
      expect(await namespaceFinalizers(ns)).not.toContain(`externalsecrets.external-secrets.io/ces-${name}`);
      await eventually(
        () =>
          read(name, ns).then(
            () => 'present',
            (e: { code?: number }) => (e.code === 404 ? 'gone' : 'error'),
          ),
        (state) => state === 'gone',
        `the ExternalSecret in ${ns} is deleted`,
      );
    }
  });
});
