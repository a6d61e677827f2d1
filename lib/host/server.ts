import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpHandler, InvocationContext, Timer } from '@azure/functions';
import { healthHandler } from '../../functions/health.js';
import { refreshHandler } from '../../functions/refresh.js';
import { rotateHandler } from '../../functions/rotate.js';
import { rotationTimerHandler } from '../../functions/rotationTimer.js';
import { runStatusHandler } from '../../functions/runStatus.js';
import { vaultAuditHandler } from '../../functions/vaultAudit.js';
import type { App, AppSource } from '../app-types.js';
import type { DrainReport } from '../drain.js';
import { ConfigError, describeError, httpStatusOf } from '../errors.js';
import { checkDeclaredLength, readBodyLimited } from '../intake/body-limit.js';
import { AUDIT_MEDIA_TYPES } from '../intake/vault-audit.js';
import type { Logger } from '../telemetry.js';
import { EVENT_GRID_FUNCTION, serveEventGridWebhook } from './eventgrid-webhook.js';
import { type GuardPolicy, hostsFor, isLoopback, refusalOf } from './guard.js';
import { generateHostKey, hostKeyFile } from './host-key.js';
import { toHttpRequest, writeJson, writeResponse } from './http-bridge.js';
import { invocationContext } from './invocation.js';
import { runOnSchedule, type ScheduleRunner } from './timer.js';

export interface HostOptions {
  app: App;
  log: Logger;
  /** Default config.port (7071, as `func start`); 0 picks a free port. */
  port?: number;
  /** Default config.host.address (127.0.0.1); any other address needs a configured key. */
  hostname?: string;
  /** Default config.host.key, else a key generated and written to .cache/host-key. */
  key?: string;
  /** Where a generated key is written (default .cache/host-key in the project folder). */
  keyFile?: string;
  /** Run the rotation timer on config.rotation.schedule (default true). */
  timers?: boolean;
}

export interface RunningHost {
  url: string;
  /** What every request must carry as header x-functions-key or query parameter code. */
  key: string;
  /** Where a generated key was written (undefined when it was given). */
  keyFile?: string;
  /**
   * SIGTERM: stops accepting connections, lets runs in flight finish within `graceMs` and
   * answers them; runs that cannot finish are answered 503 and their claims given back
   * (App.drain). Every connection is closed when it returns.
   */
  shutdown(graceMs: number): Promise<DrainReport>;
  close(): Promise<void>;
}

type ApiRoute = {
  method: string;
  name: string;
  handler: (rotor: AppSource) => HttpHandler;
  /** A route with one path parameter (`runs/{eventId}`): its name. */
  param?: string;
};

/** The HTTP triggers under the `api` route prefix (host.json), by route (functions/index.ts). */
const API_ROUTES: Record<string, ApiRoute> = {
  'vault-audit': { method: 'POST', name: 'vaultAudit', handler: vaultAuditHandler },
  rotate: { method: 'POST', name: 'rotate', handler: rotateHandler },
  refresh: { method: 'POST', name: 'refresh', handler: refreshHandler },
  health: { method: 'GET', name: 'health', handler: healthHandler },
  runs: { method: 'GET', name: 'runStatus', handler: runStatusHandler, param: 'eventId' },
};

/** How long answers written at the end of a drain may take to leave before connections are cut. */
const FLUSH_MS = 1_000;

/**
 * The local stand-in for the Functions host (`npm start`, the sandbox): the same routes,
 * served by invoking the very handlers exported from functions/, plus the timer.
 */
export async function startHost(options: HostOptions): Promise<RunningHost> {
  const { app, log } = options;
  const hostname = options.hostname ?? app.config.host.address;
  const given = options.key ?? app.config.host.key?.reveal();
  if (!given && !isLoopback(hostname))
    throw new ConfigError([`host.address ${hostname} is not loopback: set ROTOR_HOST_KEY (host.key)`]);
  const keyFile = given ? undefined : (options.keyFile ?? hostKeyFile());
  const key = given ?? (await generateHostKey(keyFile));
  const guard: GuardPolicy = { key, hosts: new Set() };
  let draining = false;
  const server = createServer((req, res) => {
    const started = Date.now();
    // While shutting down, every answer ends its connection: nothing new arrives on it.
    if (draining) res.setHeader('Connection', 'close');
    route(req, res, options, guard)
      .catch((error: unknown) =>
        writeJson(res, httpStatusOf(error), { error: 'internal', message: describeError(error).message }),
      )
      .catch(() => res.destroy())
      .finally(() =>
        log.debug('request', {
          method: req.method,
          // The path only: the query may hold the key (?code=).
          path: new URL(req.url ?? '/', 'http://localhost').pathname,
          status: res.statusCode,
          ms: Date.now() - started,
        }),
      );
  });
  const address = await listen(server, options.port ?? app.config.port, hostname);
  guard.hosts = hostsFor(address.address, address.port);
  const timer: ScheduleRunner | undefined =
    options.timers === false
      ? undefined
      : runOnSchedule(
          app.config.rotation.schedule,
          (t: Timer) =>
            rotationTimerHandler(async () => app)(t, invocationContext('rotationTimer', log, 'timerTrigger')),
          log,
        );
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url,
    key,
    ...(keyFile ? { keyFile } : {}),
    shutdown: async (graceMs) => {
      timer?.stop();
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const report = await app.drain(graceMs);
      let flushed: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (flushed = setTimeout(resolve, FLUSH_MS)))]);
      clearTimeout(flushed);
      server.closeAllConnections();
      await closed;
      return report;
    },
    close: async () => {
      timer?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  options: HostOptions,
  guard: GuardPolicy,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // The audit route takes what log shippers send (OpenBao's device: no type) and checks its own token or HMAC.
  const audit = url.pathname.replace(/\/$/, '') === '/api/vault-audit';
  const media = audit ? { mediaTypes: AUDIT_MEDIA_TYPES, allowMissing: true } : {};
  const refusal = refusalOf(req.method ?? 'GET', url, req.headers, guard, media);
  if (refusal) {
    options.log.warn('request refused', {
      path: url.pathname,
      status: refusal.status,
      reason: refusal.error,
    });
    return writeJson(res, refusal.status, { error: refusal.error, message: refusal.message });
  }
  if (url.pathname === '/runtime/webhooks/eventgrid') return serveEventGridWebhook(req, res, url, options);
  const api = /^\/api\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
  const found = api && Object.hasOwn(API_ROUTES, api[1]!) ? API_ROUTES[api[1]!] : undefined;
  // A route takes a parameter exactly when it declares one (`/api/runs/{eventId}`).
  const target = found && Boolean(found.param) === (api?.[2] !== undefined) ? found : undefined;
  if (url.pathname === '/' && req.method === 'GET') {
    return writeJson(res, 200, {
      name: 'rotor',
      functions: [EVENT_GRID_FUNCTION, ...Object.values(API_ROUTES).map((r) => r.name), 'rotationTimer'],
    });
  }
  if (!target)
    return writeJson(res, 404, { error: 'not_found', message: `no function serves ${url.pathname}` });
  if (req.method !== target.method) {
    return writeJson(
      res,
      405,
      { error: 'method_not_allowed', message: `use ${target.method}` },
      { Allow: target.method },
    );
  }
  let body: Buffer;
  try {
    const maxBytes = options.app.config.webhook.maxBodyBytes;
    checkDeclaredLength(req.headers['content-length'], maxBytes);
    body = await readBodyLimited(req, maxBytes);
  } catch (error) {
    res.setHeader('Connection', 'close');
    return writeJson(res, httpStatusOf(error), {
      error: describeError(error).code,
      message: describeError(error).message,
    });
  }
  const context: InvocationContext = invocationContext(target.name, options.log, 'httpTrigger');
  const handler = target.handler(async () => options.app);
  const params = target.param ? { [target.param]: decodeParam(api![2]!) } : {};
  return writeResponse(res, await handler(toHttpRequest(req, url, body, params), context));
}

/** As the Functions host decodes route parameters; a malformed escape is kept as written (the handler refuses it). */
function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function listen(server: Server, port: number, hostname: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
