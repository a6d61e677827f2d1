import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { startWatch, type WatchHandle } from '../../../lib/kube/api/watch.js';
import type { ClusterClient } from '../../../lib/kube/cluster.js';
import { envVarName } from '../../../lib/kube/restart/env-var-name.js';
import { reloaderHash } from '../../../lib/kube/restart/hash.js';
import type { EnvDescriptor } from '../../env/descriptor.js';
import { createNamespace, keyVaultClientForTest, kubeClient } from '../../env/index.js';
import { waitUntil } from '../../env/wait.js';
import { keyVaultEvent } from '../../sandbox/scenarios.js';
import { type EsoStandin, startEsoStandin } from '../../standins/eso-standin.js';

/**
 * A namespace of Deployments consuming Secrets that ExternalSecrets sync from Key Vault (the
 * ESO stand-in: its Key Vault provider needs Entra ID), for tests that crash rotor under
 * load and then check what the workloads ended on. Each Deployment reads one or two of the
 * Secrets through env and carries Reloader's `auto` annotation.
 */
export interface Fleet {
  namespace: string;
  /** Key Vault secret names; each has an ExternalSecret and a Secret of the same name. */
  secrets: string[];
  deployments: Array<{ name: string; secrets: string[] }>;
  /** Writes a new version of `secret` and returns the Event Grid event that announces it. */
  change(secret: string): Promise<Record<string, unknown>>;
  /**
   * What is not where it should be now: a Secret not holding its Key Vault value, or a
   * Deployment whose template lacks Reloader's hash of a Secret it consumes. Empty when settled.
   */
  stale(): Promise<string[]>;
  /** metadata.generation of each Deployment: every template change (rollout) adds one. */
  generations(): Promise<Map<string, number>>;
  /**
   * Deployments whose template went back to a hash it had already left (an old event moved
   * it backwards), from a watch that saw every template since the fleet was deployed.
   */
  wentBack(): string[];
  stop(): Promise<void>;
}

export interface FleetOptions {
  secrets: number;
  deployments: number;
}

/** rotor's configuration for the fleet's cluster and Key Vault (state and tuning are the caller's). */
export function fleetConfig(env: EnvDescriptor, fleet: Pick<Fleet, 'namespace'>): Record<string, unknown> {
  const caFile = join(mkdtempSync(join(tmpdir(), 'rotor-fleet-')), 'keyvault-ca.pem');
  writeFileSync(caFile, env.lowkey.caPem);
  const cluster = env.clusters[0]!;
  return {
    keyVaults: [
      { name: env.lowkey.vaultName, url: env.lowkey.vaultUrl, auth: { kind: 'emulator' }, tls: { caFile } },
    ],
    clusters: [
      { name: cluster.name, kubeconfigYaml: cluster.rotorKubeconfig, namespaces: [fleet.namespace] },
    ],
  };
}

export async function deployFleet(env: EnvDescriptor, options: FleetOptions): Promise<Fleet> {
  const admin = kubeClient(env.clusters[0]!, 'admin');
  const kv = keyVaultClientForTest(env.lowkey);
  const namespace = await createNamespace(admin, 'fleet');
  const secrets = Array.from({ length: options.secrets }, (_, i) => `${namespace}-s${i}`);
  const deployments = Array.from({ length: options.deployments }, (_, i) => ({
    name: `app-${i}`,
    // Every Deployment reads one Secret; every other one reads the next one too.
    secrets:
      i % 2 === 0
        ? [secrets[i % secrets.length]!]
        : [secrets[i % secrets.length]!, secrets[(i + 1) % secrets.length]!],
  }));
  const eso: EsoStandin = await startEsoStandin({
    kubeconfig: env.clusters[0]!.adminKubeconfig,
    keyVault: { caPem: env.lowkey.caPem },
    namespaces: [namespace],
  });
  try {
    await Promise.all(secrets.map((s) => kv.setSecret(s, randomBytes(12).toString('hex'))));
    await admin.objects.create(secretStore(namespace, env.lowkey.vaultUrl));
    for (const s of secrets) await admin.objects.create(externalSecret(namespace, s));
    await waitUntil(
      async () =>
        (await Promise.all(secrets.map((s) => secretValue(admin, namespace, s)))).every(Boolean)
          ? true
          : undefined,
      { what: `the ESO stand-in syncs the Secrets of ${namespace}`, timeoutMs: 30_000 },
    );
    for (const d of deployments)
      await admin.apps.createNamespacedDeployment({ namespace, body: deployment(d.name, d.secrets) });
  } catch (error) {
    await eso.stop();
    throw error;
  }
  const templates = watchTemplates(env, namespace);
  return {
    namespace,
    secrets,
    deployments,
    async change(secret) {
      const written = await kv.setSecret(secret, randomBytes(12).toString('hex'));
      return keyVaultEvent(env.lowkey.vaultName, secret, written.properties.version ?? '');
    },
    async stale() {
      const problems: string[] = [];
      const hashes = new Map<string, string>();
      for (const s of secrets) {
        const current = (await kv.getSecret(s)).value;
        const secret = await admin.core.readNamespacedSecret({ namespace, name: s });
        const synced = Buffer.from(secret.data?.password ?? '', 'base64').toString('utf8');
        if (synced !== current) problems.push(`Secret ${s} does not hold the current Key Vault value`);
        hashes.set(s, reloaderHash({ kind: 'Secret', data: secret.data ?? {} }));
      }
      for (const d of deployments) {
        const live = await admin.apps.readNamespacedDeployment({ namespace, name: d.name });
        const env = live.spec?.template.spec?.containers[0]?.env ?? [];
        for (const s of d.secrets) {
          const value = env.find((e) => e.name === envVarName('SECRET', s))?.value;
          if (value !== hashes.get(s))
            problems.push(`Deployment ${d.name} is not on the current hash of Secret ${s}`);
        }
      }
      return problems;
    },
    async generations() {
      const list = await admin.apps.listNamespacedDeployment({ namespace });
      return new Map(list.items.map((d) => [d.metadata?.name ?? '', d.metadata?.generation ?? 0]));
    },
    wentBack() {
      const problems: string[] = [];
      for (const [name, seen] of templates.seen) {
        for (const variable of new Set(seen.flatMap((t) => Object.keys(t)))) {
          const values = seen.map((t) => t[variable]).filter((v): v is string => v !== undefined);
          const changes = values.filter((v, i) => i === 0 || v !== values[i - 1]);
          if (new Set(changes).size !== changes.length)
            problems.push(`${name} ${variable}: ${changes.join(' -> ')}`);
        }
      }
      return problems;
    },
    stop: async () => {
      templates.stop();
      await eso.stop();
    },
  };
}

/** Every template (its STAKATER_ variables) each Deployment of `namespace` had, in order. */
function watchTemplates(env: EnvDescriptor, namespace: string) {
  const kc = new KubeConfig();
  kc.loadFromString(env.clusters[0]!.adminKubeconfig);
  const seen = new Map<string, Array<Record<string, string>>>();
  const generation = new Map<string, number>();
  let resourceVersion = '';
  let handle: WatchHandle | undefined;
  let stopped = false;
  const start = () => {
    handle = startWatch({
      kc,
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      params: { resourceVersion },
      onEvent: (phase, d: V1Deployment) => {
        if (phase === 'ERROR' || phase === 'BOOKMARK' || !d.metadata?.name) return;
        resourceVersion = d.metadata.resourceVersion ?? resourceVersion;
        const name = d.metadata.name;
        if ((d.metadata.generation ?? 0) <= (generation.get(name) ?? 0)) return;
        generation.set(name, d.metadata.generation ?? 0);
        const vars = (d.spec?.template.spec?.containers[0]?.env ?? []).filter((e) =>
          e.name.startsWith('STAKATER_'),
        );
        seen.set(name, [
          ...(seen.get(name) ?? []),
          Object.fromEntries(vars.map((e) => [e.name, e.value ?? ''])),
        ]);
      },
      // A watch the server closed resumes where it was.
      onDone: () => {
        if (!stopped) setTimeout(start, 100);
      },
    });
  };
  start();
  return {
    seen,
    stop: () => {
      stopped = true;
      handle?.stop();
    },
  };
}

function secretStore(namespace: string, vaultUrl: string) {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'SecretStore',
    metadata: { name: 'azure-kv', namespace },
    spec: {
      controller: 'rotor-eso-standin',
      provider: { azurekv: { authType: 'ManagedIdentity', vaultUrl } },
    },
  };
}

function externalSecret(namespace: string, name: string) {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { kind: 'SecretStore', name: 'azure-kv' },
      target: { name, creationPolicy: 'Owner' },
      data: [{ secretKey: 'password', remoteRef: { key: name } }],
    },
  };
}

function deployment(name: string, secrets: string[]) {
  return {
    metadata: { name, annotations: { 'reloader.stakater.com/auto': 'true' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'app:1',
              env: secrets.map((s, i) => ({
                name: `PASSWORD_${i}`,
                valueFrom: { secretKeyRef: { name: s, key: 'password' } },
              })),
            },
          ],
        },
      },
    },
  };
}

async function secretValue(
  admin: ClusterClient,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  try {
    return (await admin.core.readNamespacedSecret({ namespace, name })).data?.password;
  } catch {
    return undefined;
  }
}
