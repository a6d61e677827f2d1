import type { App } from './app-types.js';
import { createBackends } from './backends/registry.js';
import { type Clock, systemClock } from './clock.js';
import { LazyClusterPorts } from './cluster-ports-lazy.js';
import { configGaps } from './config/check.js';
import type { Config } from './config.js';
import { purgeTask, runDueScan } from './due-scan.js';
import { healthOf } from './health.js';
import type { TokenSource } from './kube/cluster.js';
import { notify, type Send } from './notify/notifier.js';
import type { Outcome } from './outcome.js';
import type { PipelinePorts } from './pipeline.js';
import { RotationEngine } from './rotation/engine.js';
import { rotationPort } from './rotation/port.js';
import { VerifiedRotation } from './rotation/verified.js';
import { verifiedRotationDeps } from './rotation/verified-deps.js';
import { Runner } from './run.js';
import { runnerSettings } from './run-settings.js';
import { runStatus } from './run-status.js';
import { stateStores } from './state/stores.js';
import { createTelemetry, type Telemetry } from './telemetry.js';

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
  /** Called with a run's final outcome when its rollout follow-ups ended after it answered. */
  onFollowUp?: (outcome: Outcome) => void;
  /** Replaces the rotation and cluster ports (tests run the real runner and host over fakes). */
  ports?: PipelinePorts;
}

/**
 * The composition root: builds every component from the config, lazily (nothing touches
 * the network here), and wires them into the App that entry points call. No behaviour.
 */
export async function createApp(config: Config, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? createTelemetry(config.telemetry);
  const log = telemetry.log;
  const state = stateStores(config.state, clock, log);
  const backends = createBackends(config, { observe: telemetry.backendCall, ...deps.backendDeps });
  const onWarning = log.warn.bind(log);
  const rotation = new RotationEngine({ backends, config, clock, leases: state.leases, onWarning });
  const clusterPorts = new LazyClusterPorts({
    config,
    clock,
    log,
    currentVersion: async (ref) => (await backends.get(ref).readMetadata(ref)).version,
    ...(deps.clusterTokens ? { tokens: deps.clusterTokens } : {}),
  });
  const parts = { rotation, backends, state, clusterPorts, clock, log, runner: () => runner };
  const verified = new VerifiedRotation(verifiedRotationDeps(config, parts));
  const runner: Runner = new Runner({
    ports: deps.ports ?? clusterPorts.withRotation(rotationPort(verified)),
    idempotency: state.idempotency,
    clock,
    telemetry,
    notify: (outcome) => notify(config.notifications, outcome, log, deps.sendNotification),
    ...(deps.onOutcome ? { onOutcome: deps.onOutcome } : {}),
    ...(deps.onFollowUp ? { onFollowUp: deps.onFollowUp } : {}),
    settings: runnerSettings(config),
    settle: (final) => verified.settle(final),
    answering: (answered) => verified.track(answered),
  });
  const purge = purgeTask(state.purgeable, config.state.retentionHours, clock, log);
  return {
    config,
    process: (event) => runner.process(event),
    ignore: (event, source) => runner.ignore(event, source),
    rotate: (ref, options) => runner.rotate(ref, options),
    refresh: (ref, options) => runner.refresh(ref, options),
    plan: async (ref) => (await import('./plan.js')).planFor(ref, clusterPorts), // loads the kube client on use
    scanDue: () =>
      runDueScan({
        scan: () => rotation.scanDue(),
        process: (event) => runner.process(event),
        housekeeping: [() => clusterPorts.resumePaused(), purge, verified.resumeInBackground],
        finishing: { store: state.verifications, schedule: config.rotation.schedule },
        clock,
        log,
      }),
    health: () => healthOf(backends, clusterPorts, state.tables, configGaps(config)),
    warm: () => Promise.all([clusterPorts.warm(), state.warm()]).then(() => undefined),
    resumeVerifications: verified.resumeInBackground,
    runStatus: (eventId) => runStatus(state.idempotency, eventId, clock),
    drain: (graceMs) => runner.drain(graceMs),
    close: async () => {
      await clusterPorts.close();
      await Promise.allSettled([backends.close(), rotation.close()]);
      await telemetry.flush().catch(() => undefined);
    },
  };
}
