import { readFileSync } from 'node:fs';
import https from 'node:https';
import {
  AppsV1Api,
  BatchV1Api,
  type Configuration,
  CoreV1Api,
  CustomObjectsApi,
  createConfiguration,
  type HttpLibrary,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  KubernetesObjectApi,
  type RequestContext,
  type ResponseContext,
  type SecurityAuthentication,
  ServerConfiguration,
  wrapHttpLibrary,
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
  const config = keepAliveConfiguration(kc);
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
 * agent, built once from the TLS options it computed, is reused.
 */
function keepAliveConfiguration(kc: KubeConfig): Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ConfigError(['kubeconfig has no current cluster']);
  let shared: https.Agent | undefined;
  const auth: SecurityAuthentication = {
    getName: () => 'kubeconfig authentication (keep-alive)',
    async applySecurityAuthentication(context: RequestContext) {
      await kc.applySecurityAuthentication(context);
      const fresh = context.getAgent();
      if (!(fresh instanceof https.Agent)) return; // proxies and plain http keep their own agent
      shared ??= new https.Agent({ ...fresh.options, keepAlive: true });
      context.setAgent(shared);
    },
  };
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: auth },
    httpApi: retryingHttp,
  });
}

const RETRIES = 3;
const MAX_BACKOFF_MS = 2_000;
const fetchHttp = new IsomorphicFetchHttpLibrary();

/**
 * Every API call through these clients retries what the API server asks to retry: 429
 * (e.g. "storage is (re)initializing" while a CRD's storage starts) and 503, honouring
 * Retry-After. Bodies are strings, so a request can be sent again as it was.
 */
const retryingHttp: HttpLibrary = wrapHttpLibrary({
  async send(request): Promise<ResponseContext> {
    for (let attempt = 0; ; attempt++) {
      const response = await fetchHttp.send(request).toPromise();
      const status = response.httpStatusCode;
      if (attempt >= RETRIES || (status !== 429 && status !== 503)) return response;
      await new Promise((resolve) =>
        setTimeout(resolve, retryAfterMs(response.headers['retry-after'], attempt)),
      );
    }
  },
});

function retryAfterMs(header: string | undefined, attempt: number): number {
  const seconds = header ? Number(header) : Number.NaN;
  return Math.min(Number.isFinite(seconds) ? seconds * 1000 : 200 * 2 ** attempt, MAX_BACKOFF_MS);
}

function kubeConfigFor(cluster: ClusterConfig, token?: string): KubeConfig {
  const kc = new KubeConfig();
  if (cluster.kubeconfigYaml) kc.loadFromString(cluster.kubeconfigYaml.reveal());
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
