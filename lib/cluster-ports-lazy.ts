import type { ClusterPorts, ClusterPortsDeps, ClusterSource } from './cluster-ports.js';
import type { Config } from './config.js';
import type { FollowPort } from './follow-up.js';
import type { ChangedResource } from './kube/changed-resource.js';
import type { ClusterClient, TokenSource } from './kube/cluster.js';
import type { Story } from './kube/event-story.js';
import type { DerivedObject } from './kube/operators/index.js';
import type { Announcement, PipelinePorts } from './pipeline.js';
import type { SecretRef } from './secret-ref.js';

/** AKS needs Entra ID tokens; DefaultAzureCredential loads only for a configuration that has AKS. */
async function defaultTokens(config: Pick<Config, 'clusters'>): Promise<TokenSource | undefined> {
  if (!config.clusters.some((c) => c.aks)) return undefined;
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}

/**
 * The Kubernetes side of the app (the client library, the operators, the restart engine),
 * loaded on first use instead of at start: a cold instance listens before it parses a
 * megabyte of Kubernetes client, then warm() or the first event loads it. Everything
 * delegates to ClusterPorts; only what must answer at once (the cluster names, an
 * announcement before the engine exists) is answered here.
 */
export class LazyClusterPorts implements ClusterSource {
  private loading?: Promise<{ ports: ClusterPorts; clusters: ClusterSource }>;
  private loaded?: ClusterPorts;

  constructor(private readonly deps: Omit<ClusterPortsDeps, 'clusters'> & { tokens?: TokenSource }) {}

  private load(): Promise<{ ports: ClusterPorts; clusters: ClusterSource }> {
    this.loading ??= (async () => {
      const [{ ClusterRegistry }, { ClusterPorts }, tokens] = await Promise.all([
        import('./kube/cluster.js'),
        import('./cluster-ports.js'),
        this.deps.tokens ? Promise.resolve(this.deps.tokens) : defaultTokens(this.deps.config),
      ]);
      const clusters = new ClusterRegistry(this.deps.config.clusters, tokens);
      const ports = new ClusterPorts({ ...this.deps, clusters });
      this.loaded = ports;
      return { ports, clusters };
    })();
    this.loading.catch(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  readonly names = (): string[] => this.deps.config.clusters.map((c) => c.name);
  readonly clusters = this.names;

  readonly get = async (name: string): Promise<ClusterClient> => (await this.load()).clusters.get(name);

  readonly resolve = async (cluster: string, ref: SecretRef): Promise<DerivedObject[]> =>
    (await this.load()).ports.resolve(cluster, ref);

  readonly announce = (cluster: string, derived: DerivedObject[]): Announcement | undefined =>
    this.loaded?.announce(cluster, derived);

  readonly refresh: PipelinePorts<DerivedObject>['refresh'] = async (cluster, derived, options) =>
    (await this.load()).ports.refresh(cluster, derived, options);

  readonly restart: PipelinePorts<DerivedObject>['restart'] = async (cluster, changed, options) =>
    (await this.load()).ports.restart(cluster, changed, options);

  readonly planRestarts = async (cluster: string, changed: ChangedResource[]) =>
    (await this.load()).ports.planRestarts(cluster, changed);

  readonly follow: FollowPort = async (cluster, workload) =>
    (await this.load()).ports.follow(cluster, workload);

  /** Events are told only about what a run touched, so the ports are loaded by then. */
  readonly tell = (cluster: string, story: Story): void => this.loaded?.tell(cluster, story);

  /** The pipeline's ports: these cluster ports with the given rotate port. */
  withRotation(rotate: PipelinePorts['rotate']): PipelinePorts<DerivedObject> {
    return {
      clusters: this.clusters,
      rotate,
      resolve: this.resolve,
      announce: this.announce,
      refresh: this.refresh,
      restart: this.restart,
      tell: this.tell,
      ...(this.deps.config.restart.followRollouts ? { follow: this.follow } : {}),
    };
  }

  async resumePaused(): Promise<void> {
    if (this.names().length > 0) await (await this.load()).ports.resumePaused();
  }

  /** Loads the Kubernetes side and builds every cluster's client and consumer index. */
  async warm(): Promise<void> {
    if (this.names().length === 0) return;
    try {
      await (await this.load()).ports.warm();
    } catch (error) {
      this.deps.log.warn('warm-up: the Kubernetes client did not load', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async close(): Promise<void> {
    await this.loaded?.close();
  }
}
