import type { Clock } from '../../clock.js';
import type { RestartConfig } from '../../config.js';
import { describeError } from '../../errors.js';
import type { WorkloadResult } from '../../outcome.js';
import { isConflict, isNotFound, kubeError } from '../api/errors.js';
import type { KubeObject } from '../api/objects.js';
import type { ChangedResource } from '../changed-resource.js';
import type { ClusterClient } from '../cluster.js';
import type { ConsumerIndex, IndexLog, WorkloadRef } from './consumer-index.js';
import { decideTargets, type ScopedResource } from './decide.js';
import type { ScopeFilter } from './filters.js';
import { GuardRefusedError } from './kinds/guarded-patch.js';
import type { KindOutcome, WorkloadKind } from './kinds/types.js';
import type { PauseResumer } from './pause.js';
import type { ResourceReader } from './resource-reader.js';
import type { Strategy } from './strategies/index.js';

/** A change to a resource a workload consumes, waiting for that workload's restart. */
export interface PendingChange {
  ref: WorkloadRef;
  change: ChangedResource;
  /** performance.now() when the change reached rotor: the resource must be read after it. */
  arrivedAt: number;
}

export interface WorkloadRestartDeps {
  client: ClusterClient;
  options: RestartConfig;
  kinds: readonly WorkloadKind[];
  index: ConsumerIndex;
  reader: ResourceReader;
  scope: ScopeFilter;
  strategy: Strategy;
  clock: Clock;
  log: IndexLog;
  pauses: PauseResumer;
}

const MAX_ATTEMPTS = 5;

/**
 * Restarts one workload for the changes it consumes: read the changed resources' current
 * content, read the workload (the index's copy first), decide (rules.ts), build the patch
 * (strategies/), write it guarded by what the decision read (kinds/guarded-patch.ts; the
 * resourceVersion for kinds and objects without one), and when refused decide again. A dry run stops before writing. Undefined: not a consumer (any
 * more), nothing to report.
 */
export class WorkloadRestart {
  constructor(private readonly deps: WorkloadRestartDeps) {}

  async restart(
    ref: WorkloadRef,
    changes: PendingChange[],
    dryRun: boolean,
  ): Promise<WorkloadResult | undefined> {
    const { client, index, log, strategy, clock } = this.deps;
    const kind = this.deps.kinds.find((k) => k.kind === ref.kind) as WorkloadKind;
    const base = { cluster: client.name, kind: ref.kind, namespace: ref.namespace, name: ref.name };
    try {
      const inputs = await Promise.all(changes.map((c) => this.scoped(c)));
      // The index's copy saves a read per workload; after a 409, see below.
      let cached = index.view(ref);
      let refusedOnce = false;
      for (let attempt = 1; ; attempt++) {
        let obj: KubeObject;
        try {
          obj = cached ?? (await kind.get(client, ref.namespace, ref.name));
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
        const decision = decideTargets(kind, obj, inputs, this.deps.options);
        for (const w of new Set(decision.warnings)) log('warn', w, base);
        if (!decision.consumer) return undefined;
        if (decision.targets.length === 0) {
          return { ...base, status: 'skipped', reason: [...new Set(decision.reasons)].join('; ') };
        }
        try {
          const ctx = { client, strategy, clock, dryRun };
          const outcome = await kind.restart(ctx, obj, decision.targets);
          // Record what was written now rather than when its watch event arrives, so a
          // repeated event right behind this one sees it.
          if (outcome.status === 'restarted' && outcome.object) {
            index.upsert(kind, outcome.object);
            this.deps.pauses.schedule(outcome.object);
          }
          return toResult(base, outcome);
        } catch (error) {
          // A guard of the write failed (guarded-patch.ts): decide again on a fresh read, once;
          // refused again, the patch itself is what the API server rejects.
          if (error instanceof GuardRefusedError && !refusedOnce && attempt < MAX_ATTEMPTS) {
            refusedOnce = true;
            cached = undefined;
            log('debug', 'a guard of the write failed; deciding again on a fresh read', { ...base, attempt });
            continue;
          }
          // A 404 on a write made from the index's copy: the workload is gone; the read says so.
          const stale = isConflict(error) || (cached !== undefined && isNotFound(error));
          if (!stale || attempt >= MAX_ATTEMPTS) throw error;
          // A 409 (a write guarded by the resourceVersion) is most often a status write by
          // the workload's controller since the copy was taken, whose watch event has
          // reached the index by the time the 409 does: decide again on that copy, a round
          // trip sooner than a read. A copy no newer than the one refused is read fresh.
          const newer = isConflict(error) ? index.view(ref) : undefined;
          const moved = newer?.metadata?.resourceVersion !== obj.metadata?.resourceVersion;
          cached = newer && moved ? newer : undefined;
          log('debug', 'workload changed since it was read; deciding again', {
            ...base,
            attempt,
            from: cached ? 'index' : 'read',
          });
        }
      }
    } catch (error) {
      const failure = describeError(kubeError(error, `restart ${ref.kind} ${ref.namespace}/${ref.name}`));
      log('error', 'restart failed', { ...base, error: failure.message, code: failure.code });
      return { ...base, status: 'failed', error: failure };
    }
  }

  private async scoped(c: PendingChange): Promise<ScopedResource> {
    const { scope, reader } = this.deps;
    const [nsReason, resource] = await Promise.all([
      scope.namespaceReason(c.change.namespace),
      reader.read(c.change, c.arrivedAt),
    ]);
    const labelReason = resource.present
      ? scope.resourceReason(c.change.kind, c.change.name, resource.labels)
      : undefined;
    return { resource, outOfScope: nsReason ?? labelReason };
  }
}

function toResult(
  base: { cluster: string; kind: string; namespace: string; name: string },
  outcome: KindOutcome,
): WorkloadResult {
  const job = 'follow' in outcome && outcome.follow ? { job: outcome.follow.name } : {};
  if (outcome.status === 'already-current') return { ...base, status: 'already-current', ...job };
  if (outcome.status === 'skipped') return { ...base, status: 'skipped', reason: outcome.reason };
  return {
    ...base,
    status: 'restarted',
    hashes: outcome.written.map((t) => t.hash),
    ...(outcome.generation !== undefined ? { generation: outcome.generation } : {}),
    ...job,
  };
}
