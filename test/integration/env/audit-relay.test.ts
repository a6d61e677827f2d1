import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { registerAuditTarget, testEnv, uniqueName, vaultClient } from '../../env/index.js';

interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A loopback endpoint standing where rotor's Vault audit webhook will be. */
async function startTarget(): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/vault-audit`;
  return { url, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function eventually<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface AuditEntry {
  type: string;
  error?: string;
  request: { path: string; operation: string; mount_type?: string };
  response?: { data?: { version?: number } };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

describe('OpenBao http audit device through the audit relay', () => {
  it('delivers a KV v2 write as a response entry with path, operation and the new version', async () => {
    const env = testEnv();
    const target = await startTarget();
    cleanups.push(target.close, await registerAuditTarget(target.url));
    const name = uniqueName('audited');
    const path = `${env.openbao.kvMount}/data/${name}`;

    await vaultClient(env).write(path, { data: { password: 'first' } });
    await vaultClient(env).write(path, { data: { password: 'second' } });

    const responses = await eventually(() => {
      const entries = target.received
        .map((r) => JSON.parse(r.body) as AuditEntry)
        .filter((e) => e.type === 'response' && e.request.path === path);
      return entries.length >= 2 ? entries : undefined;
    });
    expect(responses.map((e) => [e.request.operation, e.response?.data?.version])).toEqual([
      ['create', 1],
      ['update', 2],
    ]);
    expect(responses[0]?.request.mount_type).toBe('kv');
    expect(responses[0]?.error ?? '').toBe('');
  });

  it('forwards each entry as OpenBao posts it: one JSON object and a newline per request, values HMAC-ed', async () => {
    const env = testEnv();
    const target = await startTarget();
    cleanups.push(target.close, await registerAuditTarget(target.url));
    const path = `${env.openbao.kvMount}/data/${uniqueName('format')}`;

    await vaultClient(env).write(path, { data: { password: 'plain-text-value' } });

    const received = await eventually(() => target.received.find((r) => r.body.includes(`"path":"${path}"`)));
    expect(received.body.endsWith('}\n')).toBe(true);
    expect(received.body.trimEnd().includes('\n')).toBe(false);
    expect(received.body).not.toContain('plain-text-value');
    expect(received.body).toContain('hmac-sha256:');
  });

  it('stops forwarding to a target once it is unregistered', async () => {
    const env = testEnv();
    const target = await startTarget();
    cleanups.push(target.close);
    const unregister = await registerAuditTarget(target.url);
    await unregister();

    const path = `${env.openbao.kvMount}/data/${uniqueName('unregistered')}`;
    await vaultClient(env).write(path, { data: { k: 'v' } });
    // The relay keeps what it received; once the write is there, forwarding was decided.
    const entries = await eventually(async () => {
      const res = await fetch(`${env.openbao.auditRelayUrl}/entries`);
      const all = (await res.json()) as { entry: AuditEntry }[];
      return all.some((e) => e.entry.type === 'response' && e.entry.request.path === path) ? all : undefined;
    });

    expect(entries.length).toBeGreaterThan(0);
    expect(target.received.filter((r) => r.body.includes(path))).toEqual([]);
  });

  it('accepts only loopback targets', async () => {
    const env = testEnv();
    const res = await fetch(`${env.openbao.auditRelayUrl}/targets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://192.0.2.10/hook' }),
    });
    expect(res.status).toBe(400);
  });
});
