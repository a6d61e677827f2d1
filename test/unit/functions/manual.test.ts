import { describe, expect, it } from 'vitest';
import { healthHandler } from '../../../functions/health.js';
import { refreshHandler } from '../../../functions/refresh.js';
import { rotateHandler } from '../../../functions/rotate.js';
import { rotationTimerHandler } from '../../../functions/rotationTimer.js';
import { HttpRequest } from '../../../lib/host/functions-runtime.js';
import { BAO_ADDRESS, testConfig } from '../events/support.js';
import { appSlot, recordingApp } from './recording-app.js';
import { loggedContext, post } from './support.js';

const JSON_TYPE = { 'content-type': 'application/json' };

const slot = appSlot();
const health = healthHandler(slot.source);
const refresh = refreshHandler(slot.source);
const rotate = rotateHandler(slot.source);
const rotationTimer = rotationTimerHandler(slot.source);

describe('rotate and refresh (POST /api/rotate, /api/refresh)', () => {
  it('rotates the Key Vault secret named in the body and answers the Outcome', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);

    const response = await rotate(
      post('rotate', '{"keyVault":"sample-kv","name":"db-password"}', JSON_TYPE),
      loggedContext('rotate').context,
    );

    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      ref: 'azure-keyvault:sample-kv/db-password',
      status: 'completed',
    });
    expect(app.manual).toEqual([
      {
        action: 'rotate',
        ref: { backend: 'azure-keyvault', vault: 'sample-kv', name: 'db-password' },
        options: {},
      },
    ]);
  });

  it('refreshes a Vault secret, passing dryRun and the Idempotency-Key header as request id', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);

    const response = await refresh(
      post('refresh', '{"vault":"bao","mount":"secret","path":"app/db","dryRun":true}', {
        ...JSON_TYPE,
        'idempotency-key': 'req-42',
      }),
      loggedContext('refresh').context,
    );

    expect(response.status).toBe(200);
    expect(app.manual[0]).toEqual({
      action: 'refresh',
      ref: { backend: 'vault', address: BAO_ADDRESS, namespace: '', mount: 'secret', path: 'app/db' },
      options: { requestId: 'req-42', dryRun: true },
    });
  });

  it.each([
    ['malformed JSON', '{"keyVault":', JSON_TYPE, 400],
    ['missing fields', '{"keyVault":"sample-kv"}', JSON_TYPE, 400],
    ['an unconfigured vault', '{"keyVault":"elsewhere","name":"x"}', JSON_TYPE, 400],
    ['a path escaping the mount', '{"vault":"bao","mount":"secret","path":"../sys/x"}', JSON_TYPE, 400],
    [
      'a form body',
      'keyVault=sample-kv&name=x',
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
    ],
  ])('refuses %s with %i and does nothing', async (_name, body, headers, status) => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);

    const response = await rotate(post('rotate', body, headers), loggedContext('rotate').context);

    expect(response.status).toBe(status);
    expect(app.manual).toHaveLength(0);
  });
});

describe('health (GET /api/health)', () => {
  const get = () => new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/health' });

  it('answers 200 with the report when everything is reachable', async () => {
    slot.use(
      recordingApp({
        config: testConfig(),
        health: { ok: true, checks: [{ name: 'alpha', kind: 'cluster', ok: true, ms: 3 }] },
      }),
    );

    const response = await health(get(), loggedContext('health').context);

    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ ok: true });
  });

  it('answers 503 when a backend or cluster is unreachable', async () => {
    slot.use(
      recordingApp({
        config: testConfig(),
        health: {
          ok: false,
          checks: [{ name: 'bao', kind: 'vault', ok: false, ms: 5, error: 'connection refused' }],
        },
      }),
    );

    const response = await health(get(), loggedContext('health').context);

    expect(response.status).toBe(503);
    expect(response.jsonBody).toMatchObject({
      ok: false,
      checks: [{ name: 'bao', error: 'connection refused' }],
    });
  });
});

describe('rotationTimer', () => {
  it('asks the rotation engine for due secrets', async () => {
    const app = recordingApp({ config: testConfig() });
    slot.use(app);
    const now = new Date().toISOString();

    await rotationTimer(
      {
        isPastDue: false,
        schedule: { adjustForDST: false },
        scheduleStatus: { last: now, next: now, lastUpdated: now },
      },
      loggedContext('rotationTimer').context,
    );

    expect(app.scans).toBe(1);
  });
});
