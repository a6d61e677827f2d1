/**
 * The VSO stand-in reproduces what the real VSO v1.4.1 was observed to do (REFERENCE.md
 * 2a): one test per behaviour, so a divergence from VSO_BEHAVIOUR shows here.
 */
import { createHmac } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { EVENT_RECORDER, recordEvent, standinKube } from '../../standins/standin-kube.js';
import {
  goDuration,
  jittered,
  startVsoStandin,
  VSO_BEHAVIOUR,
  type VsoStandin,
} from '../../standins/vso-standin.js';
import {
  create,
  eventually,
  IN_CLUSTER_VAULT,
  manifest,
  namespace,
  writeVault,
} from '../operators/support.js';

const env = testEnv();
const cluster = env.clusters[0]!;
let admin: ClusterClient;
let ns: string;
let standin: VsoStandin;
const VSS = { group: 'secrets.hashicorp.com', version: 'v1beta1', plural: 'vaultstaticsecrets' };

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}
interface Vss {
  metadata: { generation: number; finalizers?: string[]; uid: string; annotations?: Record<string, string> };
  spec: { destination: Record<string, unknown> };
  status?: {
    lastGeneration?: number;
    vaultClientMeta?: { cacheKey?: string; id?: string };
    conditions?: Condition[];
  };
}

beforeAll(async () => {
  admin = kubeClient(cluster, 'admin');
  ns = await namespace(admin, 'vso-standin');
  const connection = manifest('vaultconnection.yaml', 'default', ns);
  (connection.spec as { address: string }).address = IN_CLUSTER_VAULT;
  await create(admin, connection);
  await create(admin, manifest('vaultauth.yaml', 'default', ns));
  standin = await startVsoStandin({
    kubeconfig: cluster.adminKubeconfig,
    vault: { token: env.openbao.rootToken, addressMap: { [IN_CLUSTER_VAULT]: env.openbao.address } },
    operatorNamespace: ns,
    namespaces: [ns],
  });
});

afterAll(async () => {
  await standin?.stop();
});

/** `refreshAfter: null` leaves the field out. */
async function staticSecret(name: string, path: string, refreshAfter: string | null = '1h'): Promise<void> {
  const vss = manifest('vaultstaticsecret.yaml', name, ns);
  const spec = vss.spec as Record<string, unknown>;
  Object.assign(spec, {
    path,
    mount: env.openbao.kvMount,
    refreshAfter,
    destination: { name, create: true },
  });
  delete spec.vaultAuthRef;
  if (refreshAfter === null) delete spec.refreshAfter;
  await create(admin, vss);
}

const read = async (name: string) =>
  (await admin.custom.getNamespacedCustomObject({ ...VSS, namespace: ns, name })) as Vss;
const condition = (v: Vss, type: string) => v.status?.conditions?.find((c) => c.type === type);

async function events(name: string): Promise<CoreV1Event[]> {
  const list = await admin.core.listNamespacedEvent({
    namespace: ns,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items;
}

async function synced(name: string): Promise<Vss> {
  return eventually(
    () => read(name),
    (v) => condition(v, 'Ready')?.status === 'True' && v.status?.lastGeneration === v.metadata.generation,
    `${name} ready`,
  );
}

describe('VSO stand-in (VSO_BEHAVIOUR)', () => {
  it('first reconcile: finalizer through a full Update with transformation {}, generation 1 → 2', async () => {
    const name = uniqueName('vss');
    const path = `apps/${uniqueName('p')}`;
    await writeVault(env, path, { password: 'one' });
    await staticSecret(name, path);

    const v = await synced(name);

    expect(v.metadata.finalizers).toContain(VSO_BEHAVIOUR.finalizer);
    expect(v.spec.destination.transformation).toEqual({});
    expect(v.metadata.generation).toBe(2);
    expect(v.status?.lastGeneration).toBe(2);
  });

  it('conditions on success: Ready Ready/VaultStaticSecretReady, SecretSynced Synced with the jittered horizon, Healthy; vaultClientMeta', async () => {
    const name = uniqueName('vss');
    const path = `apps/${uniqueName('p')}`;
    await writeVault(env, path, { password: 'one' });
    await staticSecret(name, path, '1h');

    const v = await synced(name);

    expect(condition(v, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Ready',
      message: 'VaultStaticSecretReady',
    });
    expect(condition(v, 'Healthy')).toMatchObject({
      status: 'True',
      reason: 'Healthy',
      message: 'VaultStaticSecretHealthy',
    });
    const syncedCondition = condition(v, 'SecretSynced');
    expect(syncedCondition).toMatchObject({ status: 'True', reason: 'Synced' });
    // refreshAfter 1h minus 10–20 % jitter: between 48m and 54m.
    const horizon = /^Secret synced, horizon=(\d+)m[\d.]+s$/.exec(syncedCondition?.message ?? '');
    expect(Number(horizon?.[1])).toBeGreaterThanOrEqual(48);
    expect(Number(horizon?.[1])).toBeLessThan(54);
    expect(v.status?.vaultClientMeta?.cacheKey).toBeTruthy();
    expect(v.status?.vaultClientMeta?.id).toBeTruthy();
  });

  it('without refreshAfter, hmacSecretData (the default) polls every 60 s minus the jitter', async () => {
    const name = uniqueName('vss');
    const path = `apps/${uniqueName('p')}`;
    await writeVault(env, path, { password: 'one' });
    await staticSecret(name, path, null);

    const v = await synced(name);

    const horizon = /^Secret synced, horizon=([\d.]+)s$/.exec(condition(v, 'SecretSynced')?.message ?? '');
    expect(Number(horizon?.[1])).toBeGreaterThanOrEqual(48);
    expect(Number(horizon?.[1])).toBeLessThanOrEqual(54);
  });

  it('the destination Secret: VSO labels, owner reference without controller, every field plus _raw', async () => {
    const name = uniqueName('vss');
    const path = `apps/${uniqueName('p')}`;
    await writeVault(env, path, { password: 'one' });
    await staticSecret(name, path);
    const v = await synced(name);

    const secret = await admin.core.readNamespacedSecret({ namespace: ns, name });

    expect(secret.metadata?.labels).toEqual({
      ...VSO_BEHAVIOUR.labels,
      [VSO_BEHAVIOUR.ownerLabel]: v.metadata.uid,
    });
    expect(secret.metadata?.ownerReferences).toEqual([
      { apiVersion: 'secrets.hashicorp.com/v1beta1', kind: 'VaultStaticSecret', name, uid: v.metadata.uid },
    ]);
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['_raw', 'password']);
  });

  it('keeps its HMAC key in the immutable Secret vso-cc-storage-hmac-key in its namespace, MACs the data with it and reuses it after a restart', async () => {
    const name = uniqueName('vss');
    const path = `apps/${uniqueName('p')}`;
    await writeVault(env, path, { password: 'one' });
    await staticSecret(name, path);
    const v = (await synced(name)) as Vss & { status: { secretMAC?: string } };

    const keySecret = await admin.core.readNamespacedSecret({
      namespace: ns,
      name: 'vso-cc-storage-hmac-key',
    });
    expect(keySecret.metadata?.labels).toEqual({
      'app.kubernetes.io/name': 'vault-secrets-operator',
      'app.kubernetes.io/managed-by': 'hashicorp-vso',
      'app.kubernetes.io/component': 'client-cache-storage-verification',
    });
    expect(keySecret.immutable).toBe(true);
    const key = Buffer.from(keySecret.data?.key ?? '', 'base64');
    expect(key).toHaveLength(16);
    // Go's json.Marshal of map[string][]byte: sorted keys, base64 values, as the Secret stores them.
    const data = (await admin.core.readNamespacedSecret({ namespace: ns, name })).data ?? {};
    const message = JSON.stringify(
      Object.fromEntries(
        Object.keys(data)
          .sort()
          .map((k) => [k, data[k]]),
      ),
    );
    expect(v.status.secretMAC).toBe(createHmac('sha256', key).update(message).digest('base64'));

    const restarted = await startVsoStandin({
      kubeconfig: cluster.adminKubeconfig,
      vault: { token: env.openbao.rootToken },
      operatorNamespace: ns,
      namespaces: [],
    });
    await restarted.stop();
    const after = await admin.core.readNamespacedSecret({ namespace: ns, name: 'vso-cc-storage-hmac-key' });
    expect(after.metadata?.uid).toBe(keySecret.metadata?.uid);
    expect(after.data?.key).toBe(keySecret.data?.key);
  });

  it("a Normal SecretSynced event only when it writes the Secret; none for an unchanged sync, which renews Ready's lastTransitionTime and leaves SecretSynced as it was", async () => {
    const name = uniqueName('vss');
    const path = `apps/${uniqueName('p')}`;
    await writeVault(env, path, { password: 'one' });
    await staticSecret(name, path);
    const first = await synced(name);
    const before = (await events(name)).filter((e) => e.reason === 'SecretSynced');
    // Condition times have one-second precision.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const secretBefore = await admin.core.readNamespacedSecret({ namespace: ns, name });
    const syncs = standin.stats.syncs;

    await admin.custom.patchNamespacedCustomObject({
      ...VSS,
      namespace: ns,
      name,
      body: [{ op: 'add', path: '/metadata/annotations', value: { x: '1' } }],
    });
    await eventually(
      async () => standin.stats.syncs,
      (n) => n > syncs,
      'a reconcile of the annotation change',
    );
    // The stand-in's sync count is shared by every object: wait for this one's reconcile,
    // which renews Ready (one-second precision, hence the pause above).
    const readyAt = (v: Vss) => Date.parse(condition(v, 'Ready')?.lastTransitionTime ?? '');
    const again = await eventually(
      () => read(name),
      (v) => readyAt(v) > readyAt(first),
      'Ready renewed by the reconcile of the annotation change',
    );

    expect(before.length).toBeGreaterThan(0);
    expect((await events(name)).filter((e) => e.reason === 'SecretSynced')).toHaveLength(before.length);
    const secretAfter = await admin.core.readNamespacedSecret({ namespace: ns, name });
    expect(secretAfter.metadata?.resourceVersion).toBe(secretBefore.metadata?.resourceVersion);
    expect(condition(again, 'SecretSynced')).toEqual(condition(first, 'SecretSynced'));
  });

  it('a Vault error: Ready stays Ready/VaultStaticSecretReady, the error only in SecretSynced, lastGeneration set, backoff from 5 s', async () => {
    const name = uniqueName('vss');
    const path = `apps/${uniqueName('missing')}`;
    await staticSecret(name, path);

    const failed = await eventually(
      () => read(name),
      (v) => condition(v, 'SecretSynced')?.status === 'False',
      'the first failure',
    );
    const full = `${env.openbao.kvMount}/data/${path}`;
    expect(condition(failed, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Ready',
      message: 'VaultStaticSecretReady',
    });
    expect(condition(failed, 'Healthy')).toMatchObject({
      status: 'False',
      reason: 'Unhealthy',
      message: 'VaultStaticSecretUnhealthy',
    });
    // The first reconcile fails, and so does the one its finalizer Update triggers: 5 s, 10 s.
    const first = condition(failed, 'SecretSynced');
    expect(first?.reason).toBe('Synced');
    const horizon = /^Failed to sync the secret, horizon=(\d+)s, err=(.*)$/.exec(first?.message ?? '');
    expect(['5', '10']).toContain(horizon?.[1]);
    expect(horizon?.[2]).toBe(`empty response from Vault, path="${full}"`);
    expect(failed.status?.lastGeneration).toBe(failed.metadata.generation);
    const warnings = (await events(name)).filter((e) => e.type === 'Warning');
    expect(warnings.map((e) => e.reason)).toContain('VaultClientError');
    // The next attempt comes after that horizon and doubles it.
    const doubled = `horizon=${Number(horizon?.[1]) * 2}s`;
    const second = await eventually(
      () => read(name),
      (v) => (condition(v, 'SecretSynced')?.message ?? '').includes(doubled),
      'the next failure, one horizon later',
      25_000,
    );
    expect(condition(second, 'SecretSynced')?.message).toContain(doubled);
  });

  it('a status update conflict records Warning StatusUpdateError and does not requeue; the conflicting write syncs', async () => {
    const name = uniqueName('vss');
    const path = `apps/${uniqueName('p')}`;
    await writeVault(env, path, { password: 'one' });
    await staticSecret(name, path);
    await synced(name);

    // Edits while the stand-in reconciles: some land between its read and its status update.
    const conflictsBefore = standin.stats.statusConflicts;
    // The loop ends at the first conflict; its bound only matters on a machine so busy that
    // few edits land inside a reconcile (60 was not always enough at load 5-6).
    for (let i = 0; i < 300 && standin.stats.statusConflicts === conflictsBefore; i++) {
      await admin.custom.patchNamespacedCustomObject({
        ...VSS,
        namespace: ns,
        name,
        body: [{ op: 'add', path: '/metadata/annotations', value: { edit: String(i) } }],
      });
      await new Promise((r) => setTimeout(r, 15));
    }

    expect(standin.stats.statusConflicts).toBeGreaterThan(conflictsBefore);
    const conflict = await eventually(
      async () => (await events(name)).find((e) => e.reason === 'StatusUpdateError'),
      (e) => e !== undefined,
      'the StatusUpdateError event',
    );
    expect(conflict?.type).toBe('Warning');
    expect(conflict?.message).toMatch(/the object has been modified/);
    const v = await synced(name);
    expect(v.metadata.annotations?.edit).toBeDefined();
  });

  it('poll delay: horizon minus 10–20 % jitter; Go duration text', () => {
    expect(jittered(3_600_000, () => 0)).toBe(3_240_000);
    expect(jittered(3_600_000, () => 0.999_999)).toBeGreaterThanOrEqual(2_880_000);
    expect(goDuration(2_915_123)).toBe('48m35.123s');
    expect(goDuration(5_000)).toBe('5s');
    expect(goDuration(3_600_000)).toBe('1h0m0s');
  });
});

describe("the stand-ins' event recorder (client-go's)", () => {
  it('stops at ~25 events per object and counts repeats of the same event instead of adding one', async () => {
    const kube = standinKube(cluster.adminKubeconfig);
    const name = uniqueName('obj');
    const cm = await admin.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name } } });
    const obj = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns, uid: cm.metadata?.uid },
    };

    await recordEvent(kube, obj, 'Warning', 'Same', 'same message', 'test');
    await recordEvent(kube, obj, 'Warning', 'Same', 'same message', 'test');
    for (let i = 0; i < 40; i++) await recordEvent(kube, obj, 'Warning', 'Other', `message ${i}`, 'test');

    const list = (await events(name)).filter((e) => e.source?.component === 'test');
    expect(list.find((e) => e.reason === 'Same')?.count).toBe(2);
    expect(list).toHaveLength(EVENT_RECORDER.spamBurst - 1);
  });
});
