import { afterEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../../lib/errors.js';
import { registerAuditTarget, testEnv, uniqueName, vaultClient } from '../../env/index.js';
import { fixtureText } from '../../unit/events/support.js';
import {
  apiUrl,
  eventGridUrl,
  freshEvents,
  type HostUnderTest,
  hostConfig,
  notify,
  startHostUnderTest,
  TOKEN,
} from './support.js';

let running: HostUnderTest | undefined;
afterEach(async () => {
  await running?.host.close();
  running = undefined;
});

async function start(...args: Parameters<typeof startHostUnderTest>) {
  running = await startHostUnderTest(...args);
  return running;
}

describe('local host: Event Grid webhook route', () => {
  it('answers the SubscriptionValidation handshake with the validation code', async () => {
    const { host } = await start();

    const res = await fetch(eventGridUrl(host), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'SubscriptionValidation' },
      body: fixtureText('eventgrid/subscription-validation.json'),
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' });
  });

  it('answers the CloudEvents OPTIONS abuse-protection handshake', async () => {
    const { host } = await start();

    const res = await fetch(eventGridUrl(host), {
      method: 'OPTIONS',
      headers: { 'WebHook-Request-Origin': 'eventgrid.azure.net' },
    });

    expect(res.status).toBe(200);
    expect(res.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net');
    expect(res.headers.get('webhook-allowed-rate')).toBe('*');
  });

  it('invokes keyVaultEvents once per event of a batch: secret and certificate events processed, key and policy events ignored', async () => {
    const { host, app } = await start();
    const events = freshEvents('eventgrid/keyvault-all-types.eventgrid.json');

    const res = await notify(host, events);
    const body = (await res.json()) as { results: Array<{ status: string }> };

    expect(res.status).toBe(200);
    expect(body.results.map((r) => r.status)).toEqual([
      ...Array(6).fill('processed'),
      ...Array(4).fill('ignored'),
    ]);
    expect(
      app.processed.map((e) => `${e.kind}:${e.ref.backend === 'azure-keyvault' ? e.ref.name : ''}`).sort(),
    ).toEqual(
      [
        'changed:db-password',
        'near-expiry:db-password',
        'expired:db-password',
        'changed:tls-cert',
        'near-expiry:tls-cert',
        'expired:tls-cert',
      ].sort(),
    );
    expect(app.ignored).toHaveLength(4);
  });

  it('accepts CloudEvents as a batch (application/cloudevents-batch+json) and singly (application/cloudevents+json)', async () => {
    const { host, app } = await start();
    const [single, ...batch] = freshEvents('eventgrid/keyvault-all-types.cloudevents.json');

    const batchRes = await notify(host, batch, {
      'content-type': 'application/cloudevents-batch+json',
      'aeg-event-type': '',
    });
    const singleRes = await notify(host, single, {
      'content-type': 'application/cloudevents+json; charset=utf-8',
    });

    expect([batchRes.status, singleRes.status]).toEqual([200, 200]);
    expect(app.processed).toHaveLength(6);
  });

  it('answers a redelivered event 200 without redoing the work', async () => {
    const { host, app } = await start();
    const events = freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json');

    const first = await notify(host, events);
    const again = await notify(host, events);

    expect([first.status, again.status]).toEqual([200, 200]);
    expect(
      ((await again.json()) as { results: Array<{ outcome: { status: string } }> }).results[0]?.outcome
        .status,
    ).toBe('duplicate');
    expect(app.processed).toHaveLength(1);
  });

  it('does the work once for two concurrent deliveries of one event: the second is told to retry, and its retry is a duplicate', async () => {
    const { host, app } = await start({ onProcess: () => new Promise((r) => setTimeout(r, 300)) });
    const events = freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json');

    const responses = await Promise.all([notify(host, events), notify(host, events)]);
    const retry = await notify(host, events);

    expect(responses.map((r) => r.status).sort()).toEqual([200, 503]);
    expect(responses.find((r) => r.status === 503)?.headers.get('retry-after')).toBe('5');
    expect(retry.status).toBe(200);
    expect(app.processed).toHaveLength(1);
  });

  it('runs one delivery naming the same secret 100 times (no Version) once, and answers every event', async () => {
    const { host, app } = await start();
    const [event] = freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json');
    const { Version: _version, ...data } = event!.data as Record<string, unknown>;
    const batch = Array.from({ length: 100 }, (_, i) => ({ ...event, id: `${event!.id}-${i}`, data }));

    const res = await notify(host, batch);
    const body = (await res.json()) as {
      results: Array<{ outcome: { eventId: string; sharedRunOf?: string } }>;
    };

    expect(res.status).toBe(200);
    expect(app.processed).toHaveLength(1);
    expect(body.results).toHaveLength(100);
    expect(body.results.map((r) => r.outcome.eventId)).toEqual(batch.map((e) => e.id));
    expect(body.results.filter((r) => r.outcome.sharedRunOf === batch[0]!.id)).toHaveLength(99);
  });

  it('answers 503 when processing fails transiently, records nothing as done, and the retry succeeds', async () => {
    let failures = 1;
    const { host, app } = await start({
      onProcess: () =>
        failures-- > 0 ? Promise.reject(new TransientError('kube-apiserver unreachable')) : undefined,
    });
    const events = freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json');

    const failed = await notify(host, events);
    const retried = await notify(host, events);

    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('5');
    expect(retried.status).toBe(200);
    expect(app.processed).toHaveLength(1);
  });

  it("answers a delivery still running at its budget 503 within Event Grid's timeout; redelivered, every event is done once", async () => {
    const { host, app } = await start({
      config: hostConfig({ webhook: { bearerToken: TOKEN, deliveryBudgetMs: 1_500 } }),
      onProcess: () => new Promise((r) => setTimeout(r, 1_000)),
    });
    // 32 distinct secrets, 16 handled at a time, 1 s each: 2 s of work, the budget is 1.5 s.
    const batch = Array.from({ length: 32 }, (_, i) => ({
      id: `budget-${i}-${Date.now()}`,
      subject: `budget-${i}`,
      eventType: 'Microsoft.KeyVault.SecretNewVersionCreated',
      eventTime: new Date().toISOString(),
      data: { VaultName: 'sample-kv', ObjectType: 'Secret', ObjectName: `budget-${i}` },
      dataVersion: '1',
    }));

    const first = await notify(host, batch);
    const doneAtAnswer = app.processed.length;
    const statuses = [first.status];
    while (statuses.at(-1) !== 200 && statuses.length < 20) {
      await new Promise((r) => setTimeout(r, 500));
      statuses.push((await notify(host, batch)).status);
    }
    const again = (await (await notify(host, batch)).json()) as {
      results: Array<{ outcome?: { status: string } }>;
    };

    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('5');
    expect(doneAtAnswer).toBeLessThan(32);
    expect(statuses.at(-1)).toBe(200);
    expect(new Set(app.processed.map((e) => e.id)).size).toBe(32);
    expect(app.processed).toHaveLength(32);
    expect(again.results.filter((r) => r.outcome?.status === 'duplicate')).toHaveLength(32);
  });

  it('answers 200 and ignores events when no backends or clusters are configured', async () => {
    const { host, app } = await start({ config: hostConfig({ keyVaults: [], vaults: [] }) });

    const res = await notify(host, freshEvents('eventgrid/keyvault-secret-new-version.eventgrid.json'));

    expect(res.status).toBe(200);
    expect(app.ignored[0]?.event.reason).toMatch(/'sample-kv' is not configured/);
  });
});

describe('local host: HTTP triggers and timer', () => {
  it('serves /api/rotate, /api/refresh and /api/health through the function handlers', async () => {
    const { host, app } = await start();
    const json = { 'content-type': 'application/json' };

    const rotate = await fetch(apiUrl(host, 'rotate'), {
      method: 'POST',
      headers: json,
      body: '{"keyVault":"sample-kv","name":"db"}',
    });
    const refresh = await fetch(apiUrl(host, 'refresh'), {
      method: 'POST',
      headers: json,
      body: '{"vault":"bao","mount":"secret","path":"app/db"}',
    });
    const health = await fetch(apiUrl(host, 'health'));

    // The real health report: the state store answers, the Key Vault sample-kv does not exist.
    expect([rotate.status, refresh.status, health.status]).toEqual([200, 200, 503]);
    expect(app.manual.map((m) => m.action)).toEqual(['rotate', 'refresh']);
    expect(((await health.json()) as { checks: Array<{ name: string; ok: boolean }> }).checks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'table-storage', ok: true }),
        expect.objectContaining({ name: 'sample-kv', ok: false }),
      ]),
    );
  });

  it('answers 404 for unknown routes and 405 for a wrong method', async () => {
    const { host } = await start();

    expect((await fetch(apiUrl(host, 'nope'))).status).toBe(404);
    expect((await fetch(apiUrl(host, 'constructor'))).status).toBe(404);
    expect((await fetch(apiUrl(host, 'rotate'))).status).toBe(405);
    expect(
      (
        await fetch(`${host.url}/runtime/webhooks/eventgrid?functionName=other&code=${host.key}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(404);
  });

  it('runs the rotation timer on the configured NCRONTAB schedule', async () => {
    const { app } = await start({
      config: hostConfig({ rotation: { schedule: '* * * * * *' } }),
      timers: true,
    });

    await new Promise((r) => setTimeout(r, 2_200));

    expect(app.scans).toBeGreaterThanOrEqual(1);
  });

  it('turns a real OpenBao KV write, as its http audit device records it, into a change of that secret', async () => {
    const env = testEnv();
    const { host, app } = await start();
    const path = uniqueName('host-audit');
    await vaultClient(env).write(`${env.openbao.kvMount}/data/${path}`, {
      data: { password: 'not-asserted' },
    });
    const entry = await auditEntryFor(env.openbao.auditRelayUrl, `${env.openbao.kvMount}/data/${path}`);

    const res = await fetch(apiUrl(host, 'vault-audit'), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: entry,
    });

    expect(res.status).toBe(200);
    expect(app.processed).toEqual([
      expect.objectContaining({
        kind: 'changed',
        version: '1',
        ref: { backend: 'vault', address: env.openbao.address, namespace: '', mount: 'secret', path },
      }),
    ]);
  });
});

describe('local host: OpenBao http audit device end to end', () => {
  it('receives a real KV write from the audit device, authenticated by its bearer token, as a change of that secret', async () => {
    const env = testEnv();
    const config = hostConfig({ webhook: { bearerToken: env.openbao.auditBearerToken } });
    const { host, app } = await start({ config });
    const unregister = await registerAuditTarget(apiUrl(host, 'vault-audit', 'vault=bao'), env);
    try {
      const path = uniqueName('relay-audit');

      await vaultClient(env).write(`${env.openbao.kvMount}/data/${path}`, {
        data: { password: 'not-asserted' },
      });

      await expect
        .poll(() => app.processed.find((e) => e.ref.backend === 'vault' && e.ref.path === path), {
          timeout: 10_000,
        })
        .toMatchObject({
          kind: 'changed',
          source: 'vault-audit',
          ref: { address: env.openbao.address, mount: env.openbao.kvMount },
        });
    } finally {
      await unregister();
    }
  });
});

/** The response entry the audit relay received from OpenBao for a write to `path`, as OpenBao posted it. */
async function auditEntryFor(relayUrl: string, path: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const entries = (await (await fetch(`${relayUrl}/entries`)).json()) as Array<{
      entry: { type?: string; request?: { path?: string } };
    }>;
    const found = entries.find((e) => e.entry.type === 'response' && e.entry.request?.path === path);
    if (found) return `${JSON.stringify(found.entry)}\n`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no audit entry for ${path}`);
}
