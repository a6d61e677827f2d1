import type { ChangeEvent } from './change-event.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { describeError, NotFoundError } from './errors.js';
import type { FollowPort } from './follow-up.js';
import type { KubeLog } from './kube/api/informer.js';
import { ObjectCache } from './kube/api/object-cache.js';
import type { ChangedResource } from './kube/changed-resource.js';
import type { ClusterClient } from './kube/cluster.js';
import { EventRecorder } from './kube/event-recorder.js';
import { eventsOf, type Story } from './kube/event-story.js';
import {
  affectedBy,
  type DerivedObject,
  type ResolveOptions,
  refreshDerived,
  resolveDerived,
} from './kube/operators/index.js';
import { OPERATORS } from './kube/operators/registry.js';
import { RestartEngine } from './kube/restart/index.js';
import type { Announcement, PipelinePorts } from './pipeline.js';
import { refKey } from './secret-ref.js';
import type { Logger } from './telemetry.js';

/** What the cluster side needs: a client per configured cluster (ClusterRegistry). */
export interface ClusterSource {
  names(): string[];
  get(name: string): Promise<ClusterClient>;
}

export interface ClusterPortsDeps {
  clusters: ClusterSource;
  config: Pick<Config, 'clusters' | 'vaults' | 'keyVaults' | 'restart' | 'refresh'>;
  clock: Clock;
  log: Logger;
  /**
   * The backend's current version of a secret (`readMetadata().version`). SecretProviderClass
   * consumers are keyed on it, not on the event's version: Event Grid does not keep order,
   * and a late or repeated event must find those workloads current instead of rolling them
   * back to the version it names. Without it the event's version is used.
   */
  currentVersion?: (ref: ChangeEvent['ref']) => Promise<string | undefined>;
}

/**
 * The pipeline's cluster ports (resolve, refresh, restart) over real clusters, and the one
 * restart engine per cluster they share with `rotor plan`, pause resumption and warm-up.
 */
export class ClusterPorts
  implements
    Pick<PipelinePorts<DerivedObject>, 'clusters' | 'resolve' | 'announce' | 'refresh' | 'restart' | 'tell'>
{
  private readonly engines = new Map<string, Promise<RestartEngine>>();
  /** Engines whose client is built: announce() must answer without waiting. */
  private readonly readyEngines = new Map<string, RestartEngine>();
  private readonly resolving = new Map<string, Promise<DerivedObject[]>>();
  private readonly recorders = new Map<string, Promise<EventRecorder>>();
  private readonly caches = new Map<string, ObjectCache>();

  constructor(private readonly deps: ClusterPortsDeps) {}

  readonly clusters = (): string[] => this.deps.clusters.names();

  /** Resolving only reads, so runs for one secret that start together share one resolve. */
  readonly resolve = (cluster: string, ref: Parameters<PipelinePorts['resolve']>[1]) => {
    const key = `${cluster}|${refKey(ref)}`;
    let resolved = this.resolving.get(key);
    if (!resolved) {
      resolved = this.deps.clusters
        .get(cluster)
        .then((client) => resolveDerived(client, ref, this.resolveOptionsFor(cluster, client)))
        .finally(() => this.resolving.delete(key));
      this.resolving.set(key, resolved);
    }
    return resolved;
  };

  readonly announce = (cluster: string, derived: DerivedObject[]): Announcement | undefined =>
    this.readyEngines.get(cluster)?.expect(derived.flatMap((d) => affectedBy(d)));

  readonly refresh: PipelinePorts<DerivedObject>['refresh'] = async (cluster, derived, options) => {
    const [client, engine] = await Promise.all([this.deps.clusters.get(cluster), this.engineFor(cluster)]);
    options.onForced();
    const refreshed = await refreshDerived(client, derived, {
      timeoutMs: this.deps.config.refresh.timeoutMs,
      dryRun: options.dryRun,
      clock: this.deps.clock,
      reads: engine.reads,
      watched: (gvr, namespace, name, listener) =>
        this.cacheFor(cluster, client).listen(gvr, namespace, name, listener),
    });
    let changed = refreshed.changed;
    if (changed.some((c) => c.kind === 'SecretProviderClass')) {
      const version = await this.mountedVersionOf(options.event);
      changed = changed.map((c) =>
        c.kind === 'SecretProviderClass' ? { ...c, backendVersion: version } : c,
      );
    }
    return { results: refreshed.results, changed };
  };

  /** What a CSI mount of the secret holds after a remount: the backend's current version. */
  private async mountedVersionOf(event: ChangeEvent): Promise<string> {
    try {
      const current = await this.deps.currentVersion?.(event.ref);
      if (current !== undefined) return current;
    } catch (error) {
      // Deleted since: the event's version is all there is. Anything else is worth a retry.
      if (!(error instanceof NotFoundError)) throw error;
    }
    return event.version ?? event.id;
  }

  readonly restart: PipelinePorts<DerivedObject>['restart'] = async (
    cluster,
    changed,
    { dryRun, announcement },
  ) =>
    (await this.engineFor(cluster)).restart(changed, {
      dryRun,
      ...(announcement ? { expectation: announcement } : {}),
    });

  readonly follow: FollowPort = async (cluster, workload) =>
    (await this.engineFor(cluster)).follow(workload, this.deps.config.restart.rolloutTimeoutMs);

  /** Kubernetes Events on what a run touched in the cluster; returns at once, never throws. */
  readonly tell = (cluster: string, story: Story): void => {
    const events = eventsOf(story);
    if (events.length === 0) return;
    this.recorderFor(cluster).then(
      (recorder) => recorder.recordAll(events),
      () => undefined, // no client: the run has reported that already
    );
  };

  private recorderFor(cluster: string): Promise<EventRecorder> {
    let recorder = this.recorders.get(cluster);
    if (!recorder) {
      const { clock, log } = this.deps;
      recorder = this.deps.clusters.get(cluster).then(
        (client) =>
          new EventRecorder(client, {
            clock,
            log: (msg, fields) => log.warn(msg, fields),
            uidOf: (s) => this.caches.get(cluster)?.known(s.gvr, s.namespace, s.name)?.metadata?.uid,
          }),
      );
      recorder.catch(() => this.recorders.delete(cluster));
      this.recorders.set(cluster, recorder);
    }
    return recorder;
  }

  /** What the restart engine would do for these changes, nothing written (`rotor plan`). */
  readonly planRestarts = async (cluster: string, changed: ChangedResource[]) =>
    (await this.engineFor(cluster)).plan(changed);

  /**
   * Where each operator looks in one cluster: the cluster's object cache (no event lists
   * the cluster) and its consumer index for the workloads mounting a SecretProviderClass.
   */
  resolveOptionsFor(cluster: string, client: ClusterClient): ResolveOptions {
    const vsoNamespace = this.clusterConfig(cluster)?.vsoNamespace;
    return {
      vaultConfigs: this.deps.config.vaults,
      keyVaultConfigs: this.deps.config.keyVaults,
      ...(vsoNamespace ? { vsoOperatorNamespace: vsoNamespace } : {}),
      objects: this.cacheFor(cluster, client),
      mountedBy: async (namespace, className) =>
        (await this.engineFor(cluster)).mountedBy(namespace, className),
    };
  }

  private clusterConfig(cluster: string) {
    return this.deps.config.clusters.find((c) => c.name === cluster);
  }

  /**
   * The cluster's operator objects, followed by watch from the first resolve on
   * (object-cache.ts): one per cluster, as the registry keeps one client per cluster (an
   * AKS token is renewed in place).
   */
  private cacheFor(cluster: string, client: ClusterClient): ObjectCache {
    let cache = this.caches.get(cluster);
    if (!cache) {
      const namespaces = this.clusterConfig(cluster)?.namespaces;
      cache = new ObjectCache(client, {
        ...(namespaces ? { namespaces } : {}),
        log: this.clusterLog(cluster),
      });
      this.caches.set(cluster, cache);
    }
    return cache;
  }

  private clusterLog(cluster: string): KubeLog {
    const { log } = this.deps;
    return (level, msg, fields) => log[level === 'debug' ? 'debug' : level](msg, { cluster, ...fields });
  }

  /** The cluster's restart engine, built on first use; its consumer index starts in the background. */
  engineFor(cluster: string): Promise<RestartEngine> {
    let engine = this.engines.get(cluster);
    if (!engine) {
      const { clock, log, config } = this.deps;
      const namespaces = this.clusterConfig(cluster)?.namespaces;
      engine = this.deps.clusters.get(cluster).then((client) => {
        const e = new RestartEngine(client, config.restart, {
          clock,
          log: this.clusterLog(cluster),
          ...(namespaces ? { namespaces } : {}),
        });
        this.readyEngines.set(cluster, e);
        e.start().catch((error) =>
          log.warn('consumer index did not start', { cluster, error: describeError(error).message }),
        );
        return e;
      });
      engine.catch(() => {
        this.engines.delete(cluster);
        this.readyEngines.delete(cluster);
      });
      this.engines.set(cluster, engine);
    }
    return engine;
  }

  /** pause-period: the engine resumes what it paused while it lives; the timer resumes the rest. */
  async resumePaused(): Promise<void> {
    await Promise.all(
      this.clusters().map(async (cluster) => {
        try {
          const resumed = await (await this.engineFor(cluster)).resumePaused();
          if (resumed.length > 0)
            this.deps.log.info('resumed paused Deployments', {
              cluster,
              resumed: resumed.map((r) => `${r.namespace}/${r.name}`),
            });
        } catch (error) {
          this.deps.log.warn('resuming paused Deployments failed', {
            cluster,
            error: describeError(error).message,
          });
        }
      }),
    );
  }

  /** Builds every cluster's client and consumer index now; failures are logged, not thrown. */
  async warm(): Promise<void> {
    await Promise.all(
      this.clusters().map(async (cluster) => {
        try {
          const client = await this.deps.clusters.get(cluster);
          await Promise.all([
            (await this.engineFor(cluster)).start(),
            this.cacheFor(cluster, client).start(OPERATORS.flatMap((o) => o.reads ?? [])),
          ]);
        } catch (error) {
          this.deps.log.warn('warm-up: cluster not ready', { cluster, error: describeError(error).message });
        }
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.recorders.values()].map(async (r) => (await r).pending()));
    for (const cache of this.caches.values()) cache.close();
    await Promise.allSettled([...this.engines.values()].map(async (e) => (await e).close()));
  }
}
