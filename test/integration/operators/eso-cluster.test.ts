import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { CES_FORCE_SYNC_ANNOTATION } from '../../../lib/kube/operators/eso.js';
import { refreshDerived, resolveDerived } from '../../../lib/kube/operators/index.js';
import { SecretRefSchema } from '../../../lib/secret-ref.js';
import { STANDIN_CONTROLLER_CLASS } from '../../env/eso.js';
import { type KubeClusterDescriptor, kubeClient, testEnv, uniqueName } from '../../env/index.js';
import { type EsoStandin, startEsoStandin } from '../../standins/eso-standin.js';
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

/**
 * ClusterExternalSecrets, forced by rotor, against both behaviours of ESO's CES controller:
 *  - the real ESO v0.16.2 (every cluster but env.eso.standinCesCluster): it copies only
 *    spec.externalSecretMetadata to the ExternalSecrets it provisions, so the CES's own
 *    force-sync annotation never reaches them, and it resets any annotation written on a
 *    child directly (before the child's sync is recorded);
 *  - the ESO stand-in as ESO 2.x (env.eso.standinCesCluster): it copies the CES's
 *    external-secrets.io/force-sync annotation to every child.
 * rotor writes one value as the CES's annotation and in its spec.externalSecretMetadata, so
 * it works on both.
 */
const env = testEnv();
const ES = { group: 'external-secrets.io', version: 'v1', plural: 'externalsecrets' } as const;

function clusterWith(standinCes: boolean): KubeClusterDescriptor {
  const name = env.eso?.standinCesCluster;
  const cluster = env.clusters.find((c) => (c.name === name) === standinCes);
  if (!cluster)
    throw new Error(
      `no test cluster ${standinCes ? 'leaves CES to the stand-in' : "runs ESO's CES controller"}`,
    );
  return cluster;
}

interface CesCase {
  admin: ClusterClient;
  rotor: ClusterClient;
  namespaces: string[];
  ces: string;
  path: string;
}

/** A ClusterSecretStore on OpenBao and a CES provisioning `shared` into two labelled namespaces, synced once. */
async function cesCase(
  cluster: KubeClusterDescriptor,
  standin: boolean,
  withNamespaces: (namespaces: string[]) => Promise<void> = async () => {},
): Promise<CesCase> {
  const admin = kubeClient(cluster, 'admin');
  const label = uniqueName('shared');
  const namespaces = [
    await namespace(admin, 'ces-a', { [label]: 'true' }),
    await namespace(admin, 'ces-b', { [label]: 'true' }),
  ];
  await withNamespaces(namespaces);
  const path = `shared/${uniqueName('cfg')}`;
  const store = uniqueName('css');
  const ces = uniqueName('ces');
  await writeVault(env, path, { url: 'https://one.example' });
  await tokenSecret(admin, namespaces[0] as string, 'vault-token', env.openbao.rootToken);
  const css = manifest('clustersecretstore-vault.yaml', store);
  const vault = (
    css.spec as { provider: { vault: { server: string; auth: { tokenSecretRef: { namespace: string } } } } }
  ).provider.vault;
  // The real ESO runs on this machine and reaches OpenBao at its own address; the stand-in
  // maps the in-cluster spelling.
  vault.server = standin ? IN_CLUSTER_VAULT : esoVaultServer(env);
  vault.auth.tokenSecretRef.namespace = namespaces[0] as string;
  if (standin) (css.spec as { controller?: string }).controller = STANDIN_CONTROLLER_CLASS;
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
  const c = { admin, rotor: kubeClient(cluster, 'rotor'), namespaces, ces, path };
  for (const ns of namespaces) {
    await eventually(
      () => secretValue(admin, ns, ces, 'url'),
      (v) => v === 'https://one.example',
      `first sync in ${ns}`,
    );
    // And recorded: a sync whose status write lost a race (the CES controller updating its
    // child) is redone, and would read the next value before rotor forces anything.
    await eventually(
      () => childStatus(c, ns),
      (st) =>
        Boolean(st?.syncedResourceVersion) &&
        st?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true,
      `first sync recorded in ${ns}`,
    );
  }
  // And settled: the CES controller's own updates of a child (owner, labels, the metadata it
  // copies) each make ESO sync that child again. One of those still queued when the test
  // writes the next value reads it before rotor's force, and the force then rightly finds the
  // Secret already current (secretChanged false, seen under a full suite). Wait until no child
  // has changed for a second.
  await settled(async () => {
    const versions = await Promise.all(namespaces.map((ns) => childVersion(c, ns)));
    return versions.join(',');
  }, 1_000);
  return c;
}

async function childVersion(c: CesCase, ns: string): Promise<string> {
  const child = (await c.admin.custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: c.ces })) as {
    metadata: { resourceVersion?: string };
  };
  return child.metadata.resourceVersion ?? '';
}

/** Resolves once `read` has returned the same value for `quietMs` (at most 20 s). */
async function settled(read: () => Promise<string>, quietMs: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = await read();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`still changing after 20 s: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
    const now = await read();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

/** resolve + refresh as a pipeline run does, after the value changed in OpenBao. */
async function rotate(c: CesCase, url: string) {
  await writeVault(env, c.path, { url });
  const ref = SecretRefSchema.parse({
    backend: 'vault',
    address: env.openbao.address,
    mount: env.openbao.kvMount,
    path: c.path,
  });
  const derived = await resolveDerived(c.rotor, ref, resolveOptions(env));
  const { results, changed } = await refreshDerived(c.rotor, derived, { timeoutMs: 20_000 });
  return { derived, results, changed };
}

async function childStatus(c: CesCase, ns: string) {
  const child = (await c.admin.custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: c.ces })) as {
    status?: { syncedResourceVersion?: string; conditions?: Array<{ type: string; status: string }> };
  };
  return child.status;
}

async function childAnnotations(c: CesCase, ns: string): Promise<Record<string, string>> {
  const child = (await c.admin.custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: c.ces })) as {
    metadata: { annotations?: Record<string, string> };
  };
  return child.metadata.annotations ?? {};
}

function expectRefreshed(c: CesCase, out: Awaited<ReturnType<typeof rotate>>): void {
  expect(out.derived).toEqual([
    expect.objectContaining({
      kind: 'ClusterExternalSecret',
      name: c.ces,
      namespace: '',
      forceable: true,
      children: expect.arrayContaining(
        c.namespaces.map((ns) => ({ namespace: ns, name: c.ces, targetSecret: c.ces })),
      ),
    }),
  ]);
  expect(out.results).toHaveLength(2);
  for (const r of out.results)
    expect(r, JSON.stringify(r)).toMatchObject({
      status: 'refreshed',
      kind: 'ExternalSecret',
      name: c.ces,
      secretChanged: true,
    });
  expect(out.changed.map((x) => x.namespace).sort()).toEqual([...c.namespaces].sort());
}

describe('ClusterExternalSecret on the real ESO v0.16.2 (its CES controller does not propagate force-sync)', () => {
  let c: CesCase;
  beforeAll(async () => {
    c = await cesCase(clusterWith(false), false);
  });

  it('is forced through spec.externalSecretMetadata, which the CES controller copies to every child; every child syncs', async () => {
    const out = await rotate(c, 'https://two.example');

    expectRefreshed(c, out);
    const ces = (await c.admin.custom.getClusterCustomObject({
      ...ES,
      plural: 'clusterexternalsecrets',
      name: c.ces,
    })) as { spec: { externalSecretMetadata?: { annotations?: Record<string, string> } } };
    const forced = ces.spec.externalSecretMetadata?.annotations?.[CES_FORCE_SYNC_ANNOTATION];
    expect(forced).toBeTruthy();
    for (const ns of c.namespaces) {
      expect(await secretValue(c.admin, ns, c.ces, 'url')).toBe('https://two.example');
      expect((await childAnnotations(c, ns))[CES_FORCE_SYNC_ANNOTATION]).toBe(forced);
    }
  });

  it('forces every time: five rotations in a row each reach both children', async () => {
    for (let i = 3; i <= 7; i++) {
      const out = await rotate(c, `https://v${i}.example`);
      expect(out.results.map((r) => r.status)).toEqual(['refreshed', 'refreshed']);
      for (const ns of c.namespaces)
        expect(await secretValue(c.admin, ns, c.ces, 'url')).toBe(`https://v${i}.example`);
    }
  });
});

describe('ClusterExternalSecret on the ESO stand-in (ESO 2.x: the CES copies external-secrets.io/force-sync down)', () => {
  let c: CesCase;
  let standin: EsoStandin;
  beforeAll(async () => {
    const cluster = clusterWith(true);
    c = await cesCase(cluster, true, async (namespaces) => {
      standin = await startEsoStandin({
        kubeconfig: cluster.adminKubeconfig,
        vault: { token: '', addressMap: { [IN_CLUSTER_VAULT]: env.openbao.address } },
        namespaces,
      });
    });
  });
  afterAll(async () => {
    await standin?.stop();
  });

  it('is forced with external-secrets.io/force-sync on the CES, which reaches every child, and every child syncs', async () => {
    const out = await rotate(c, 'https://two.example');

    expectRefreshed(c, out);
    for (const ns of c.namespaces) {
      expect(await secretValue(c.admin, ns, c.ces, 'url')).toBe('https://two.example');
      const annotations = await childAnnotations(c, ns);
      expect(annotations[CES_FORCE_SYNC_ANNOTATION]).toBeTruthy();
      expect(annotations['force-sync']).toBeUndefined();
    }
  });
});
