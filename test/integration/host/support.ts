import { randomUUID } from 'node:crypto';
import { type Config, parseConfig } from '../../../lib/config.js';
import { type RunningHost, startHost } from '../../../lib/host/server.js';
import { TableIdempotencyStore } from '../../../lib/state/idempotency.js';
import { Tables } from '../../../lib/state/tables.js';
import { createLogger } from '../../../lib/telemetry.js';
import { testEnv } from '../../env/index.js';
import { fixtureJson } from '../../unit/events/support.js';
import { type AppStandInOptions, appStandIn, type RecordingApp } from '../../unit/functions/app-standin.js';

export const TOKEN = 'host-test-bearer-token-0123456789';
export const HMAC = 'host-test-hmac-secret-0123456789';

export function hostConfig(overrides: Record<string, unknown> = {}): Config {
  const env = testEnv();
  return parseConfig({
    keyVaults: [{ name: 'sample-kv' }],
    vaults: [
      { name: 'bao', address: env.openbao.address, mounts: [{ path: env.openbao.kvMount, version: '2' }] },
    ],
    webhook: { bearerToken: TOKEN, hmacSecret: HMAC, maxBodyBytes: 64 * 1024 },
    state: { connectionString: env.azurite.tableConnectionString },
    ...overrides,
  });
}

export interface HostUnderTest {
  host: RunningHost;
  app: RecordingApp;
  logLines: string[];
}

/**
 * The local host on a free port, in front of appStandIn whose process() is exactly-once
 * over the real Azurite table store (as the real App's is).
 */
export async function startHostUnderTest(
  options: Partial<AppStandInOptions> & { config?: Config; timers?: boolean } = {},
): Promise<HostUnderTest> {
  const config = options.config ?? hostConfig();
  const app = appStandIn({
    ...options,
    config,
    idempotency: new TableIdempotencyStore(new Tables(config.state)),
  });
  const logLines: string[] = [];
  const host = await startHost({
    app,
    log: createLogger('debug', (l) => logLines.push(l)),
    port: 0,
    timers: options.timers ?? false,
  });
  return { host, app, logLines };
}

/** A fixture's events with fresh ids: the table store outlives one test run. */
export function freshEvents(fixture: string): Array<Record<string, unknown>> {
  const raw = fixtureJson<unknown>(fixture);
  const events = (Array.isArray(raw) ? raw : [raw]) as Array<Record<string, unknown>>;
  return events.map((e) => ({ ...e, id: randomUUID() }));
}

export function eventGridUrl(host: RunningHost): string {
  return `${host.url}/runtime/webhooks/eventgrid?functionName=keyVaultEvents`;
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
