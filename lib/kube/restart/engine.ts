import { type Clock, systemClock } from '../../clock.js';
import type { RestartConfig } from '../../config.js';
import { describeError } from '../../errors.js';
import { createLimiter } from '../../limiter.js';
import type { RolloutResult, WorkloadResult } from '../../outcome.js';
import { isConflict, isNotFound, kubeError } from '../api/errors.js';
import type { KubeObject } from '../api/objects.js';
import type { ChangedResource } from '../changed-resource.js';
import type { ClusterClient } from '../cluster.js';
import { resourceTypeOf } from './annotations.js';
import { Coalescer, type Expectation, type Now, type Timers } from './coalescer.js';
import { ConsumerIndex, type IndexLog, type WorkloadRef, workloadKey } from './consumer-index.js';
import { decideTargets, type ScopedResource } from './decide.js';
import { ScopeFilter } from './filters.js';
import { pausePeriodMs } from './kinds/deployment.js';
import { WORKLOAD_KINDS } from './kinds/index.js';
import type { KindOutcome, WorkloadKind } from './kinds/types.js';
import { type ResumedDeployment, resumeExpiredPauses } from './pause.js';
import { ResourceReader } from './resource-reader.js';
import { followRollout } from './rollout-follower.js';
import type { FollowedKind } from './rollout-state.js';
import { type Strategy, strategyFor } from './strategies/index.js';

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

interface PendingChange {
  ref: WorkloadRef;
  change: ChangedResource;
  /** performance.now() when the change reached rotor: the resource must be read after it. */
  arrivedAt: number;
}

const MAX_ATTEMPTS = 5;
/** The watch delivers each status change; a read this often only covers a watch being resumed. */
const FOLLOW_POLL_MS = 5_000;

/**
 * Restarts the consumers of changed Secrets, ConfigMaps and SecretProviderClasses in one
 * cluster, with Reloader's rules, hash and patches. Per workload: find it in the index,
 * read the changed resources' current content, read the workload, decide (rules.ts),
 * build the patch (strategies/), write it guarded by the resourceVersion that was read,
 * and on 409 read again and decide again. A change is written at once unless more changes
 * to the same workload are known to be coming (a write for it in flight, or another run
 * that announced them with expect()); those become one write, waiting at most
 * `coalesceWindowMs`. `plan` and dry runs take the same path and stop before writing.
 */
export class RestartEngine {
  private readonly clock: Clock;
  private readonly log: RestartLog;
  private readonly kinds: readonly WorkloadKind[];
  private readonly index: ConsumerIndex;
  private readonly reader: ResourceReader;
  private readonly scope: ScopeFilter;
  private readonly strategy: Strategy;
  private readonly limit: <T>(task: () => Promise<T>) => Promise<T>;
  private readonly coalescer: Coalescer<PendingChange, WorkloadResult | undefined>;
  private readonly namespaces?: readonly string[];
  private indexReady?: Promise<void>;
  private indexWarm = false;

  constructor(
    private readonly client: ClusterClient,
    private readonly options: RestartConfig,
    deps: RestartEngineDeps = {},
  ) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? (() => undefined);
    this.kinds = deps.kinds ?? WORKLOAD_KINDS;
    this.namespaces = deps.namespaces;
    this.index = new ConsumerIndex(client, this.kinds, this.log, deps.namespaces);
    this.reader = new ResourceReader(client);
    this.scope = new ScopeFilter(client, options);
    this.strategy = strategyFor(options.strategy, this.clock);
    this.limit = createLimiter(options.concurrency);
    this.coalescer = new Coalescer(
      options.coalesceWindowMs,
      (_key, items) => this.runBatch(items),
      deps.timers,
      deps.now,
      // Beside Reloader, rotor's write comes last and so is a no-op when Reloader did it.
      options.reloader === 'coexist' ? options.reloaderGraceMs : 0,
    );
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
    for (const t of this.resumeTimers) clearTimeout(t);
  }

  /** Resumes Deployments whose pause-period is over (the timer calls this too, for pauses older than this process). */
  resumePaused(): Promise<ResumedDeployment[]> {
    return resumeExpiredPauses(this.client, this.clock, this.namespaces);
  }

  /** Workloads of a namespace whose pod template mounts the SecretProviderClass, from the index. */
  async mountedBy(namespace: string, className: string): Promise<WorkloadRef[]> {
    await this.start();
    return this.index.referencing(namespace, 'SECRETPROVIDERCLASS', className);
  }

  private readonly resumeTimers = new Set<NodeJS.Timeout>();

  /** A Deployment this restart paused is resumed when its period ends, while this process lives. */
  private scheduleResume(obj: KubeObject): void {
    const period = obj.spec?.paused ? pausePeriodMs(obj) : undefined;
    if (!period) return;
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      this.resumePaused().catch((error) =>
        this.log('warn', 'resuming paused Deployments failed; the timer will retry', {
          error: describeError(error).message,
        }),
      );
    }, period + 100);
    timer.unref();
    this.resumeTimers.add(timer);
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
      const arrivedAt = performance.now();
      const groups = await this.consumersOf(changes);
      submitted = [...groups].map(([key, g]) => {
        const all = g.changes.map((change) =>
          this.coalescer.submit(key, { ref: g.ref, change, arrivedAt }, opts.expectation),
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
          this.process(
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
    return this.limit(() => this.process(first.ref, [...latest.values()], false));
  }

  /**
   * Follows a restart to its end (rolled-out / rollout-failed, bounded by timeoutMs) on the
   * consumer index's watch: no request per workload beyond a rare safety read. A CronJob is
   * followed through the Job created for it.
   */
  follow(result: WorkloadResult, timeoutMs: number): Promise<RolloutResult> {
    const startedAt = performance.now();
    if (result.status !== 'restarted') {
      return Promise.resolve({ status: 'not-followed', reason: `workload ${result.status}` });
    }
    const followed: { kind: FollowedKind; name: string } | undefined =
      result.kind === 'CronJob'
        ? result.job
          ? { kind: 'Job', name: result.job }
          : undefined
        : { kind: result.kind as FollowedKind, name: result.name };
    const kind = followed && this.kinds.find((k) => k.kind === followed.kind);
    if (!followed || !kind) {
      return Promise.resolve({ status: 'not-followed', reason: `${result.kind} is not followed` });
    }
    const ref = { kind: kind.kind, namespace: result.namespace, name: followed.name };
    return followRollout(
      followed.kind,
      result.generation ?? 0,
      {
        subscribe: (onObject) => this.index.follow(ref, onObject),
        read: () => kind.get(this.client, ref.namespace, ref.name).catch(() => undefined),
      },
      { timeoutMs, startedAt, pollMs: FOLLOW_POLL_MS },
    );
  }

  private async process(
    ref: WorkloadRef,
    changes: PendingChange[],
    dryRun: boolean,
  ): Promise<WorkloadResult | undefined> {
    const kind = this.kinds.find((k) => k.kind === ref.kind) as WorkloadKind;
    const base = { cluster: this.client.name, kind: ref.kind, namespace: ref.namespace, name: ref.name };
    try {
      const inputs = await Promise.all(changes.map((c) => this.scoped(c)));
      for (let attempt = 1; ; attempt++) {
        // The index's copy saves a read per workload; after a 409 the object is read fresh.
        const cached = attempt === 1 ? this.index.view(ref) : undefined;
        let obj: KubeObject;
        try {
          obj = cached ?? (await kind.get(this.client, ref.namespace, ref.name));
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
        const decision = decideTargets(kind, obj, inputs, this.options);
        for (const w of new Set(decision.warnings)) this.log('warn', w, base);
        if (!decision.consumer) return undefined;
        if (decision.targets.length === 0) {
          return { ...base, status: 'skipped', reason: [...new Set(decision.reasons)].join('; ') };
        }
        try {
          const ctx = { client: this.client, strategy: this.strategy, clock: this.clock, dryRun };
          const outcome = await kind.restart(ctx, obj, decision.targets);
          // Record what was written now rather than when its watch event arrives, so a
          // repeated event right behind this one sees it.
          if (outcome.status === 'restarted' && outcome.object) {
            this.index.upsert(kind, outcome.object);
            this.scheduleResume(outcome.object);
          }
          return toResult(base, outcome);
        } catch (error) {
          // A 404 on a write made from the index's copy: the workload is gone; the read says so.
          const stale = isConflict(error) || (cached !== undefined && isNotFound(error));
          if (!stale || attempt >= MAX_ATTEMPTS) throw error;
          this.log('debug', 'workload changed since it was read; reading it again', { ...base, attempt });
        }
      }
    } catch (error) {
      const failure = describeError(kubeError(error, `restart ${ref.kind} ${ref.namespace}/${ref.name}`));
      this.log('error', 'restart failed', { ...base, error: failure.message, code: failure.code });
      return { ...base, status: 'failed', error: failure };
    }
  }

  private async scoped(c: PendingChange): Promise<ScopedResource> {
    const [nsReason, resource] = await Promise.all([
      this.scope.namespaceReason(c.change.namespace),
      this.reader.read(c.change, c.arrivedAt),
    ]);
    const labelReason = resource.present
      ? this.scope.resourceReason(c.change.kind, c.change.name, resource.labels)
      : undefined;
    return { resource, outOfScope: nsReason ?? labelReason };
  }
}

function toResult(
  base: { cluster: string; kind: string; namespace: string; name: string },
  outcome: KindOutcome,
): WorkloadResult {
  if (outcome.status === 'already-current') return { ...base, status: 'already-current' };
  if (outcome.status === 'skipped') return { ...base, status: 'skipped', reason: outcome.reason };
  return {
    ...base,
    status: 'restarted',
    hashes: outcome.written.map((t) => t.hash),
    ...(outcome.generation !== undefined ? { generation: outcome.generation } : {}),
    ...(outcome.follow ? { job: outcome.follow.name } : {}),
  };
}
