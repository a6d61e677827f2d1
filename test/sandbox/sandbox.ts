import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../lib/app.js';
import type { App } from '../../lib/app-types.js';
import { type RunningHost, startHost } from '../../lib/host/server.js';
import type { Outcome } from '../../lib/outcome.js';
import { createTelemetry, type Telemetry } from '../../lib/telemetry.js';
import { startChildService } from '../env/child-service.js';
import type { EnvDescriptor } from '../env/descriptor.js';
import { registerAuditTarget } from '../env/index.js';
import { type StandinsOptions, startStandins } from '../standins/standins.js';
import { IN_CLUSTER_VAULT, type SandboxConfigOptions, sandboxConfig } from './config.js';

/**
 * rotor running against a started environment, as it would in Azure: the App behind the
 * local host (same routes as the Functions host), OpenBao's audit device forwarded to
 * /api/vault-audit, and the ESO / VSO stand-ins reconciling every cluster.
 */
export interface Sandbox {
  env: EnvDescriptor;
  app: App;
  host: RunningHost;
  telemetry: Telemetry;
  /** The stand-ins' own process, when they run in one (`standinsProcess`). */
  standinsPid?: number;
  /** Log lines rotor wrote (JSON), for the no-secret-values check. */
  logLines: string[];
  /** Every outcome so far, in the order runs finished. */
  readonly outcomes: readonly Outcome[];
  /** Resolves with the first outcome at index >= `from` for which `match` is true. */
  waitForOutcome(
    match: (o: Outcome) => boolean,
    options?: { timeoutMs?: number; from?: number },
  ): Promise<Outcome>;
  /**
   * The outcome once every rollout it started has ended (rotor answers before they do): the
   * follow-up's final outcome, or `outcome` itself when nothing was still being followed.
   */
  rolledOut(outcome: Outcome, options?: { timeoutMs?: number }): Promise<Outcome>;
  stop(): Promise<void>;
}

export interface SandboxOptions {
  standins?: boolean;
  /**
   * Runs the stand-ins in a child process of their own (test/env/child-service.ts), as the
   * operators run in their own pods: the benchmarks use it so rotor's process is not charged
   * for the stand-ins' CPU and event-loop time. Default: in this process (faster to start).
   */
  standinsProcess?: boolean;
  /** Namespaces the stand-ins reconcile (tests share clusters: never reconcile another test's objects). */
  namespaces?: readonly string[];
  coalesceWindowMs?: number;
  runConcurrency?: number;
  kvMount?: string;
  /** Called with every finished outcome (`npm run sandbox` prints one line per event). */
  onOutcome?: (outcome: Outcome) => void;
  /** Called with a run's final outcome when its rollouts ended after it answered. */
  onFollowUp?: (outcome: Outcome) => void;
  /** Passed to the rotor config (notifications, log level). */
  config?: Pick<SandboxConfigOptions, 'notifications' | 'logLevel'>;
}

export async function startSandbox(env: EnvDescriptor, opts: SandboxOptions = {}): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-sandbox-'));
  const stops: Array<() => Promise<unknown>> = [async () => rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const config = sandboxConfig(env, {
      dir,
      webhookToken: env.openbao.auditBearerToken,
      ...(opts.coalesceWindowMs === undefined ? {} : { coalesceWindowMs: opts.coalesceWindowMs }),
      ...(opts.runConcurrency === undefined ? {} : { runConcurrency: opts.runConcurrency }),
      ...(opts.kvMount === undefined ? {} : { kvMount: opts.kvMount }),
      ...opts.config,
    });
    const logLines: string[] = [];
    const telemetry = createTelemetry(config.telemetry, { inMemory: true, write: (l) => logLines.push(l) });
    const outcomes: Outcome[] = [];
    const followUps: Outcome[] = [];
    const waiters = new Set<() => void>();
    const app = await createApp(config, {
      telemetry,
      onOutcome: (o) => {
        outcomes.push(o);
        for (const w of waiters) w();
        opts.onOutcome?.(o);
      },
      onFollowUp: (o) => {
        followUps.push(o);
        for (const w of waiters) w();
        opts.onFollowUp?.(o);
      },
    });
    stops.push(() => app.close());
    await app.warm();
    const host = await startHost({ app, log: telemetry.log, port: 0, timers: false });
    stops.push(() => host.close());
    let standinsPid: number | undefined;
    if (opts.standins ?? true) {
      const standins: StandinsOptions = {
        kubeconfigs: env.clusters.map((c) => c.adminKubeconfig),
        keyVault: { caPem: env.lowkey.caPem },
        vault: { token: env.openbao.rootToken, addressMap: { [IN_CLUSTER_VAULT]: env.openbao.address } },
        ...(opts.namespaces ? { namespaces: opts.namespaces } : {}),
      };
      if (opts.standinsProcess) {
        const child = await startChildService(
          'operator stand-ins',
          new URL('../standins/standins.ts', import.meta.url),
          'startStandins',
          standins,
        );
        standinsPid = child.pid;
        stops.push(() => child.stop());
      } else {
        const running = await startStandins(standins);
        stops.push(() => running.stop());
      }
    }
    const unregister = await registerAuditTarget(`${host.url}/api/vault-audit?code=${host.key}`, env);
    stops.push(unregister);

    const waitIn = (
      list: Outcome[],
      match: (o: Outcome) => boolean,
      { timeoutMs = 30_000, from = 0 } = {},
      what = 'pipeline outcome',
    ) =>
      new Promise<Outcome>((resolve, reject) => {
        const check = () => {
          const found = list.slice(from).find(match);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching ${what} within ${timeoutMs} ms (${list.length} seen)`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    const waitForOutcome = (
      match: (o: Outcome) => boolean,
      options: { timeoutMs?: number; from?: number } = {},
    ) => waitIn(outcomes, match, options);
    const rolledOut = async (outcome: Outcome, { timeoutMs = 60_000 } = {}) =>
      outcome.workloads.some((w) => w.status === 'restarted' && w.rollout?.status === 'following')
        ? waitIn(followUps, (o) => o.eventId === outcome.eventId, { timeoutMs }, 'rollout follow-up')
        : outcome;
    return {
      env,
      app,
      host,
      telemetry,
      ...(standinsPid === undefined ? {} : { standinsPid }),
      logLines,
      outcomes,
      waitForOutcome,
      rolledOut,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
