import { randomUUID } from 'node:crypto';
import { DefaultAzureCredential } from '@azure/identity';
import type { App } from './app-types.js';
import { createBackends } from './backends/registry.js';
import type { ChangeEvent, IgnoredEvent } from './change-event.js';
import { type Clock, systemClock } from './clock.js';
import { type Config, loadConfig } from './config.js';
import { describeError, TransientError } from './errors.js';
import { healthOf } from './health.js';
import type { ChangedResource } from './kube/changed-resource.js';
import { ClusterRegistry, type TokenSource } from './kube/cluster.js';
import { type DerivedObject, refreshDerived, resolveDerived } from './kube/operators/index.js';
import { RestartEngine } from './kube/restart/index.js';
import { notify, type Send } from './notify/notifier.js';
import type { Outcome } from './outcome.js';
import { type PipelinePorts, runPipeline } from './pipeline.js';
import { planFor } from './plan.js';
import { RotationEngine } from './rotation/engine.js';
import { refKey, type SecretRef } from './secret-ref.js';
import { type IdempotencyStore, TableIdempotencyStore, withIdempotency } from './state/idempotency.js';
import { type LeaseStore, MemoryLeaseStore, TableLeaseStore } from './state/lease.js';
import { MemoryIdempotencyStore } from './state/memory-idempotency.js';
import { Tables } from './state/tables.js';
import { createTelemetry, eventAttributes, type Telemetry } from './telemetry.js';

/**
 * The composition root: builds every component from the config, lazily (nothing touches
 * the network here), and exposes the App that entry points call.
 */
export interface AppDeps {
  clock?: Clock;
  telemetry?: Telemetry;
  /** Entra ID tokens for AKS clusters (default: DefaultAzureCredential). */
  clusterTokens?: TokenSource;
  /** Key Vault client injection (tests trust an emulator's CA this way). */
  backendDeps?: Parameters<typeof createBackends>[1];
  sendNotification?: Send;
  /** Called with every finished outcome (the demo and tests watch runs this way). */
  onOutcome?: (outcome: Outcome) => void;
}

export async function createApp(config: Config, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? createTelemetry(config.telemetry);
  const log = telemetry.log;
  const stateConfigured = Boolean(config.state.connectionString || config.state.accountUrl);
  const tables = stateConfigured ? new Tables(config.state) : undefined;
  if (!tables) log.warn('no state store configured: exactly-once holds within this process only');
  const tableStore = tables ? new TableIdempotencyStore(tables) : undefined;
  const idempotency: IdempotencyStore = tableStore ?? new MemoryIdempotencyStore();
  const leases: LeaseStore = tables ? new TableLeaseStore(tables, { clock }) : new MemoryLeaseStore(clock);
  const needsAzure = config.clusters.some((c) => c.aks);
  const clusters = new ClusterRegistry(
    config.clusters,
    deps.clusterTokens ?? (needsAzure ? new DefaultAzureCredential() : undefined),
  );
  const backends = createBackends(config, deps.backendDeps);
  const rotation = new RotationEngine({
    backends,
    config,
    clock,
    leases,
    onWarning: (message, attributes) => log.warn(message, attributes),
  });
  const engines = new Map<string, Promise<RestartEngine>>();
  const engineFor = (cluster: string): Promise<RestartEngine> => {
    let engine = engines.get(cluster);
    if (!engine) {
      engine = clusters.get(cluster).then((client) => {
        const e = new RestartEngine(client, config.restart, {
          clock,
          log: (level, msg, fields) => log[level === 'debug' ? 'debug' : level](msg, { cluster, ...fields }),
        });
        e.start().catch((error) =>
          log.warn('consumer index did not start', { cluster, error: describeError(error).message }),
        );
        return e;
      });
      engine.catch(() => engines.delete(cluster));
      engines.set(cluster, engine);
    }
    return engine;
  };

  const resolveOptionsFor = (cluster: string) => {
    const vsoNamespace = config.clusters.find((c) => c.name === cluster)?.vsoNamespace;
    return {
      vaultConfigs: config.vaults,
      keyVaultConfigs: config.keyVaults,
      ...(vsoNamespace ? { vsoOperatorNamespace: vsoNamespace } : {}),
    };
  };
  const ports: PipelinePorts<DerivedObject> = {
    clusters: () => clusters.names(),
    async rotate(ref, reason) {
      const r = await rotation.rotate(ref, { reason });
      return r.status === 'rotated'
        ? { status: 'rotated', newVersion: r.newVersion }
        : { status: 'skipped', reason: r.detail ? `${r.reason}: ${r.detail}` : r.reason };
    },
    resolve: async (cluster, ref) =>
      resolveDerived(await clusters.get(cluster), ref, resolveOptionsFor(cluster)),
    async refresh(cluster, derived, options) {
      const client = await clusters.get(cluster);
      options.onForced();
      const refreshed = await refreshDerived(client, derived, {
        timeoutMs: config.refresh.timeoutMs,
        dryRun: options.dryRun,
        clock,
      });
      const version = options.event.version ?? options.event.id;
      const changed = withRefreshedTargets(cluster, refreshed).map((c) =>
        c.kind === 'SecretProviderClass' ? { ...c, backendVersion: version } : c,
      );
      return { results: refreshed.results, changed };
    },
    restart: async (cluster, changed, options) => (await engineFor(cluster)).restart(changed, options),
  };

  const finish = async (outcome: Outcome): Promise<Outcome> => {
    telemetry.recordOutcome(outcome);
    log.info('pipeline finished', {
      eventId: outcome.eventId,
      ref: outcome.ref,
      status: outcome.status,
      refreshes: outcome.refreshes.length,
      workloads: outcome.workloads.map((w) => `${w.cluster}/${w.kind}/${w.namespace}/${w.name}=${w.status}`),
      ms: outcome.timeline.at(-1)?.atMs,
    });
    if (!outcome.dryRun) await notify(config.notifications, outcome, log);
    deps.onOutcome?.(outcome);
    return outcome;
  };

  const run = (event: ChangeEvent, options: { dryRun?: boolean; skipRotation?: boolean } = {}) =>
    telemetry.span('rotor.pipeline', eventAttributes(event, refKey(event.ref)), () =>
      runPipeline(event, ports, clock, {
        dryRun: options.dryRun ?? config.restart.dryRun,
        clusterDeadlineMs: config.refresh.timeoutMs + 10_000,
        ...options,
      }),
    );

  // Events naming the same secret version while a run for it is in flight share that run:
  // forcing the same ExternalSecret five times at once only slows each force down.
  const inflight = new Map<string, Promise<Outcome>>();
  const runShared = (event: ChangeEvent, options: { skipRotation?: boolean }): Promise<Outcome> => {
    if (event.version === undefined) return run(event, options);
    const key = `${event.kind}|${refKey(event.ref)}|${event.version}|${options.skipRotation === true}`;
    const running = inflight.get(key);
    if (running) return running.then((o) => ({ ...o, eventId: event.id, sharedRunOf: o.eventId }));
    const started = run(event, options).finally(() => inflight.delete(key));
    inflight.set(key, started);
    return started;
  };

  const process = async (event: ChangeEvent, options: { skipRotation?: boolean } = {}): Promise<Outcome> => {
    telemetry.eventReceived(event.source, event.kind);
    const result = await withIdempotency(
      idempotency,
      `${event.source}:${event.id}`,
      async () => {
        const outcome = await runShared(event, options);
        const unreachable = outcome.clusterFailures.filter((f) => f.retryable);
        if (unreachable.length === 0) return outcome;
        // Nothing is recorded as done: the sender's retry repeats the run, and the clusters
        // that were reached answer already-current.
        await finish(outcome);
        throw new TransientError(
          `${unreachable.map((f) => `cluster ${f.cluster}: ${f.error}`).join('; ')}; deliver the event again`,
          { details: { eventId: event.id, status: outcome.status } },
        );
      },
      {
        inProgressExpiryMs: config.state.inProgressExpiryMs,
        clock,
      },
    );
    if (result.status === 'duplicate') {
      log.info('duplicate delivery: already processed', { eventId: event.id, source: event.source });
      const duplicate = duplicateOutcome(event, result.previous);
      deps.onOutcome?.(duplicate);
      return duplicate;
    }
    return finish(result.value);
  };

  // pause-period: the engine resumes what it paused while it lives; the timer resumes the rest.
  const resumePauses = () =>
    Promise.all(
      clusters.names().map(async (cluster) => {
        try {
          const resumed = await (await engineFor(cluster)).resumePaused();
          if (resumed.length > 0)
            log.info('resumed paused Deployments', {
              cluster,
              resumed: resumed.map((r) => `${r.namespace}/${r.name}`),
            });
        } catch (error) {
          log.warn('resuming paused Deployments failed', { cluster, error: describeError(error).message });
        }
      }),
    );

  const purgeOldRecords = async () => {
    if (!tableStore) return;
    try {
      const before = new Date(clock.now().getTime() - config.state.retentionHours * 3_600_000);
      const purged = await tableStore.purgeCompleted(before);
      if (purged > 0) log.info('purged completed event records', { purged, before: before.toISOString() });
    } catch (error) {
      log.warn('purging event records failed; the next timer run retries', {
        error: describeError(error).message,
      });
    }
  };

  const manualEvent = (ref: SecretRef, kind: ChangeEvent['kind'], requestId?: string): ChangeEvent => {
    const now = clock.now();
    return {
      id: requestId ?? `manual-${randomUUID()}`,
      ref,
      kind,
      source: 'manual',
      observedAt: now,
      receivedAt: now,
    };
  };

  return {
    config,
    process: (event) => process(event),
    ignore(event: IgnoredEvent, source) {
      telemetry.eventIgnored(source, event.reason);
      log.info('event ignored', { eventId: event.id, source, reason: event.reason });
    },
    async rotate(ref, options = {}) {
      const event = manualEvent(ref, 'rotate-requested', options.requestId);
      return options.dryRun ? finish(await run(event, { dryRun: true })) : process(event);
    },
    async refresh(ref, options = {}) {
      const event = manualEvent(ref, 'changed', options.requestId);
      return options.dryRun
        ? finish(await run(event, { dryRun: true }))
        : process(event, { skipRotation: true });
    },
    plan: (ref) => planFor(ref, clusters, engineFor, resolveOptionsFor),
    async scanDue() {
      await Promise.all([resumePauses(), purgeOldRecords()]);
      const due = await rotation.scanDue();
      const day = clock.now().toISOString().slice(0, 13);
      const outcomes: Outcome[] = [];
      for (const d of due) {
        const now = clock.now();
        const id = `due:${refKey(d.ref)}@${d.version ?? day}`;
        outcomes.push(
          await process({
            id,
            ref: d.ref,
            kind: 'rotate-due',
            source: 'timer',
            observedAt: now,
            receivedAt: now,
          }),
        );
      }
      if (due.length === 0) log.info('rotation scan: nothing due');
      return outcomes;
    },
    health: () => healthOf(backends, clusters, tables),
    async warm() {
      await Promise.all([
        ...clusters.names().map(async (cluster) => {
          try {
            await (await engineFor(cluster)).start();
          } catch (error) {
            log.warn('warm-up: cluster not ready', { cluster, error: describeError(error).message });
          }
        }),
        tables
          ?.get('idempotency')
          .catch((error) =>
            log.warn('warm-up: state store not ready', { error: describeError(error).message }),
          ),
      ]);
    },
    async close() {
      await Promise.allSettled([...engines.values()].map(async (e) => (await e).close()));
      await backends.close();
      await telemetry.flush().catch(() => undefined);
    },
  };
}

/**
 * Every refreshed target Secret goes to the restart engine, not only those whose data
 * changed during the force: when the operator's own poll got there first, the Secret is
 * already new but its consumers may not have restarted. The hash makes it a no-op for
 * workloads that are current.
 */
function withRefreshedTargets(
  cluster: string,
  refreshed: Awaited<ReturnType<typeof refreshDerived>>,
): ChangedResource[] {
  const byKey = new Map(refreshed.changed.map((c) => [`${c.kind}/${c.namespace}/${c.name}`, c]));
  for (const r of refreshed.results) {
    if (r.status !== 'refreshed' || !r.targetSecret) continue;
    byKey.set(`Secret/${r.namespace}/${r.targetSecret}`, {
      cluster,
      kind: 'Secret',
      namespace: r.namespace,
      name: r.targetSecret,
    });
  }
  return [...byKey.values()];
}

function duplicateOutcome(event: ChangeEvent, previous: Outcome | undefined): Outcome {
  return {
    ...(previous ?? { refreshes: [], workloads: [], clusterFailures: [], timeline: [], dryRun: false }),
    eventId: event.id,
    ref: refKey(event.ref),
    kind: event.kind,
    source: event.source,
    status: 'duplicate',
  };
}

let current: Promise<App> | undefined;
let factory: () => Promise<App> = () => createApp(loadConfig());

/** Entry points call this; the app is built once per process, on first use. */
export function getApp(): Promise<App> {
  if (!current) {
    current = factory();
    current.catch(() => {
      current = undefined;
    });
  }
  return current;
}

export function setAppFactory(f: () => Promise<App>): void {
  factory = f;
  current = undefined;
}

export function setAppForTesting(app: App | undefined): void {
  current = app ? Promise.resolve(app) : undefined;
}
