import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GVR } from '../../../lib/kube/api/gvr.js';
import { ObjectCache } from '../../../lib/kube/api/object-cache.js';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { refreshDerived, resolveDerived } from '../../../lib/kube/operators/index.js';
import type { SharedWatch } from '../../../lib/kube/operators/shared-watch.js';
import { SecretRefSchema } from '../../../lib/secret-ref.js';
import { kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { metaTime } from '../../standins/standin-kube.js';
import { startVsoStandin, VSO_BEHAVIOUR, type VsoStandin } from '../../standins/vso-standin.js';
import {
  create,
  eventually,
  IN_CLUSTER_VAULT,
  manifest,
  namespace,
  resolveOptions,
  secretValue,
  writeVault,
} from './support.js';

const env = testEnv();
const cluster = env.clusters[0]!;
let admin: ClusterClient;
let rotor: ClusterClient;
let ns: string;
let operatorNs: string;
let standin: VsoStandin;
let cache: ObjectCache;
const VSS = { group: 'secrets.hashicorp.com', version: 'v1beta1', plural: 'vaultstaticsecrets' };

type Vss = {
  metadata: { generation: number; annotations?: Record<string, string> };
  status?: {
    lastGeneration?: number;
    secretMAC?: string;
    conditions?: Array<{ type: string; status: string; lastTransitionTime: string }>;
  };
};

beforeAll(async () => {
  admin = kubeClient(cluster, 'admin');
  rotor = kubeClient(cluster, 'rotor');
  ns = await namespace(admin, 'vso');
  operatorNs = await namespace(admin, 'vso-system');
  const connection = manifest('vaultconnection.yaml', 'default', operatorNs);
  (connection.spec as { address: string }).address = IN_CLUSTER_VAULT;
  await create(admin, connection);
  await create(admin, manifest('vaultauth.yaml', 'default', operatorNs));
  const appAuth = manifest('vaultauth.yaml', 'app-auth', ns);
  (appAuth.spec as { vaultConnectionRef: string }).vaultConnectionRef = `${operatorNs}/default`;
  await create(admin, appAuth);
  standin = await startVsoStandin({
    kubeconfig: cluster.adminKubeconfig,
    vault: { token: env.openbao.rootToken, addressMap: { [IN_CLUSTER_VAULT]: env.openbao.address } },
    operatorNamespace: operatorNs,
    namespaces: [ns],
  });
});

afterAll(async () => {
  cache?.close();
  await standin?.stop();
});

/**
 * rotor's object cache of the test namespace, as the app has it: a refresh given its
 * watches follows the forced object there instead of opening a watch of its own. Counts
 * the refreshes that took a live tap.
 */
async function followed(): Promise<{ watched: SharedWatch; taps: () => number }> {
  cache ??= new ObjectCache(rotor, { log: () => undefined, namespaces: [ns] });
  await cache.list(GVR.vaultStaticSecret);
  let taps = 0;
  return {
    watched: (...a) => {
      const off = cache.listen(...a);
      if (off) taps++;
      return off;
    },
    taps: () => taps,
  };
}

function ref(path: string) {
  return SecretRefSchema.parse({
    backend: 'vault',
    address: env.openbao.address,
    mount: env.openbao.kvMount,
    path,
  });
}

/**
 * Created with VSO's finalizer, as VSO leaves the object after its first reconcile. Without
 * it, that reconcile adds the finalizer by an Update (generation 1 → 2) and a second sync
 * follows at a moment nothing in the status reveals (the first already records
 * lastGeneration 2): on a loaded machine it read the value a test wrote for the force, and
 * the force found the Secret already current.
 */
async function staticSecret(
  name: string,
  path: string,
  edit: (spec: Record<string, unknown>) => void = () => {},
): Promise<void> {
  const vss = manifest('vaultstaticsecret.yaml', name, ns);
  vss.metadata = { ...vss.metadata, finalizers: [VSO_BEHAVIOUR.finalizer] };
  const spec = vss.spec as {
    path: string;
    mount: string;
    destination: { name: string };
    vaultAuthRef?: string;
  };
  spec.path = path;
  spec.mount = env.openbao.kvMount;
  spec.destination.name = name;
  edit(vss.spec as Record<string, unknown>);
  await create(admin, vss);
}

const readVssIn = (namespace: string, name: string) =>
  admin.custom.getNamespacedCustomObject({ ...VSS, namespace, name }) as Promise<Vss>;
const readVss = (name: string) => readVssIn(ns, name);

describe('VSO VaultStaticSecret', () => {
  it('resolves VaultStaticSecrets through VaultAuth → VaultConnection (named, and the operator default), never VaultDynamicSecrets', async () => {
    const path = `apps/${uniqueName('web')}`;
    const named = uniqueName('vss');
    const byDefault = uniqueName('vss-default');
    await writeVault(env, path, { password: 'p1' });
    await staticSecret(named, path);
    await staticSecret(byDefault, path, (spec) => {
      delete spec.vaultAuthRef;
    });
    const dynamic = manifest('vaultdynamicsecret.yaml', uniqueName('vds'), ns);
    Object.assign(dynamic.spec as object, { mount: env.openbao.kvMount, path });
    await create(admin, dynamic);

    const derived = await resolveDerived(
      rotor,
      ref(path),
      resolveOptions(env, { vsoOperatorNamespace: operatorNs }),
    );

    expect(derived.map((d) => [d.kind, d.name]).sort()).toEqual(
      [
        ['VaultStaticSecret', byDefault],
        ['VaultStaticSecret', named],
      ].sort(),
    );
  });

  it('does not resolve when the connection points at another Vault', async () => {
    const path = `apps/${uniqueName('web')}`;
    await staticSecret(uniqueName('vss'), path);
    const derived = await resolveDerived(rotor, ref(path), { vsoOperatorNamespace: operatorNs });
    expect(derived).toEqual([]);
  });

  it("forces a resync on a new KV version, waits for Ready at or after the force (followed on the object cache's watch), and hands the Secret on", async () => {
    const path = `apps/${uniqueName('web')}`;
    const name = uniqueName('vss');
    await writeVault(env, path, { password: 'old' });
    await staticSecret(name, path);
    await eventually(
      () => secretValue(admin, ns, name, 'password'),
      (v) => v === 'old',
      'first sync',
    );
    // The only reconcile (created with the finalizer: see staticSecret) has written its status.
    const macBefore = (
      await eventually(
        () => readVss(name),
        (v) =>
          Boolean(v.status?.secretMAC) &&
          v.status?.lastGeneration === v.metadata.generation &&
          v.metadata.generation === 1,
        'status',
      )
    ).status?.secretMAC;
    await writeVault(env, path, { password: 'new' });

    const forcedAt = Math.floor(Date.now() / 1000) * 1000;
    const derived = await resolveDerived(
      rotor,
      ref(path),
      resolveOptions(env, { vsoOperatorNamespace: operatorNs }),
    );
    const { watched, taps } = await followed();
    const { results, changed } = await refreshDerived(rotor, derived, { timeoutMs: 20_000, watched });

    expect(taps()).toBe(1);
    expect(results).toEqual([
      expect.objectContaining({
        status: 'refreshed',
        operator: 'vso',
        name,
        targetSecret: name,
        secretChanged: true,
      }),
    ]);
    expect(changed).toEqual([{ cluster: cluster.name, kind: 'Secret', namespace: ns, name }]);
    expect(await secretValue(admin, ns, name, 'password')).toBe('new');
    const after = await readVss(name);
    const ready = after.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('True');
    expect(new Date(ready?.lastTransitionTime ?? 0).getTime()).toBeGreaterThanOrEqual(forcedAt);
    expect(after.status?.secretMAC).not.toBe(macBefore);
    const secret = await admin.core.readNamespacedSecret({ namespace: ns, name });
    expect(secret.metadata?.labels).toMatchObject({
      'app.kubernetes.io/component': 'secret-sync',
      'app.kubernetes.io/managed-by': 'hashicorp-vso',
      'secrets.hashicorp.com/vso-ownerRefUID': expect.any(String),
    });
  });

  it('completes on a renewed Ready even when nothing changed, without rewriting the Secret', async () => {
    const path = `apps/${uniqueName('web')}`;
    const name = uniqueName('vss');
    await writeVault(env, path, { password: 'steady' });
    await staticSecret(name, path);
    await eventually(
      () => secretValue(admin, ns, name, 'password'),
      (v) => v === 'steady',
      'first sync',
    );
    const before = await admin.core.readNamespacedSecret({ namespace: ns, name });

    const derived = await resolveDerived(
      rotor,
      ref(path),
      resolveOptions(env, { vsoOperatorNamespace: operatorNs }),
    );
    const { results, changed } = await refreshDerived(rotor, derived, { timeoutMs: 20_000 });

    expect(results).toEqual([expect.objectContaining({ status: 'refreshed', secretChanged: false })]);
    // Still handed to the restart engine: the operator's own poll may have synced it before
    // the force, with consumers not restarted yet; the restart hash makes it a no-op if they are.
    expect(changed).toEqual([{ cluster: cluster.name, kind: 'Secret', namespace: ns, name }]);
    expect((await admin.core.readNamespacedSecret({ namespace: ns, name })).metadata?.resourceVersion).toBe(
      before.metadata?.resourceVersion,
    );
  });

  it("a reconcile that writes status between rotor's read and its force, in the force's second, does not hide the force's own reconcile", async () => {
    // No stand-in reconciles this namespace: the test plays VSO. Its status writes carry
    // whole-second condition times and the version it read (a write racing a later edit is
    // refused), and it reconciles every new force-sync value; a reconcile in the second of
    // the previous one writes an identical status, which the API server drops: no event.
    const quiet = await namespace(admin, 'vso-scripted');
    const name = uniqueName('vss');
    const vss = manifest('vaultstaticsecret.yaml', name, quiet);
    vss.metadata = { ...vss.metadata, finalizers: [VSO_BEHAVIOUR.finalizer] };
    await create(admin, vss);
    const reconcile = async () => {
      const current = await readVssIn(quiet, name);
      const ready = {
        type: 'Ready',
        status: 'True',
        ...VSO_BEHAVIOUR.ready,
        lastTransitionTime: metaTime(new Date()),
      };
      await admin.custom.replaceNamespacedCustomObjectStatus({
        ...VSS,
        namespace: quiet,
        name,
        body: {
          ...current,
          status: { lastGeneration: current.metadata.generation, secretMAC: 'mac', conditions: [ready] },
        },
      });
      return current.metadata.annotations?.['force-sync'];
    };
    await reconcile();
    let handled: string | undefined;
    let stop = false;
    const operator = (async () => {
      while (!stop) {
        const forced = (await readVssIn(quiet, name).catch(() => undefined))?.metadata.annotations?.[
          'force-sync'
        ];
        // A reconcile that raced a newer force is refused (conflict): the next round takes it.
        if (forced && forced !== handled) handled = await reconcile().catch(() => handled);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    // rotor's read before the force (the target Secret's) returns, then a reconcile (VSO's
    // poll) writes its status before rotor's force lands; a second boundary just passed, so
    // all of it falls in one second.
    let raced = false;
    const racing = {
      ...rotor,
      core: new Proxy(rotor.core, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (prop !== 'readNamespacedSecret' || raced) return value;
          return async (...args: Parameters<typeof target.readNamespacedSecret>) => {
            try {
              return await target.readNamespacedSecret(...args);
            } finally {
              raced = true;
              await reconcile();
            }
          };
        },
      }),
    };
    await new Promise((r) => setTimeout(r, 1_000 - (Date.now() % 1_000)));

    const derived = [
      {
        cluster: cluster.name,
        operator: 'vso' as const,
        kind: 'VaultStaticSecret',
        namespace: quiet,
        name,
        targetSecret: name,
        warnings: [],
        forceable: true,
      },
    ];
    const { results } = await refreshDerived(racing, derived, { timeoutMs: 8_000 }).finally(() => {
      stop = true;
    });
    await operator;

    expect(raced).toBe(true);
    expect(results).toEqual([expect.objectContaining({ status: 'refreshed', name })]);
  });

  it("two concurrent force loops on one VaultStaticSecret, followed on the object cache's watch: a StatusUpdateError conflict is not a failure", async () => {
    const path = `apps/${uniqueName('web')}`;
    const name = uniqueName('vss');
    await writeVault(env, path, { password: 'p' });
    await staticSecret(name, path);
    await eventually(
      () => secretValue(admin, ns, name, 'password'),
      (v) => v === 'p',
      'first sync',
    );
    const derived = await resolveDerived(
      rotor,
      ref(path),
      resolveOptions(env, { vsoOperatorNamespace: operatorNs }),
    );
    const conflictsBefore = standin.stats.statusConflicts;
    const { watched } = await followed();

    // Two deliveries of the same change (or rotor beside a GitOps writer): each force lands
    // while VSO reconciles the other's, and VSO records StatusUpdateError for it.
    const loop = async () => {
      const statuses: string[] = [];
      for (let i = 0; i < 6; i++) {
        const { results } = await refreshDerived(rotor, derived, { timeoutMs: 20_000, watched });
        statuses.push(
          ...results.map((r) => (r.status === 'failed' ? `failed: ${r.error.message}` : r.status)),
        );
      }
      return statuses;
    };
    const outcomes = (await Promise.all([loop(), loop()])).flat();

    expect(standin.stats.statusConflicts).toBeGreaterThan(conflictsBefore);
    expect(outcomes.filter((o) => o !== 'refreshed')).toEqual([]);
  });
});
