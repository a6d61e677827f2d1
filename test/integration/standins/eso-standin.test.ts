/**
 * The ESO stand-in (kept for Azure Key Vault, whose provider needs Entra ID) reproduces
 * what the real ESO was observed to do (REFERENCE.md 2a): one test per behaviour, so a
 * divergence from ESO_BEHAVIOUR shows here.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
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
  const store = manifest('secretstore-azurekv.yaml', 'azure-store', ns);
  (store.spec as { provider: { azurekv: { vaultUrl: string } } }).provider.azurekv.vaultUrl =
    env.lowkey.vaultUrl;
  await create(admin, store);
  standin = await startEsoStandin({
    kubeconfig: cluster.adminKubeconfig,
    keyVault: { caPem: env.lowkey.caPem },
    namespaces: [ns],
  });
});

afterAll(async () => {
  await standin?.stop();
});

async function externalSecret(name: string, key: string): Promise<void> {
  const es = manifest('externalsecret-data.yaml', name, ns);
  es.metadata = { ...es.metadata, labels: { team: 'web' }, annotations: { owner: 'alice' } };
  const spec = es.spec as { data: Array<{ remoteRef: { key: string } }>; target: { name: string } };
  spec.data[0]!.remoteRef.key = key;
  spec.target.name = name;
  await create(admin, es);
}

const read = async (name: string) =>
  (await admin.custom.getNamespacedCustomObject({ ...ES, namespace: ns, name })) as Es;
const readyOf = (es: Es) => es.status?.conditions?.find((c) => c.type === 'Ready');

async function events(name: string): Promise<CoreV1Event[]> {
  return (
    await admin.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })
  ).items;
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
});
