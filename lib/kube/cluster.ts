import { readFileSync } from 'node:fs';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import type { ClusterConfig } from '../config.js';
import { ConfigError } from '../errors.js';

/** Entra ID application of the AKS API server; tokens for AKS are asked for this scope. */
export const AKS_TOKEN_SCOPE = '6dae42f8-4368-4678-94ff-3960e28e3630/.default';

/** Typed API clients for one cluster. Built lazily, cached by the registry. */
export interface ClusterClient {
  readonly name: string;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  readonly custom: CustomObjectsApi;
  readonly objects: KubernetesObjectApi;
}

export interface TokenSource {
  getToken(scope: string): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

export function clusterClientFromKubeConfig(name: string, kc: KubeConfig): ClusterClient {
  return {
    name,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

function kubeConfigFor(cluster: ClusterConfig, token?: string): KubeConfig {
  const kc = new KubeConfig();
  if (cluster.kubeconfigYaml) kc.loadFromString(cluster.kubeconfigYaml);
  else if (cluster.kubeconfig) kc.loadFromString(readFileSync(cluster.kubeconfig, 'utf8'));
  else if (cluster.aks) {
    kc.loadFromOptions({
      clusters: [
        { name: cluster.name, server: cluster.aks.server, caData: cluster.aks.caData, skipTLSVerify: false },
      ],
      users: [{ name: 'rotor', token }],
      contexts: [{ name: cluster.name, cluster: cluster.name, user: 'rotor' }],
      currentContext: cluster.name,
    });
  }
  if (cluster.context) {
    if (!kc.getContexts().some((c) => c.name === cluster.context)) {
      throw new ConfigError([
        `clusters.${cluster.name}: context "${cluster.context}" is not in the kubeconfig`,
      ]);
    }
    kc.setCurrentContext(cluster.context);
  }
  return kc;
}

/**
 * One client per configured cluster, created on first use. AKS clients are rebuilt
 * shortly before their Entra token expires.
 */
export class ClusterRegistry {
  private readonly cache = new Map<string, { client: ClusterClient; expiresAt: number }>();

  constructor(
    private readonly clusters: readonly ClusterConfig[],
    private readonly tokens?: TokenSource,
  ) {}

  names(): string[] {
    return this.clusters.map((c) => c.name);
  }

  async get(name: string): Promise<ClusterClient> {
    const cached = this.cache.get(name);
    if (cached && cached.expiresAt > Date.now()) return cached.client;
    const cluster = this.clusters.find((c) => c.name === name);
    if (!cluster) throw new ConfigError([`cluster "${name}" is not configured`]);
    let token: string | undefined;
    let expiresAt = Number.POSITIVE_INFINITY;
    if (cluster.aks) {
      if (!this.tokens) throw new ConfigError([`clusters.${name}: AKS needs an Azure credential`]);
      const t = await this.tokens.getToken(AKS_TOKEN_SCOPE);
      if (!t) throw new ConfigError([`clusters.${name}: no Entra token for the AKS scope`]);
      token = t.token;
      expiresAt = t.expiresOnTimestamp - 5 * 60_000;
    }
    const client = clusterClientFromKubeConfig(name, kubeConfigFor(cluster, token));
    this.cache.set(name, { client, expiresAt });
    return client;
  }
}
