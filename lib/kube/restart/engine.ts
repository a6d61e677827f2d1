import { type Clock, systemClock, type Timers } from '../../clock.js';
import type { RestartConfig } from '../../config.js';
import { createLimiter } from '../../limiter.js';
import type { RolloutResult, WorkloadResult } from '../../outcome.js';
import type { ChangedResource } from '../changed-resource.js';
import type { ClusterClient } from '../cluster.js';
import type { ResourceReads } from '../operators/operator.js';
import { resourceTypeOf } from './annotations.js';
import { Coalescer, type Expectation, type Now } from './coalescer.js';
import { ConsumerIndex, type IndexLog, type WorkloadRef, workloadKey } from './consumer-index.js';
import { ScopeFilter } from './filters.js';
import { followRestart } from './follow-restart.js';
import { WORKLOAD_KINDS } from './kinds/index.js';
import type { WorkloadKind } from './kinds/types.js';
import { PauseResumer, type ResumedDeployment } from './pause.js';
import { ResourceReader } from './resource-reader.js';
import { strategyFor } from './strategies/index.js';
import { type PendingChange, WorkloadRestart } from './workload-restart.js';

export type RestartLog = IndexLog;

export interface RestartEngineDeps {
  clock?: Clock;
  log?: RestartLog;
  /** Workload kinds handled (default: every kind rotor knows). */
  kinds?: readonly WorkloadKind[];
  /** Namespaced mode: workloads are listed, watched and resumed in these namespaces only. */
  namespaces?: readonly string[];
  /** The coalescer's timers and monotonic clock (tests drive them). */
  timers?: Timers;
  now?: Now;
}

/** Handed back to restart(): the changes a pipeline run announced before refreshing. */
export type RestartExpectation = Expectation;

/** The watch delivers each status change; a read this often only covers a watch being resumed. */
const FOLLOW_POLL_MS = 5_000;

/**
 * Restarts the consumers of changed Secrets, ConfigMaps and SecretProviderClasses in one
 * cluster, with Reloader's rules, hash and patches. Per workload: find it in the index,
 * then restart it (workload-restart.ts: read, decide, write guarded by the
 * resourceVersion, on 409 read and decide again). A change is written at once unless more changes
 * to the same workload are known to be coming (a write for it in flight, or another run
 * that announced them with expect()); those become one write, waiting at most
 * `coalesceWindowMs`. `plan` and dry runs take the same path and stop before writing.
 */
export class RestartEngine {
  private readonly log: RestartLog;
  private readonly kinds: readonly WorkloadKind[];
  private readonly index: ConsumerIndex;
  private readonly limit: <T>(task: () => Promise<T>) => Promise<T>;
  private readonly reader: ResourceReader;
  private readonly coalescer: Coalescer<PendingChange, WorkloadResult | undefined>;
  private readonly pauses: PauseResumer;
  private readonly workloads: WorkloadRestart;
  private readonly following = new Map<string, Promise<RolloutResult>>();
  private indexReady?: Promise<void>;
  private indexWarm = false;

  constructor(
    private readonly client: ClusterClient,
    private readonly options: RestartConfig,
    deps: RestartEngineDeps = {},
  ) {
    const clock = deps.clock ?? systemClock;
    this.log = deps.log ?? (() => undefined);
    this.kinds = deps.kinds ?? WORKLOAD_KINDS;
    this.index = new ConsumerIndex(client, this.kinds, this.log, deps.namespaces);
    this.limit = createLimiter(options.concurrency);
    this.reader = new ResourceReader(client);
    this.pauses = new PauseResumer(client, clock, deps.namespaces, (msg, fields) =>
      this.log('warn', msg, fields),
    );
    this.workloads = new WorkloadRestart({
      client,
      options,
      kinds: this.kinds,
      index: this.index,
      reader: this.reader,
      scope: new ScopeFilter(client, options),
      strategy: strategyFor(options.strategy, clock),
      clock,
      log: this.log,
      pauses: this.pauses,
    });
    this.coalescer = new Coalescer(
      options.coalesceWindowMs,
      (_key, items) => this.runBatch(items),
      deps.timers,
      deps.now,
      // Beside Reloader, rotor's write comes last and so is a no-op when Reloader did it.
      options.reloader === 'coexist' ? options.reloaderGraceMs : 0,
    );
  }

  /** The engine's reads of changed resources, shared with the refresh step (RefreshContext.reads). */
  get reads(): ResourceReads {
    return this.reader;
  }

  /** Lists every workload kind once and keeps the index current by watch; restart() does it lazily otherwise. */
  start(): Promise<void> {
    this.indexReady ??= this.index.start().then(() => {
      this.indexWarm = true;
    });
    return this.indexReady;
  }

  /**
   * A pipeline run announces the resources it is about to refresh: patches of their
   * consumers wait for its restart() (or release()) instead of writing twice. Without a
   * warm index nothing is announced (the lookup would have to wait for the list).
   */
  expect(changes: ChangedResource[]): RestartExpectation {
    const keys: string[] = [];
    if (this.indexWarm) {
      for (const change of changes) {
        if (change.cluster !== this.client.name) continue;
        const refs = this.index.lookup(change.namespace, resourceTypeOf(change.kind), change.name);
        for (const ref of refs) keys.push(workloadKey(ref));
      }
    }
    return this.coalescer.expect(keys);
  }

  async close(): Promise<void> {
    await this.coalescer.drain();
    await this.index.close();
    this.pauses.close();
  }

  /** Resumes Deployments whose pause-period is over (the timer calls this too, for pauses older than this process). */
  resumePaused(): Promise<ResumedDeployment[]> {
    return this.pauses.resumeExpired();
  }

  /** Workloads of a namespace whose pod template mounts the SecretProviderClass, from the index. */
  async mountedBy(namespace: string, className: string): Promise<WorkloadRef[]> {
    await this.start();
    return this.index.referencing(namespace, 'SECRETPROVIDERCLASS', className);
  }

  /**
   * Restart every consumer of the changed resources in this cluster; one result per
   * workload. `expectation` is what this run announced with expect(): it is fulfilled by
   * the submission and released for whatever did not change.
   */
  async restart(
    changes: ChangedResource[],
    opts: { dryRun?: boolean; expectation?: RestartExpectation } = {},
  ): Promise<WorkloadResult[]> {
    let submitted: Array<Promise<WorkloadResult | undefined>> = [];
    try {
      if (opts.dryRun ?? this.options.dryRun) return await this.plan(changes);
      const now = performance.now();
      const groups = await this.consumersOf(changes);
      submitted = [...groups].map(([key, g]) => {
        // A change seen synced at a known time is read from then on: the refresh's own read counts.
        const all = g.changes.map((change) =>
          this.coalescer.submit(
            key,
            { ref: g.ref, change, arrivedAt: change.syncedAt ?? now },
            opts.expectation,
          ),
        );
        return all[all.length - 1] as Promise<WorkloadResult | undefined>;
      });
    } finally {
      opts.expectation?.release();
    }
    const results = await Promise.all(submitted);
    return results.filter((r): r is WorkloadResult => r !== undefined);
  }

  /** Same code path as restart(), nothing written (dry run, `rotor plan`). */
  async plan(changes: ChangedResource[]): Promise<WorkloadResult[]> {
    const arrivedAt = performance.now();
    const groups = await this.consumersOf(changes);
    const results = await Promise.all(
      [...groups.values()].map((g) =>
        this.limit(() =>
          this.workloads.restart(
            g.ref,
            g.changes.map((change) => ({ ref: g.ref, change, arrivedAt })),
            true,
          ),
        ),
      ),
    );
    return results.filter((r): r is WorkloadResult => r !== undefined);
  }

  private async consumersOf(changes: ChangedResource[]) {
    await this.start();
    const groups = new Map<string, { ref: WorkloadRef; changes: ChangedResource[] }>();
    for (const change of changes) {
      if (change.cluster !== this.client.name) {
        this.log('debug', 'change for another cluster ignored', {
          cluster: change.cluster,
          engine: this.client.name,
        });
        continue;
      }
      for (const ref of this.index.lookup(change.namespace, resourceTypeOf(change.kind), change.name)) {
        const key = workloadKey(ref);
        const group = groups.get(key) ?? { ref, changes: [] };
        group.changes.push(change);
        groups.set(key, group);
      }
    }
    return groups;
  }

  private runBatch(items: PendingChange[]): Promise<WorkloadResult | undefined> {
    const latest = new Map<string, PendingChange>();
    for (const item of items) {
      const key = `${item.change.kind}/${item.change.namespace}/${item.change.name}`;
      const seen = latest.get(key);
      if (!seen || seen.arrivedAt < item.arrivedAt) latest.set(key, item);
    }
    const first = items[0] as PendingChange;
    return this.limit(() => this.workloads.restart(first.ref, [...latest.values()], false));
  }

  /**
   * Follows a restart to its end (rolled-out / rollout-failed, bounded by timeoutMs) on the
   * consumer index's watch: no request per workload beyond a rare safety read. A CronJob is
   * followed through the Job created for it. The runs a coalesced restart served follow its
   * one rollout together (one read, not one per run).
   */
  follow(result: WorkloadResult, timeoutMs: number): Promise<RolloutResult> {
    const rollout =
      result.status === 'restarted' && (result.job ?? result.generation) !== undefined
        ? `${result.kind}/${result.namespace}/${result.name}#${result.job ?? result.generation}|${timeoutMs}`
        : undefined;
    const shared = rollout === undefined ? undefined : this.following.get(rollout);
    if (shared) return shared;
    const followed = followRestart(result, timeoutMs, {
      client: this.client,
      kinds: this.kinds,
      subscribe: (ref, onObject) => this.index.follow(ref, onObject),
      pollMs: FOLLOW_POLL_MS,
    });
    if (rollout !== undefined) {
      this.following.set(rollout, followed);
      void followed.finally(() => this.following.delete(rollout));
    }
    return followed;
  }
}
