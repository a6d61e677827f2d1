import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * Receives OpenBao's `http` audit device posts and forwards each one, body and headers
 * unchanged, to every registered target (tests register their own endpoint), so many
 * test files share one OpenBao without sharing an endpoint.
 *
 * OpenBao posts each audit entry as its own request: one JSON object followed by "\n",
 * no Content-Type header. Its device is synchronous (a failed post fails the Vault
 * request), so the relay answers 204 at once and forwards afterwards; a target's answer
 * never reaches OpenBao. Per target, entries are forwarded in arrival order.
 *
 *   POST   /audit    (OpenBao)  an entry
 *   POST   /targets  {"url"}    forward entries to url (loopback only)
 *   DELETE /targets  {"url"}    stop forwarding to url
 *   GET    /targets             targets with delivery counts
 *   GET    /entries             the last entries received (debugging)
 */
export interface AuditRelay {
  /** Base URL, e.g. http://127.0.0.1:41234 (targets are managed here). */
  readonly url: string;
  /** Where OpenBao's audit device posts. */
  readonly ingestUrl: string;
  stop(): Promise<void>;
}

export interface AuditRelayOptions {
  /** Entries kept for GET /entries (default 500). */
  keep?: number;
}

const TargetBody = z.object({ url: z.url({ protocol: /^https?$/ }) });
const MAX_BODY = 16 * 1024 * 1024;
const FORWARD_TIMEOUT_MS = 10_000;
const HOP_BY_HOP = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding']);

interface Target {
  url: string;
  queue: Promise<void>;
  delivered: number;
  failed: number;
  lastError?: string;
}

export async function startAuditRelay(opts: AuditRelayOptions = {}): Promise<AuditRelay> {
  const keep = opts.keep ?? 500;
  const entries: { receivedAt: string; entry: unknown }[] = [];
  const targets = new Map<string, Target>();

  const server = http.createServer((req, res) => {
    void route(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://relay').pathname;
    if (req.method === 'POST' && path === '/audit') {
      const body = await readBody(req);
      res.writeHead(204).end();
      remember(body);
      for (const target of targets.values()) enqueue(target, body, forwardedHeaders(req.headers));
      return;
    }
    if (path === '/targets') return routeTargets(req, res);
    if (req.method === 'GET' && path === '/entries') return reply(res, 200, entries);
    reply(res, 404, { error: `no route ${req.method} ${path}` });
  }

  async function routeTargets(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === 'GET') return reply(res, 200, listTargets());
    if (req.method !== 'POST' && req.method !== 'DELETE')
      return reply(res, 405, { error: 'use GET, POST or DELETE' });
    const parsed = TargetBody.safeParse(parseJson((await readBody(req)).toString('utf8')));
    if (!parsed.success) return reply(res, 400, { error: 'body must be {"url": "http(s)://..."}' });
    const { url } = parsed.data;
    if (!isLoopback(new URL(url).hostname))
      return reply(res, 400, { error: 'targets must be loopback addresses' });
    if (req.method === 'POST') {
      if (!targets.has(url)) targets.set(url, { url, queue: Promise.resolve(), delivered: 0, failed: 0 });
      return reply(res, 201, listTargets());
    }
    targets.delete(url);
    reply(res, 200, listTargets());
  }

  function remember(body: Buffer): void {
    entries.push({ receivedAt: new Date().toISOString(), entry: parseJson(body.toString('utf8')) });
    if (entries.length > keep) entries.splice(0, entries.length - keep);
  }

  function listTargets() {
    return [...targets.values()].map(({ url, delivered, failed, lastError }) => ({
      url,
      delivered,
      failed,
      lastError,
    }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    ingestUrl: `${url}/audit`,
    stop: async () => {
      targets.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function enqueue(target: Target, body: Buffer, headers: Record<string, string>): void {
  target.queue = target.queue.then(async () => {
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      if (res.ok) target.delivered++;
      else {
        target.failed++;
        target.lastError = `HTTP ${res.status}`;
      }
    } catch (err) {
      target.failed++;
      target.lastError = err instanceof Error ? err.message : String(err);
    }
  });
}

function forwardedHeaders(incoming: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy(new Error(`body over ${MAX_BODY} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}
