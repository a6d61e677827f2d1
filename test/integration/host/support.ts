import { randomUUID } from 'node:crypto';
import { createApp } from '../../../lib/app.js';
import type { App } from '../../../lib/app-types.js';
import type { ChangeEvent, EventSource, IgnoredEvent } from '../../../lib/change-event.js';
import { type Config, parseConfig } from '../../../lib/config.js';
import { type RunningHost, startHost } from '../../../lib/host/server.js';
import type { PipelinePorts } from '../../../lib/pipeline.js';
import type { SecretRef } from '../../../lib/secret-ref.js';
import { createLogger, createTelemetry } from '../../../lib/telemetry.js';
import { testEnv } from '../../env/index.js';
import { fixtureJson } from '../../unit/events/support.js';

export const TOKEN = 'host-test-bearer-token-0123456789';
export const HMAC = 'host-test-hmac-secret-0123456789';
/** The local host's key (header x-functions-key or query code) in these tests. */
export const HOST_KEY = 'host-test-key-0123456789abcdef';

export function hostConfig(overrides: Record<string, unknown> = {}): Config {
  const env = testEnv();
  return parseConfig({
    // No rotation scan of a Key Vault that does not exist (the timer test runs the real scan).
    keyVaults: [{ name: 'sample-kv', rotate: false }],
    vaults: [
      { name: 'bao', address: env.openbao.address, mounts: [{ path: env.openbao.kvMount, version: '2' }] },
    ],
    webhook: { bearerToken: TOKEN, hmacSecret: HMAC, maxBodyBytes: 64 * 1024 },
    state: { connectionString: env.azurite.tableConnectionString },
    ...overrides,
  });
}

/** The real App, and what it was asked to do, as the host's handlers called it. */
export interface RecordingApp extends App {
  /** Events whose work ran to completion (not duplicates, not failed attempts). */
  readonly processed: ChangeEvent[];
  readonly ignored: Array<{ event: IgnoredEvent; source: EventSource }>;
  readonly manual: Array<{ action: 'rotate' | 'refresh'; ref: SecretRef }>;
  scans: number;
}

export interface HostUnderTest {
  host: RunningHost;
  app: RecordingApp;
  logLines: string[];
}

export interface HostTestOptions {
  config?: Config;
  timers?: boolean;
  /** The pipeline's work for one event (runs in the one fake cluster's resolve); throw to fail it. */
  onProcess?: (ref: SecretRef) => Promise<void> | void;
  /** Replaces some of the fake ports (a test that needs restarts and rollouts to follow). */
  ports?: Partial<PipelinePorts>;
}

/**
 * The local host on a free port, in front of the real App (runner, exactly-once over the
 * real Azurite table store), whose cluster and rotation ports are fakes: one cluster where
 * nothing derives from any secret, and rotation that always skips.
 */
export async function startHostUnderTest(options: HostTestOptions = {}): Promise<HostUnderTest> {
  const logLines: string[] = [];
  const write = (l: string) => logLines.push(l);
  const app = await hostTestApp(options, write);
  const host = await startHost({
    app,
    log: createLogger('debug', write),
    port: 0,
    key: HOST_KEY,
    timers: options.timers ?? false,
  });
  return { host, app, logLines };
}

/** The real App over fake cluster and rotation ports (see startHostUnderTest). */
export async function hostTestApp(
  options: HostTestOptions = {},
  write: (line: string) => void = () => undefined,
): Promise<RecordingApp> {
  const config = options.config ?? hostConfig();
  const ports: PipelinePorts = {
    clusters: () => ['fake'],
    rotate: async () => ({ status: 'skipped', reason: 'rotation is not under test' }),
    resolve: async (_cluster, ref) => {
      await options.onProcess?.(ref);
      return [];
    },
    refresh: async () => ({ results: [], changed: [] }),
    restart: async () => [],
    ...options.ports,
  };
  const real = await createApp(config, { ports, telemetry: createTelemetry(config.telemetry, { write }) });
  return recording(real);
}

function recording(real: App): RecordingApp {
  const app: RecordingApp = {
    ...real,
    processed: [],
    ignored: [],
    manual: [],
    scans: 0,
    async process(event) {
      const outcome = await real.process(event);
      if (outcome.status !== 'duplicate') app.processed.push(event);
      return outcome;
    },
    ignore(event, source) {
      app.ignored.push({ event, source });
      real.ignore(event, source);
    },
    rotate(ref, options) {
      app.manual.push({ action: 'rotate', ref });
      return real.rotate(ref, options);
    },
    refresh(ref, options) {
      app.manual.push({ action: 'refresh', ref });
      return real.refresh(ref, options);
    },
    scanDue() {
      app.scans++;
      return real.scanDue();
    },
  };
  return app;
}

/** A fixture's events with fresh ids: the table store outlives one test run. */
export function freshEvents(fixture: string): Array<Record<string, unknown>> {
  const raw = fixtureJson<unknown>(fixture);
  const events = (Array.isArray(raw) ? raw : [raw]) as Array<Record<string, unknown>>;
  return events.map((e) => ({ ...e, id: randomUUID() }));
}

/** The Event Grid route with the key in the URL, as an Event Grid subscription carries it. */
export function eventGridUrl(host: RunningHost): string {
  return `${host.url}/runtime/webhooks/eventgrid?functionName=keyVaultEvents&code=${host.key}`;
}

/** An /api route with the key as query parameter `code`; `query` adds parameters. */
export function apiUrl(host: RunningHost, route: string, query = ''): string {
  return `${host.url}/api/${route}?code=${host.key}${query ? `&${query}` : ''}`;
}

export function notify(
  host: RunningHost,
  events: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(eventGridUrl(host), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification', ...headers },
    body: typeof events === 'string' ? events : JSON.stringify(events),
  });
}
