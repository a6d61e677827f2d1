import type { ChangeEvent } from '../../../lib/change-event.js';
import type { Clock } from '../../../lib/clock.js';
import { describeError } from '../../../lib/errors.js';
import type { ChangedResource } from '../../../lib/kube/changed-resource.js';
import type { RefreshResult, WorkloadResult } from '../../../lib/outcome.js';
import type { DerivedRef, PipelinePorts, RotationResult } from '../../../lib/pipeline.js';
import type { RunnerSettings } from '../../../lib/run-settings.js';
import type { SecretRef } from '../../../lib/secret-ref.js';

/** A clock that moves only when told. */
export class ManualClock implements Clock {
  constructor(private t = Date.parse('2026-11-29T12:00:00Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface FakeCluster {
  derived?: DerivedRef[];
  /** Thrown from resolve (an unreachable or forbidding API server). */
  fail?: Error;
  /** Resolved after resolve started; lets a test hold a run in flight. */
  gate?: Promise<void>;
  workloads?: WorkloadResult[];
  /** Every refresh in the cluster fails with this error (an operator timing out, refusing). */
  refreshFails?: Error;
}

/**
 * Pipeline ports over in-memory clusters: each derived object refreshes to its target
 * Secret, each change restarts the cluster's `workloads`. Every call is recorded.
 */
export function fakePorts(
  clusters: Record<string, FakeCluster>,
  rotation: RotationResult = { status: 'skipped', reason: 'no policy' },
) {
  const calls = {
    rotate: [] as Array<{ ref: SecretRef; reason: ChangeEvent['kind']; expectedVersion?: string }>,
    resolve: [] as string[],
    refresh: [] as Array<{ cluster: string; dryRun: boolean }>,
    restart: [] as Array<{ cluster: string; changed: ChangedResource[]; dryRun: boolean }>,
  };
  const ports: PipelinePorts = {
    clusters: () => Object.keys(clusters),
    rotate: async (ref, options) => {
      calls.rotate.push({ ref, ...options });
      return rotation;
    },
    resolve: async (cluster) => {
      calls.resolve.push(cluster);
      const c = clusters[cluster] ?? {};
      await c.gate;
      if (c.fail) throw c.fail;
      return c.derived ?? [];
    },
    refresh: async (cluster, derived, options) => {
      calls.refresh.push({ cluster, dryRun: options.dryRun });
      options.onForced();
      const fails = clusters[cluster]?.refreshFails;
      if (fails) {
        const error = describeError(fails);
        const failed = derived.map((d): RefreshResult => ({ status: 'failed', cluster, ...d, error }));
        return { results: failed, changed: [] };
      }
      const results: RefreshResult[] = derived.map((d) => ({
        status: 'refreshed',
        cluster,
        operator: d.operator,
        kind: d.kind,
        namespace: d.namespace,
        name: d.name,
        targetSecret: `${d.name}-secret`,
        secretChanged: true,
        ms: 1,
      }));
      const changed = derived.map(
        (d): ChangedResource => ({
          cluster,
          kind: 'Secret',
          namespace: d.namespace,
          name: `${d.name}-secret`,
        }),
      );
      return { results, changed };
    },
    restart: async (cluster, changed, options) => {
      calls.restart.push({ cluster, changed, dryRun: options.dryRun });
      return clusters[cluster]?.workloads ?? [];
    },
  };
  return { ports, calls };
}

export const KV_REF: SecretRef = { backend: 'azure-keyvault', vault: 'sample-kv', name: 'db-password' };

export function changeEvent(
  overrides: Partial<ChangeEvent> = {},
  clock: Clock = new ManualClock(),
): ChangeEvent {
  return {
    id: 'event-1',
    ref: KV_REF,
    kind: 'changed',
    source: 'eventgrid',
    observedAt: clock.now(),
    receivedAt: clock.now(),
    ...overrides,
  };
}

export function restarted(cluster: string, name: string): Extract<WorkloadResult, { status: 'restarted' }> {
  return { status: 'restarted', cluster, kind: 'Deployment', namespace: 'app', name, hashes: ['h'] };
}

export const ES: DerivedRef = { operator: 'eso', kind: 'ExternalSecret', namespace: 'app', name: 'db' };

/** The Runner's settings in unit tests: room for every run, deadlines no test reaches. */
export function runnerTestSettings(overrides: Partial<RunnerSettings> = {}): RunnerSettings {
  return {
    dryRun: false,
    concurrency: 4,
    queueLimit: 100,
    clusterDeadlineMs: 60_000,
    inProgressExpiryMs: 120_000,
    ...overrides,
  };
}
