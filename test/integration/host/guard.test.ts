import { mkdtemp, stat } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';
import { readHostKey } from '../../../lib/host/host-key.js';
import { type RunningHost, startHost } from '../../../lib/host/server.js';
import { createLogger } from '../../../lib/telemetry.js';
import { type HostUnderTest, hostConfig, hostTestApp, startHostUnderTest } from './support.js';

/** Issue #12.2: the local host answers only keyed, JSON, same-host, non-browser requests. */
let running: HostUnderTest | undefined;
let extra: RunningHost | undefined;
afterEach(async () => {
  await running?.host.close();
  await extra?.close();
  running = undefined;
  extra = undefined;
});

/** node:http, because fetch does not let a test choose the Host header. */
function send(
  host: RunningHost,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(host.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const JSON_POST = { method: 'POST', headers: { 'content-type': 'application/json' } };
const ROTATE_BODY = '{"keyVault":"sample-kv","name":"db"}';
const ROUTES: Array<[string, { method: string; headers?: Record<string, string>; body?: string }]> = [
  ['/api/rotate', { ...JSON_POST, body: ROTATE_BODY }],
  ['/api/refresh', { ...JSON_POST, body: ROTATE_BODY }],
  ['/api/health', { method: 'GET' }],
  ['/api/vault-audit', { ...JSON_POST, body: '{}' }],
  ['/runtime/webhooks/eventgrid?functionName=keyVaultEvents', { ...JSON_POST, body: '[]' }],
  ['/', { method: 'GET' }],
];

describe('local host: every route needs the key', () => {
  it.each(ROUTES)('%s without a key or with a wrong one: 401, and no handler runs', async (path, init) => {
    running = await startHostUnderTest();
    const { host, app } = running;
    const sep = path.includes('?') ? '&' : '?';

    const none = await send(host, path, init);
    const wrongHeader = await send(host, path, {
      ...init,
      headers: { ...init.headers, 'x-functions-key': 'nope' },
    });
    const wrongQuery = await send(host, `${path}${sep}code=${host.key.slice(0, -1)}`, init);

    expect([none.status, wrongHeader.status, wrongQuery.status]).toEqual([401, 401, 401]);
    expect(app.manual.length + app.processed.length).toBe(0);
  });

  it('accepts the key as header x-functions-key or as query parameter code, and never logs it', async () => {
    running = await startHostUnderTest();
    const { host, app, logLines } = running;

    const header = await send(host, '/api/rotate', {
      ...JSON_POST,
      headers: { ...JSON_POST.headers, 'x-functions-key': host.key },
      body: ROTATE_BODY,
    });
    const query = await send(host, `/api/refresh?code=${host.key}`, { ...JSON_POST, body: ROTATE_BODY });

    expect([header.status, query.status]).toEqual([200, 200]);
    expect(app.manual.map((m) => m.action)).toEqual(['rotate', 'refresh']);
    expect(logLines.join('\n')).not.toContain(host.key);
  });
});

describe('local host: refuses what a browser or DNS rebinding would send', () => {
  it('refuses a Host header that names another host (403), even with the key', async () => {
    running = await startHostUnderTest();
    const { host, app } = running;
    const port = new URL(host.url).port;
    const keyed = { 'x-functions-key': host.key };

    const rebound = await send(host, '/', {
      headers: { ...keyed, host: `attacker.example:${port}` },
    });
    const otherPort = await send(host, '/', { headers: { ...keyed, host: 'localhost:1' } });
    const local = await send(host, '/', { headers: { ...keyed, host: `localhost:${port}` } });

    expect([rebound.status, otherPort.status, local.status]).toEqual([403, 403, 200]);
    expect(app.manual).toEqual([]);
  });

  it('refuses any request carrying an Origin header (403), even with the key', async () => {
    running = await startHostUnderTest();
    const { host, app } = running;

    const res = await send(host, `/api/rotate?code=${host.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://attacker.example' },
      body: ROTATE_BODY,
    });

    expect(res.status).toBe(403);
    expect(app.manual).toEqual([]);
  });

  it.each([
    ['text/plain', '/api/rotate'],
    ['application/x-www-form-urlencoded', '/api/refresh'],
    ['multipart/form-data; boundary=x', '/runtime/webhooks/eventgrid?functionName=keyVaultEvents'],
    ['', '/api/rotate'],
  ])('answers 415 to a POST with content type "%s" on %s', async (type, path) => {
    running = await startHostUnderTest();
    const { host, app } = running;

    const res = await send(host, path, {
      method: 'POST',
      headers: { 'x-functions-key': host.key, ...(type ? { 'content-type': type } : {}) },
      body: ROTATE_BODY,
    });

    expect(res.status).toBe(415);
    expect(app.manual.length + app.processed.length).toBe(0);
  });
});

describe('local host: where the key comes from', () => {
  it('generates a key when none is configured and writes it, owner-only, where clients read it', async () => {
    const log: string[] = [];
    const keyFile = path.join(await mkdtemp(path.join(os.tmpdir(), 'rotor-key-')), 'cache', 'host-key');
    extra = await startHost({
      app: await hostTestApp({ config: hostConfig() }),
      log: createLogger('debug', (l) => log.push(l)),
      port: 0,
      keyFile,
      timers: false,
    });

    const mode = (await stat(extra.keyFile as string)).mode & 0o777;

    expect(extra.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await readHostKey(extra.keyFile)).toBe(extra.key);
    expect(mode).toBe(0o600);
    expect(extra.keyFile).toBe(keyFile);
    expect(log.join('\n')).not.toContain(extra.key);
    expect((await send(extra, `/?code=${extra.key}`)).status).toBe(200);
  });

  it('uses ROTOR_HOST_KEY (host.key) when it is set', async () => {
    const config = hostConfig({ host: { key: 'configured-host-key-0123456789' } });
    extra = await startHost({
      app: await hostTestApp({ config }),
      log: createLogger('error'),
      port: 0,
      timers: false,
    });

    expect(extra.key).toBe('configured-host-key-0123456789');
    expect(extra.keyFile).toBeUndefined();
  });

  it('refuses to bind a non-loopback address without a configured key', async () => {
    const start = startHost({
      app: await hostTestApp({ config: hostConfig() }),
      log: createLogger('error'),
      hostname: '0.0.0.0',
      port: 0,
      timers: false,
    });

    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(/ROTOR_HOST_KEY/);
  });
});
