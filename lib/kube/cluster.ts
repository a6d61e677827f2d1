import { readFileSync } from 'node:fs';
import https from 'node:https';
import {
  AppsV1Api,
  BatchV1Api,
  type Configuration,
  CoreV1Api,
  CustomObjectsApi,
  createConfiguration,
  KubeConfig,
  KubernetesObjectApi,
  type RequestContext,
  type SecurityAuthentication,
  ServerConfiguration,
} from '@kubernetes/client-node';
import type { ClusterConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { kubeHttp } from './api/http-library.js';
import { AgentPerTls } from './api/tls-agent.js';

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

/**
 * `beforeRequest` runs before every API call's authentication (an AKS token renewed in place
 * when it is about to expire).
 */
export function clusterClientFromKubeConfig(
  name: string,
  kc: KubeConfig,
  beforeRequest?: () => Promise<void>,
): ClusterClient {
  const config = keepAliveConfiguration(kc, beforeRequest);
  return {
    name,
    kc,
    core: new CoreV1Api(config),
    apps: new AppsV1Api(config),
    batch: new BatchV1Api(config),
    custom: new CustomObjectsApi(config),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

/**
 * What `kc.makeApiClient` builds, except that the HTTPS agent is shared and keeps
 * connections alive: client-node 1.x creates a new agent per request, i.e. a TLS handshake
 * for every call, which dominated bursts (hundreds of reads and patches). Authentication
 * (headers, refreshed tokens) is still applied per request by the KubeConfig; only the
 * agent, built from the TLS options it computed, is reused while they stay the same (a
 * renewed client certificate gets a new one: tls-agent.ts).
 */
function keepAliveConfiguration(kc: KubeConfig, beforeRequest?: () => Promise<void>): Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ConfigError(['kubeconfig has no current cluster']);
  const agents = new AgentPerTls((options) => new https.Agent({ ...options, keepAlive: true }));
  const auth: SecurityAuthentication = {
    getName: () => 'kubeconfig authentication (keep-alive)',
    async applySecurityAuthentication(context: RequestContext) {
      await beforeRequest?.();
      await kc.applySecurityAuthentication(context);
      const fresh = context.getAgent();
      if (!(fresh instanceof https.Agent)) return; // proxies and plain http keep their own agent
      context.setAgent(agents.for(fresh.options));
    },
  };
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: auth },
    httpApi: kubeHttp,
  });
}

function kubeConfigFor(cluster: ClusterConfig): KubeConfig {
  const kc = new KubeConfig();
  if (cluster.kubeconfigYaml) kc.loadFromString(cluster.kubeconfigYaml.reveal());
  else if (cluster.kubeconfig) kc.loadFromString(readFileSync(cluster.kubeconfig, 'utf8'));
  else if (cluster.aks) {
    kc.loadFromOptions({
      clusters: [
        { name: cluster.name, server: cluster.aks.server, caData: cluster.aks.caData, skipTLSVerify: false },
      ],
      users: [{ name: 'rotor' }],
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

/** How long before its expiry an AKS token is renewed. */
const RENEW_BEFORE_MS = 5 * 60_000;
/** The shortest wait between timed renewals (a token that lives shorter is renewed on use). */
const MIN_RENEW_WAIT_MS = 30_000;

/**
 * An AKS bearer token renewed in place: the kubeconfig's user gets the new token, so the one
 * client of a cluster, and every watch, cache and restart engine bound to it, keeps working
 * past the token's lifetime without being rebuilt. Renewed before an API call once it is
 * about to expire, and by a timer for watches that only reconnect.
 */
class RenewedToken {
  private expiresAt = 0;
  private pending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly user: { token?: string },
    private readonly source: TokenSource,
    private readonly cluster: string,
  ) {}

  fresh(): Promise<void> {
    if (Date.now() < this.expiresAt) return Promise.resolve();
    this.pending ??= this.renew().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async renew(): Promise<void> {
    const t = await this.source.getToken(AKS_TOKEN_SCOPE);
    if (!t) throw new ConfigError([`clusters.${this.cluster}: no Entra token for the AKS scope`]);
    this.user.token = t.token;
    this.expiresAt = t.expiresOnTimestamp - RENEW_BEFORE_MS;
    clearTimeout(this.timer);
    // A failed timed renewal is retried by the next API call, which reports its error.
    this.timer = setTimeout(
      () => void this.fresh().catch(() => undefined),
      Math.max(this.expiresAt - Date.now(), MIN_RENEW_WAIT_MS),
    );
    this.timer.unref();
  }
}

/**
 * One client per configured cluster, created on first use and kept: an AKS client's Entra
 * token is renewed in place (RenewedToken), never by building a new client.
 */
export class ClusterRegistry {
  private readonly cache = new Map<string, Promise<{ client: ClusterClient; token?: RenewedToken }>>();

  constructor(
    private readonly clusters: readonly ClusterConfig[],
    private readonly tokens?: TokenSource,
  ) {}

  names(): string[] {
    return this.clusters.map((c) => c.name);
  }

  async get(name: string): Promise<ClusterClient> {
    let entry = this.cache.get(name);
    if (!entry) {
      entry = this.build(name);
      this.cache.set(name, entry);
      entry.catch(() => this.cache.delete(name));
    }
    const { client, token } = await entry;
    await token?.fresh();
    return client;
  }

  private async build(name: string): Promise<{ client: ClusterClient; token?: RenewedToken }> {
    const cluster = this.clusters.find((c) => c.name === name);
    if (!cluster) throw new ConfigError([`cluster "${name}" is not configured`]);
    if (!cluster.aks) return { client: clusterClientFromKubeConfig(name, kubeConfigFor(cluster)) };
    if (!this.tokens) throw new ConfigError([`clusters.${name}: AKS needs an Azure credential`]);
    const kc = kubeConfigFor(cluster);
    // get() renews the token before handing the client out.
    const token = new RenewedToken(kc.getCurrentUser() as { token?: string }, this.tokens, name);
    return { client: clusterClientFromKubeConfig(name, kc, () => token.fresh()), token };
  }
}
