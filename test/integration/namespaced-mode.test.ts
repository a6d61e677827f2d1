/**
 * Namespaced mode on the real API server with the real ESO: rotor runs as a ServiceAccount
 * that holds the `rotor` ClusterRole in two namespaces only (infra/k8s/namespaced/rbac.yaml,
 * applied as shipped with the namespaces renamed), configured with
 * `clusters[].namespaces: [a, b]`. An event for a secret read in each namespace refreshes
 * and restarts there; the same secret read in a third namespace is neither read nor touched,
 * and nothing rotor does fails on a forbidden request.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { ChangeEvent } from '../../lib/change-event.js';
import { systemClock } from '../../lib/clock.js';
import { ClusterPorts } from '../../lib/cluster-ports.js';
import { probeConfig } from '../../lib/config/probe.js';
import { parseConfig } from '../../lib/config.js';
import { ClusterRegistry } from '../../lib/kube/cluster.js';
import type { Outcome } from '../../lib/outcome.js';
import { runPipeline } from '../../lib/pipeline.js';
import { SecretRefSchema } from '../../lib/secret-ref.js';
import { createLogger } from '../../lib/telemetry.js';
import { kubeClient, testEnv, uniqueName } from '../env/index.js';
import { REPO_ROOT } from '../env/paths.js';
import {
  create,
  esoVaultServer,
  eventually,
  manifest,
  namespace,
  secretValue,
  tokenSecret,
  writeVault,
} from './operators/support.js';

const env = testEnv();
const cluster = env.clusters[0]!;
const admin = kubeClient(cluster, 'admin');
const logs: { level: string; msg: string; status?: number }[] = [];
let ports: ClusterPorts;
let kubeconfigYaml: string;
/** a and b: rotor's namespaces; c: a namespace rotor has no rights in. */
const ns = { a: '', b: '', c: '' };
const paths = { a: '', b: '' };

type Manifest = KubernetesObject & {
  metadata: { name: string; namespace?: string };
  subjects?: { namespace?: string }[];
};

/** The shipped RoleBindings, bound in `a` and `b` to a ServiceAccount that lives in `a`. */
async function bindAsShipped(): Promise<void> {
  const text = await readFile(path.join(REPO_ROOT, 'infra', 'k8s', 'namespaced', 'rbac.yaml'), 'utf8');
  const rename: Record<string, string> = { 'team-a': ns.a, 'team-b': ns.b, 'rotor-system': ns.a };
  const api = KubernetesObjectApi.makeApiClient(admin.kc);
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as Manifest;
    obj.metadata.namespace = rename[obj.metadata.namespace ?? ''] ?? obj.metadata.namespace;
    for (const s of obj.subjects ?? []) s.namespace = rename[s.namespace ?? ''] ?? s.namespace;
    await api.create(obj);
  }
}

/** A kubeconfig for the ServiceAccount `rotor` of namespace `a`, with a fresh token. */
async function serviceAccountKubeconfig(): Promise<string> {
  await admin.core.createNamespacedServiceAccount({ namespace: ns.a, body: { metadata: { name: 'rotor' } } });
  const token = await admin.core.createNamespacedServiceAccountToken({
    namespace: ns.a,
    name: 'rotor',
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  return cluster.adminKubeconfig.replace(/token: .+/, `token: ${token.status?.token ?? ''}`);
}

/** In one namespace: a Vault SecretStore, an ExternalSecret of `key`, and a Deployment that reloads on it. */
async function consumer(namespaceName: string, key: string): Promise<void> {
  await tokenSecret(admin, namespaceName, 'vault-token', env.openbao.rootToken);
  const store = manifest('secretstore-vault.yaml', 'vault-store', namespaceName);
  (store.spec as { provider: { vault: { server: string } } }).provider.vault.server = esoVaultServer(env);
  await create(admin, store);
  const es = manifest('externalsecret-extract.yaml', 'db', namespaceName);
  const spec = es.spec as {
    secretStoreRef: { kind: string; name: string };
    target: { name: string };
    dataFrom: Array<{ extract: { key: string } }>;
  };
  spec.secretStoreRef = { kind: 'SecretStore', name: 'vault-store' };
  spec.target.name = 'db';
  spec.dataFrom[0]!.extract.key = key;
  await create(admin, es);
  await admin.apps.createNamespacedDeployment({
    namespace: namespaceName,
    body: {
      metadata: { name: 'web', annotations: { 'secret.reloader.stakater.com/reload': 'db' } },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: 'db' } }] }] },
        },
      },
    },
  });
}

async function synced(namespaceName: string, value: string): Promise<void> {
  await eventually(
    () => secretValue(admin, namespaceName, 'db', 'password'),
    (v) => v === value,
    `first sync in ${namespaceName}`,
  );
}

function changed(key: string): ChangeEvent {
  const now = new Date();
  return {
    id: uniqueName('evt'),
    ref: SecretRefSchema.parse({
      backend: 'vault',
      address: env.openbao.address,
      mount: 'secret',
      path: key,
    }),
    kind: 'changed',
    source: 'vault-audit',
    observedAt: now,
    receivedAt: now,
  };
}

async function run(key: string): Promise<Outcome> {
  return runPipeline(
    changed(key),
    {
      clusters: ports.clusters,
      rotate: async () => ({ status: 'skipped', reason: 'not rotating' }),
      resolve: ports.resolve,
      announce: ports.announce,
      refresh: ports.refresh,
      restart: ports.restart,
    },
    systemClock,
  );
}

async function deployment(namespaceName: string) {
  return admin.apps.readNamespacedDeployment({ namespace: namespaceName, name: 'web' });
}

async function forceSyncOf(namespaceName: string): Promise<string | undefined> {
  const es = (await admin.custom.getNamespacedCustomObject({
    group: 'external-secrets.io',
    version: 'v1',
    plural: 'externalsecrets',
    namespace: namespaceName,
    name: 'db',
  })) as { metadata: { annotations?: Record<string, string> } };
  return es.metadata.annotations?.['force-sync'];
}

beforeAll(async () => {
  ns.a = await namespace(admin, 'nsm-a');
  ns.b = await namespace(admin, 'nsm-b');
  ns.c = await namespace(admin, 'nsm-c');
  paths.a = `apps/${uniqueName('nsm-a')}`;
  paths.b = `apps/${uniqueName('nsm-b')}`;
  await writeVault(env, paths.a, { password: 'a1' });
  await writeVault(env, paths.b, { password: 'b1' });
  await bindAsShipped();
  await consumer(ns.a, paths.a);
  await consumer(ns.b, paths.b);
  // The third namespace reads both secrets.
  await consumer(ns.c, paths.a);
  await Promise.all([synced(ns.a, 'a1'), synced(ns.b, 'b1'), synced(ns.c, 'a1')]);

  kubeconfigYaml = await serviceAccountKubeconfig();
  const config = parseConfig({
    vaults: [{ name: 'bao', address: env.openbao.address, mounts: [{ path: 'secret' }] }],
    clusters: [
      {
        name: cluster.name,
        kubeconfigYaml,
        namespaces: [ns.a, ns.b],
      },
    ],
    restart: { followRollouts: false },
    refresh: { timeoutMs: 20_000 },
  });
  ports = new ClusterPorts({
    clusters: new ClusterRegistry(config.clusters),
    config,
    clock: systemClock,
    log: createLogger('debug', (line) => logs.push(JSON.parse(line))),
  });
});

afterAll(async () => {
  await ports?.close();
  for (const name of Object.values(ns)) if (name) await admin.core.deleteNamespace({ name });
});

describe('namespaced mode (clusters[].namespaces) as an identity bound in two namespaces', () => {
  it('refreshes and restarts in the first namespace, and leaves the third untouched', async () => {
    const before = (await deployment(ns.c)).metadata?.generation;
    await writeVault(env, paths.a, { password: 'a2' });

    const outcome = await run(paths.a);

    expect(outcome.status, JSON.stringify(outcome)).toBe('completed');
    expect(outcome.clusterFailures).toEqual([]);
    expect(outcome.refreshes.map((r) => `${r.status} ${r.namespace}/${r.name}`)).toEqual([
      `refreshed ${ns.a}/db`,
    ]);
    expect(outcome.workloads.map((w) => `${w.status} ${w.namespace}/${w.name}`)).toEqual([
      `restarted ${ns.a}/web`,
    ]);
    expect(await secretValue(admin, ns.a, 'db', 'password')).toBe('a2');
    expect(await forceSyncOf(ns.c)).toBeUndefined();
    expect((await deployment(ns.c)).metadata?.generation).toBe(before);
    expect(await secretValue(admin, ns.c, 'db', 'password')).toBe('a1');
  });

  it('refreshes and restarts in the second namespace', async () => {
    await writeVault(env, paths.b, { password: 'b2' });

    const outcome = await run(paths.b);

    expect(outcome.status, JSON.stringify(outcome)).toBe('completed');
    expect(outcome.refreshes.map((r) => `${r.status} ${r.namespace}/${r.name}`)).toEqual([
      `refreshed ${ns.b}/db`,
    ]);
    expect(outcome.workloads.map((w) => `${w.status} ${w.namespace}/${w.name}`)).toEqual([
      `restarted ${ns.b}/web`,
    ]);
    expect(await secretValue(admin, ns.b, 'db', 'password')).toBe('b2');
  });

  it('never sent a request that was forbidden, except the cluster-scoped kinds it skips with a warning', () => {
    const forbidden = logs.filter((l) => l.status === 403 || /forbidden/i.test(l.msg));
    const skipped = logs.filter((l) => l.level === 'warn' && /namespaced mode/.test(l.msg));

    expect(skipped.map((l) => l.msg.match(/list (\S+)/)?.[1]).sort()).toEqual([
      'clusterexternalsecrets.external-secrets.io',
      'clustersecretstores.external-secrets.io',
    ]);
    expect(forbidden.filter((l) => !/clusterexternalsecrets|clustersecretstores/.test(l.msg))).toEqual([]);
  });

  it('config check --probe holds the identity to every verb in each configured namespace, and no further', async () => {
    const probe = (namespaces: string[]) =>
      probeConfig(parseConfig({ clusters: [{ name: cluster.name, kubeconfigYaml, namespaces }] }));

    const bound = await probe([ns.a, ns.b]);
    const unbound = await probe([ns.a, ns.c]);

    const checks = bound.targets[0]?.checks ?? [];
    expect(bound.ok, JSON.stringify(checks.filter((c) => !c.ok))).toBe(true);
    expect(checks.map((c) => c.what)).toEqual(
      expect.arrayContaining([
        `patch deployments.apps in ${ns.a}`,
        `get secrets in ${ns.b}`,
        `get namespaces in ${ns.b}`,
      ]),
    );
    expect(checks.find((c) => c.what === 'list clustersecretstores.external-secrets.io')?.detail).toMatch(
      /not granted: namespaced mode skips/,
    );
    const denied = (unbound.targets[0]?.checks ?? []).filter((c) => !c.ok).map((c) => c.what);
    expect(unbound.ok).toBe(false);
    expect(denied).toContain(`patch deployments.apps in ${ns.c}`);
    expect(denied.every((what) => what.endsWith(` in ${ns.c}`))).toBe(true);
  });
});
